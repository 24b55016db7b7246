//! Global ids as GraphQL `ID`s (the format lives in [`crate::global_id`]),
//! and pagination cursors.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{AppError, Field, Rejection};
use crate::global_id;

/// The id of the entity `type_name` with database id `id`.
pub fn encode(type_name: &str, id: i64) -> ID {
    ID(global_id::encode(type_name, id))
}

/// Like [`global_id::decode`], for a mutation input: a malformed id or one
/// of another type is `INVALID_INPUT` of `field`.
pub fn decode_input(type_name: &str, id: &ID, field: Field) -> Result<i64, Rejection> {
    global_id::decode(type_name, id)
        .ok_or_else(|| Rejection::invalid(field, format!("not a valid {type_name} id")))
}

const CURSOR_PREFIX: &str = "cursor:";

/// The opaque cursor of a row in a listing.
pub fn encode_cursor(id: i64) -> String {
    STANDARD.encode(format!("{CURSOR_PREFIX}{id}"))
}

/// The row id inside a cursor we issued.
pub fn decode_cursor(cursor: &str) -> Result<i64, AppError> {
    STANDARD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix(CURSOR_PREFIX).and_then(|n| n.parse().ok()))
        .ok_or_else(|| AppError::BadRequest(format!("invalid cursor {cursor:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::global_id::types;

    #[test]
    fn input_ids_of_another_type_are_invalid_input() {
        let order = encode(types::ORDER, 3);
        assert_eq!(decode_input(types::ORDER, &order, Field::Order), Ok(3));
        let wrong = decode_input(types::PRODUCT, &order, Field::Product).unwrap_err();
        assert_eq!(wrong.code, crate::error::ErrorCode::InvalidInput);
        assert_eq!(wrong.field, Some(Field::Product));
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(42)).unwrap(), 42);
        assert!(decode_cursor("nope").is_err());
        assert!(decode_cursor(&encode(types::PRODUCT, 1)).is_err());
    }
}
