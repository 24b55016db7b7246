//! Global ids as GraphQL `ID`s (the format lives in [`crate::global_id`]),
//! and pagination cursors.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::domain::is_storable;
use crate::domain::listing::{Position, ProductOrder};
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

/// The refusal of a cursor this API did not issue. It does not quote the
/// cursor: a client may send kilobytes of it.
fn invalid_cursor() -> AppError {
    AppError::BadRequest("invalid cursor: pass back a cursor this API returned".into())
}

/// The row id inside a cursor we issued.
pub fn decode_cursor(cursor: &str) -> Result<i64, AppError> {
    STANDARD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix(CURSOR_PREFIX).and_then(|n| n.parse().ok()))
        .ok_or_else(invalid_cursor)
}

/// The cursor of a product in a listing sorted by `order`: the order's
/// name and the product's [`Position`] in it. NEWEST's is the plain id
/// cursor of every other listing, so the cursors issued before `orderBy`
/// existed keep working.
pub fn encode_product_cursor(order: ProductOrder, position: &Position) -> String {
    let tag = order.as_str();
    let text = match position {
        Position::Id(id) if order == ProductOrder::Newest => return encode_cursor(*id),
        Position::Id(id) => format!("{tag}:{id}"),
        Position::Price { price, id } => format!("{tag}:{price}:{id}"),
        // The name last: it may hold colons.
        Position::Name { name, id } => format!("{tag}:{id}:{name}"),
        Position::Rank { rank, id } => format!("{tag}:{}:{id}", *rank as i16),
    };
    STANDARD.encode(format!("{CURSOR_PREFIX}{text}"))
}

/// The position inside a product cursor we issued for a listing in
/// `order`. A cursor of another order is `BAD_REQUEST`: its position would
/// mean nothing in this one. (A cursor of another search or stock filter
/// is fine: a position is a place in the order, whatever the filter keeps.)
pub fn decode_product_cursor(order: ProductOrder, cursor: &str) -> Result<Position, AppError> {
    let invalid = invalid_cursor;
    let text = STANDARD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    let body = text.strip_prefix(CURSOR_PREFIX).ok_or_else(invalid)?;
    let (of, position) = match body.parse::<i64>() {
        Ok(id) => (ProductOrder::Newest, Position::Id(id)),
        Err(_) => {
            let (tag, rest) = body.split_once(':').ok_or_else(invalid)?;
            let of = ProductOrder::parse(tag).ok_or_else(invalid)?;
            (of, parse_position(of, rest).ok_or_else(invalid)?)
        }
    };
    if of != order {
        return Err(AppError::BadRequest(format!(
            "the cursor belongs to orderBy {}, not {}: start again without it",
            of.as_str(),
            order.as_str()
        )));
    }
    Ok(position)
}

fn parse_position(order: ProductOrder, text: &str) -> Option<Position> {
    Some(match order {
        ProductOrder::Newest | ProductOrder::Oldest => Position::Id(text.parse().ok()?),
        ProductOrder::PriceAsc | ProductOrder::PriceDesc => {
            let (price, id) = text.split_once(':')?;
            Position::Price {
                price: price.parse().ok()?,
                id: id.parse().ok()?,
            }
        }
        ProductOrder::Relevance => {
            let (rank, id) = text.split_once(':')?;
            Position::ranked(rank.parse().ok()?, id.parse().ok()?)?
        }
        ProductOrder::Name => {
            let (id, name) = text.split_once(':')?;
            Position::Name {
                id: id.parse().ok()?,
                name: Some(name).filter(|n| is_storable(n))?.to_owned(),
            }
        }
    })
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

    #[test]
    fn product_cursors_hold_their_order_and_position() {
        let positions = [
            (ProductOrder::Newest, Position::Id(9)),
            (
                ProductOrder::Relevance,
                Position::ranked(2, 9).expect("a rank"),
            ),
            (ProductOrder::Oldest, Position::Id(9)),
            (ProductOrder::PriceAsc, Position::Price { price: 5, id: 9 }),
            (ProductOrder::PriceDesc, Position::Price { price: 5, id: 9 }),
            (
                ProductOrder::Name,
                Position::Name {
                    name: "a:b:c".into(),
                    id: 9,
                },
            ),
        ];
        for (order, position) in &positions {
            let cursor = encode_product_cursor(*order, position);
            assert_eq!(decode_product_cursor(*order, &cursor).unwrap(), *position);
            for (other, _) in &positions {
                if other != order {
                    assert!(decode_product_cursor(*other, &cursor).is_err());
                }
            }
        }
        assert_eq!(
            encode_product_cursor(ProductOrder::Newest, &Position::Id(4)),
            encode_cursor(4),
            "NEWEST keeps the cursors issued before orderBy"
        );
        let nul = STANDARD.encode("cursor:NAME:1:a\0b");
        assert!(decode_product_cursor(ProductOrder::Name, &nul).is_err());
        let bad = STANDARD.encode("cursor:PRICE_ASC:x:1");
        assert!(decode_product_cursor(ProductOrder::PriceAsc, &bad).is_err());
    }
}
