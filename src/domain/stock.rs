//! Stock: units available per product. It never goes below zero (a CHECK
//! in the database as well as the rule and guards here).

use sqlx::PgConnection;

use super::product::{self, ProductRecord};
use crate::error::{AppError, AppResult, ErrorCode, Field, Rejection};

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

/// Changes a product's stock by `delta`, refusing to go below zero or past
/// the largest storable stock.
pub async fn adjust(
    conn: &mut PgConnection,
    product_id: i64,
    delta: i32,
) -> AppResult<ProductRecord> {
    let updated = sqlx::query_as!(
        ProductRecord,
        "UPDATE products SET stock = stock + $2::INT
         WHERE id = $1 AND stock::BIGINT + $2::INT BETWEEN 0 AND 2147483647
         RETURNING id, name, description, price, stock, created_at, archived_at",
        product_id,
        delta,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(product) = updated {
        return Ok(product);
    }
    Err(AppError::reject(
        if product::exists(conn, product_id).await? {
            Rejection::invalid(
                Field::StockDelta,
                "stock would go below zero or past 2147483647",
            )
        } else {
            product::not_found(Field::Product)
        },
    ))
}

/// Takes units of several products at once: `takes` holds each product
/// once, with the units to take.
///
/// The caller has already checked, in this transaction, that the stock
/// covers every take; the guard in the statement is the database's own
/// check of the same rule. A row it skips means the rule and the data
/// disagree, which is a bug, so it fails the whole transaction.
pub async fn take(conn: &mut PgConnection, takes: &[(i64, i32)]) -> AppResult<()> {
    if takes.is_empty() {
        return Ok(());
    }
    let (ids, quantities): (Vec<i64>, Vec<i32>) = takes.iter().copied().unzip();
    let updated = sqlx::query!(
        "UPDATE products p SET stock = p.stock - t.quantity
         FROM unnest($1::BIGINT[], $2::INT[]) AS t(id, quantity)
         WHERE p.id = t.id AND p.stock >= t.quantity",
        &ids,
        &quantities,
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
