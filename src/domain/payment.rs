//! Payment records: at most one per order (UNIQUE on `order_id`).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use super::balance::Debit;
use crate::error::AppResult;

/// A row of `payments`.
#[derive(Debug, Clone)]
pub struct PaymentRecord {
    /// Database id.
    pub id: i64,
    /// The paid order.
    pub order_id: i64,
    /// The payer.
    pub user_id: i64,
    /// What was taken from the balance.
    pub amount: i64,
    /// When (the paying transaction's time, equal to the order's `paid_at`).
    pub paid_at: DateTime<Utc>,
}

/// Records the payments of several orders, one per debit; returns them in
/// no particular order.
pub async fn insert(conn: &mut PgConnection, debits: &[Debit]) -> AppResult<Vec<PaymentRecord>> {
    if debits.is_empty() {
        return Ok(Vec::new());
    }
    let orders: Vec<i64> = debits.iter().map(|d| d.order_id).collect();
    let users: Vec<i64> = debits.iter().map(|d| d.user_id).collect();
    let amounts: Vec<i64> = debits.iter().map(|d| d.amount).collect();
    let rows = sqlx::query_as!(
        PaymentRecord,
        "INSERT INTO payments (order_id, user_id, amount)
         SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[])
         RETURNING id, order_id, user_id, amount, paid_at",
        &orders,
        &users,
        &amounts,
    )
    .fetch_all(conn)
    .await?;
    super::ensure_written("payments", rows.len(), debits.len())?;
    Ok(rows)
}

/// Payments by id.
pub async fn by_ids<'c>(db: impl PgExecutor<'c>, ids: &[i64]) -> AppResult<Vec<PaymentRecord>> {
    Ok(sqlx::query_as!(
        PaymentRecord,
        "SELECT id, order_id, user_id, amount, paid_at FROM payments WHERE id = ANY($1)",
        ids,
    )
    .fetch_all(db)
    .await?)
}

/// The payments of these orders.
pub async fn of_orders<'c>(
    db: impl PgExecutor<'c>,
    order_ids: &[i64],
) -> AppResult<Vec<PaymentRecord>> {
    Ok(sqlx::query_as!(
        PaymentRecord,
        "SELECT id, order_id, user_id, amount, paid_at FROM payments WHERE order_id = ANY($1)",
        order_ids,
    )
    .fetch_all(db)
    .await?)
}
