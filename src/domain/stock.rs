//! Stock: units per product, free (`stock`, what new orders may take) and
//! held (`held_stock`, what PENDING orders took when the server holds
//! stock). Neither goes below zero (CHECKs in the database as well as the
//! rule and guards here).
//!
//! The units move only these ways: an order that holds stock moves them
//! from free to held ([`hold`]); paying takes them from free, or from held
//! for an order that holds them ([`take`]); cancelling or expiring gives
//! held units back to free ([`release`]); a refund gives sold units back
//! to free ([`restore`]); an admin adds or removes free units ([`adjust`]).

use sqlx::PgConnection;

use super::product::{self, ProductRecord};
use crate::error::{AppResult, ErrorCode, Field, Rejection};

/// The rule: `available` units cover an order of `wanted`; otherwise
/// `PRODUCT_OUT_OF_STOCK` of `field`. Orders check it when they are created,
/// and payments again when stock is taken.
pub fn check(available: i32, wanted: i32, field: Field) -> Result<(), Rejection> {
    if available >= wanted {
        return Ok(());
    }
    Err(Rejection::new(
        ErrorCode::ProductOutOfStock,
        format!("only {available} units in stock, {wanted} wanted"),
    )
    .at(field))
}

/// Changes a product's free stock by `delta`, refusing to go below zero or
/// past the largest storable stock. Held units are not the admin's to
/// take: they belong to PENDING orders until those are paid, cancelled or
/// expired, and the refusal says how many there are.
pub async fn adjust(
    conn: &mut PgConnection,
    product_id: i64,
    delta: i32,
) -> AppResult<ProductRecord> {
    let updated = sqlx::query_as!(
        ProductRecord,
        "UPDATE products SET stock = stock + $2::INT
         WHERE id = $1 AND stock::BIGINT + $2::INT BETWEEN 0 AND 2147483647
         RETURNING id, name, description, price, stock, held_stock, created_at, archived_at",
        product_id,
        delta,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(product) = updated {
        return Ok(product);
    }
    let Some(product) = product::by_ids(&mut *conn, &[product_id]).await?.pop() else {
        return Err(product::not_found(Field::Product).into());
    };
    let message = if delta > 0 {
        "stock would go past 2147483647".to_owned()
    } else if product.held_stock > 0 {
        format!(
            "only {} units are free to remove; {} more are held by pending orders until they are paid, cancelled or expire",
            product.stock, product.held_stock
        )
    } else {
        format!("only {} units are in stock to remove", product.stock)
    };
    Err(Rejection::invalid(Field::StockDelta, message).into())
}

/// Moves units of several products from free stock to held, for orders
/// that hold stock: `holds` holds each product once, with its units.
///
/// The caller has checked, in this transaction, that the free stock covers
/// every hold; as in [`take`], a row the guard skips is a bug.
pub async fn hold(conn: &mut PgConnection, holds: &[(i64, i32)]) -> AppResult<()> {
    if holds.is_empty() {
        return Ok(());
    }
    let (ids, quantities): (Vec<i64>, Vec<i32>) = holds.iter().copied().unzip();
    let updated = sqlx::query!(
        "UPDATE products p SET stock = p.stock - t.quantity, held_stock = p.held_stock + t.quantity
         FROM unnest($1::BIGINT[], $2::INT[]) AS t(id, quantity)
         WHERE p.id = t.id AND p.stock >= t.quantity
           AND p.held_stock::BIGINT + t.quantity <= 2147483647",
        &ids,
        &quantities,
    )
    .execute(conn)
    .await?
    .rows_affected();
    super::ensure_written("held stock", updated as usize, holds.len())
}

/// Gives held units back to free stock, for cancelled or expired orders
/// that held them: `releases` holds each product once, with its units.
pub async fn release(conn: &mut PgConnection, releases: &[(i64, i32)]) -> AppResult<()> {
    if releases.is_empty() {
        return Ok(());
    }
    let (ids, quantities): (Vec<i64>, Vec<i32>) = releases.iter().copied().unzip();
    let updated = sqlx::query!(
        "UPDATE products p SET stock = p.stock + t.quantity, held_stock = p.held_stock - t.quantity
         FROM unnest($1::BIGINT[], $2::INT[]) AS t(id, quantity)
         WHERE p.id = t.id AND p.held_stock >= t.quantity
           AND p.stock::BIGINT + t.quantity <= 2147483647",
        &ids,
        &quantities,
    )
    .execute(conn)
    .await?
    .rows_affected();
    super::ensure_written("released stock", updated as usize, releases.len())
}

/// Units of one product that payments take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Take {
    /// The product.
    pub product_id: i64,
    /// Units taken from free stock (orders that hold nothing).
    pub free: i32,
    /// Units taken from held stock (orders that held them).
    pub held: i32,
}

/// Takes units of several products at once: `takes` holds each product
/// once, with the units to take from free and from held stock.
///
/// The caller has already checked, in this transaction, that the stock
/// covers every take; the guard in the statement is the database's own
/// check of the same rule. A row it skips means the rule and the data
/// disagree, which is a bug, so it fails the whole transaction.
pub async fn take(conn: &mut PgConnection, takes: &[Take]) -> AppResult<()> {
    if takes.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = takes.iter().map(|t| t.product_id).collect();
    let free: Vec<i32> = takes.iter().map(|t| t.free).collect();
    let held: Vec<i32> = takes.iter().map(|t| t.held).collect();
    let updated = sqlx::query!(
        "UPDATE products p SET stock = p.stock - t.free, held_stock = p.held_stock - t.held
         FROM unnest($1::BIGINT[], $2::INT[], $3::INT[]) AS t(id, free, held)
         WHERE p.id = t.id AND p.stock >= t.free AND p.held_stock >= t.held",
        &ids,
        &free,
        &held,
    )
    .execute(conn)
    .await?
    .rows_affected();
    super::ensure_written("stock", updated as usize, takes.len())
}

/// Gives back the units of a refunded order: `returns` holds each product
/// once, with its units. Every product of an order gets its units back,
/// archived or not: the stock counts the units the shop holds, and an
/// archived product's stock is simply not on sale.
pub async fn restore(conn: &mut PgConnection, returns: &[(i64, i32)]) -> AppResult<()> {
    if returns.is_empty() {
        return Ok(());
    }
    let (ids, quantities): (Vec<i64>, Vec<i32>) = returns.iter().copied().unzip();
    // The guard keeps an INTEGER overflow from failing the statement with a
    // driver error; a row it skips fails the transaction as a bug would.
    let updated = sqlx::query!(
        "UPDATE products p SET stock = p.stock + t.quantity
         FROM unnest($1::BIGINT[], $2::INT[]) AS t(id, quantity)
         WHERE p.id = t.id AND p.stock::BIGINT + t.quantity <= 2147483647",
        &ids,
        &quantities,
    )
    .execute(conn)
    .await?
    .rows_affected();
    super::ensure_written("restored stock", updated as usize, returns.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_covers_up_to_what_is_there() {
        assert!(check(5, 5, Field::Order).is_ok());
        assert!(check(5, 0, Field::Order).is_ok());
        let short = check(4, 5, Field::Order).unwrap_err();
        assert_eq!(short.code, ErrorCode::ProductOutOfStock);
        assert_eq!(short.field, Some(Field::Order));
    }
}
