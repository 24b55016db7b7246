//! Pages of orders: a user's, and every user's for an admin, newest first.
//!
//! A status filter is on the status an order reads as (an unswept PENDING
//! order past its window is EXPIRED), through the stored statuses it may
//! have so that the status indexes serve it.

use sqlx::PgExecutor;

use super::{OrderRecord, OrderStatus};
use crate::domain::page::{Page, PageRequest, fetch_page};
use crate::error::AppResult;

/// One page of a user's orders, newest first, optionally of one status.
pub async fn page_for_user<'c>(
    db: impl PgExecutor<'c>,
    user_id: i64,
    status: Option<OrderStatus>,
    req: &PageRequest,
) -> AppResult<Page<OrderRecord>> {
    let rows = fetch_page!(
        db,
        req,
        OrderRecord,
        r#"SELECT id, user_id, order_status(status, expires_at) AS "status!: OrderStatus",
                  total_amount, discount_amount, created_at, paid_at, cancelled_at, refunded_at,
                  expires_at, holds_stock
           FROM orders WHERE user_id = $1 AND ($2::TEXT IS NULL
                OR (status = ANY(order_stored_statuses($2)) AND order_status(status, expires_at) = $2))
             AND id < coalesce($3::BIGINT, 9223372036854775807) AND id > coalesce($4::BIGINT, 0)
           ORDER BY id"#,
        "LIMIT $5",
        user_id,
        status.map(OrderStatus::as_str),
        req.after,
        req.before,
        req.fetch_limit(),
    )?;
    Ok(req.finish(rows))
}

/// How many orders a user has, optionally of one status.
pub async fn count_for_user<'c>(
    db: impl PgExecutor<'c>,
    user_id: i64,
    status: Option<OrderStatus>,
) -> AppResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM orders
           WHERE user_id = $1 AND ($2::TEXT IS NULL
                OR (status = ANY(order_stored_statuses($2)) AND order_status(status, expires_at) = $2))"#,
        user_id,
        status.map(OrderStatus::as_str),
    )
    .fetch_one(db)
    .await?)
}

/// One page of every user's orders (an admin's view), newest first,
/// optionally of one status and one user (then through that user's index,
/// as [`page_for_user`]: a filter on the whole list's walk would read every
/// order older than the user's).
pub async fn page_all<'c>(
    db: impl PgExecutor<'c>,
    status: Option<OrderStatus>,
    user_id: Option<i64>,
    req: &PageRequest,
) -> AppResult<Page<OrderRecord>> {
    if let Some(user_id) = user_id {
        return page_for_user(db, user_id, status, req).await;
    }
    let rows = fetch_page!(
        db,
        req,
        OrderRecord,
        r#"SELECT id, user_id, order_status(status, expires_at) AS "status!: OrderStatus",
                  total_amount, discount_amount, created_at, paid_at, cancelled_at, refunded_at,
                  expires_at, holds_stock
           FROM orders WHERE ($1::TEXT IS NULL
                OR (status = ANY(order_stored_statuses($1)) AND order_status(status, expires_at) = $1))
             AND id < coalesce($2::BIGINT, 9223372036854775807) AND id > coalesce($3::BIGINT, 0)
           ORDER BY id"#,
        "LIMIT $4",
        status.map(OrderStatus::as_str),
        req.after,
        req.before,
        req.fetch_limit(),
    )?;
    Ok(req.finish(rows))
}

/// How many orders there are, optionally of one status and one user (then
/// through that user's index, as [`count_for_user`]).
pub async fn count_all<'c>(
    db: impl PgExecutor<'c>,
    status: Option<OrderStatus>,
    user_id: Option<i64>,
) -> AppResult<i64> {
    if let Some(user_id) = user_id {
        return count_for_user(db, user_id, status).await;
    }
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM orders
           WHERE ($1::TEXT IS NULL
                OR (status = ANY(order_stored_statuses($1)) AND order_status(status, expires_at) = $1))"#,
        status.map(OrderStatus::as_str),
    )
    .fetch_one(db)
    .await?)
}
