//! Global object ids and pagination cursors.
//!
//! A global id is `base64("TypeName:databaseId")` (standard alphabet, padded),
//! as graphql-relay's `toGlobalId`. Clients treat them as opaque.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{AppError, Rejection};

/// The id of the entity `type_name` with database id `id`.
pub fn encode(type_name: &str, id: i64) -> ID {
    ID(STANDARD.encode(format!("{type_name}:{id}")))
}

/// Splits a global id into its type name and database id.
pub fn decode_any(id: &str) -> Option<(String, i64)> {
    let bytes = STANDARD.decode(id).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (type_name, raw) = text.split_once(':')?;
    let id: i64 = raw.parse().ok()?;
    // Only canonical forms: "Product:07" or "Product:-1" are not ids we issue.
    (id > 0 && raw == id.to_string()).then(|| (type_name.to_owned(), id))
}

/// The database id of a global id that must name a `type_name`; `None` for
/// anything else (a malformed id, or an id of another type).
pub fn decode(type_name: &str, id: &str) -> Option<i64> {
    decode_any(id).and_then(|(t, id)| (t == type_name).then_some(id))
}

/// Like [`decode`], for a mutation input: a bad id is `INVALID_INPUT` at `path`.
pub fn decode_input(type_name: &str, id: &ID, path: &[&str]) -> Result<i64, Rejection> {
    decode(type_name, id)
        .ok_or_else(|| Rejection::invalid(path, format!("not a valid {type_name} id")))
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

    #[test]
    fn ids_match_graphql_relay() {
        // graphql-relay: toGlobalId("Product", "1") == "UHJvZHVjdDox"
        assert_eq!(encode("Product", 1).0, "UHJvZHVjdDox");
        assert_eq!(decode("Product", "UHJvZHVjdDox"), Some(1));
        assert_eq!(decode("Order", "UHJvZHVjdDox"), None, "wrong type");
        for bad in [
            "",
            "!!!",
            "UHJvZHVjdA==",
            &STANDARD.encode("Product:x"),
            &STANDARD.encode("Product:-1"),
            &STANDARD.encode("Product:01"),
            &STANDARD.encode("Product:99999999999999999999"),
        ] {
            assert_eq!(decode("Product", bad), None, "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(42)).unwrap(), 42);
        assert!(decode_cursor("nope").is_err());
        assert!(decode_cursor(&encode("Product", 1)).is_err());
    }
}
