//! The end of the payment window: PENDING orders past `expires_at` turned
//! EXPIRED in the table, a set at a time.
//!
//! Reads never wait for this: a PENDING order past its window already reads
//! EXPIRED (`order_status()`), and `payOrder` refuses it. Storing the status
//! is what releases the order's hold, tells its subscribers and writes its
//! event, once: the rows are claimed with `FOR UPDATE SKIP LOCKED`, so any
//! number of instances may sweep at once, each taking orders no other
//! holds, and the `status = 'PENDING'` guard keeps an order that a payment
//! or a cancel took first out of the set.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{OrderRecord, OrderStatus};
use crate::error::AppResult;

/// An order the sweep turned EXPIRED, and when.
#[derive(Debug, Clone)]
pub struct ExpiredOrder {
    /// The order, now EXPIRED.
    pub order: OrderRecord,
    /// When the sweep stored it (at or after `order.expires_at`).
    pub expired_at: DateTime<Utc>,
}

/// Turns up to `limit` PENDING orders whose window has closed EXPIRED, the
/// longest overdue first, in this transaction; orders another transaction
/// has locked are left for a later sweep. The caller releases their holds
/// and writes their events in the same transaction.
pub async fn expire_due(conn: &mut PgConnection, limit: i64) -> AppResult<Vec<ExpiredOrder>> {
    let rows = sqlx::query!(
        r#"WITH due AS (
               SELECT id FROM orders
               WHERE status = 'PENDING' AND expires_at <= now()
               ORDER BY expires_at
               LIMIT $1
               FOR UPDATE SKIP LOCKED
           )
           UPDATE orders o SET status = 'EXPIRED', expired_at = now()
           FROM due WHERE o.id = due.id AND o.status = 'PENDING'
           RETURNING o.id, o.user_id, o.status AS "status: OrderStatus", o.total_amount,
                     o.discount_amount, o.created_at, o.paid_at, o.cancelled_at, o.refunded_at,
                     o.expires_at, o.holds_stock, o.expired_at AS "expired_at!""#,
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ExpiredOrder {
            order: OrderRecord {
                id: r.id,
                user_id: r.user_id,
                status: r.status,
                total_amount: r.total_amount,
                discount_amount: r.discount_amount,
                created_at: r.created_at,
                paid_at: r.paid_at,
                cancelled_at: r.cancelled_at,
                refunded_at: r.refunded_at,
                expires_at: r.expires_at,
                holds_stock: r.holds_stock,
            },
            expired_at: r.expired_at,
        })
        .collect())
}
