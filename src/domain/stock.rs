//! Stock: units available per product. It never goes below zero (a CHECK
//! in the database as well as the conditions here).

use sqlx::PgConnection;

use super::product::ProductRecord;
use crate::error::{AppError, AppResult, ErrorCode, Rejection};

/// Changes a product's stock by `delta`, refusing to go below zero or past
/// the largest storable stock.
pub async fn adjust(
    conn: &mut PgConnection,
    product_id: i64,
    delta: i32,
) -> AppResult<ProductRecord> {
    let updated: Option<ProductRecord> = sqlx::query_as(
        "UPDATE products SET stock = stock + $2
         WHERE id = $1 AND stock::BIGINT + $2 BETWEEN 0 AND 2147483647
         RETURNING id, name, price, stock, created_at",
    )
    .bind(product_id)
    .bind(delta)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(product) = updated {
        return Ok(product);
    }
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM products WHERE id = $1)")
        .bind(product_id)
        .fetch_one(&mut *conn)
        .await?;
    Err(AppError::reject(if exists {
        Rejection::invalid(
            ["input", "delta"],
            "stock would go below zero or past 2147483647",
        )
    } else {
        Rejection::new(ErrorCode::ProductNotFound, "no such product").at(["input", "productId"])
    }))
}
