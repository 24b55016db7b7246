//! Pages of orders: a user's, and every user's for an admin, newest first.
//!
//! A status filter is on the status an order reads as (an unswept PENDING
//! order past its window is EXPIRED), through the stored statuses it may
//! have so that the status indexes serve it.

use sqlx::{PgConnection, PgExecutor};

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
pub async fn page_all(
    conn: &mut PgConnection,
    status: Option<OrderStatus>,
    user_id: Option<i64>,
    req: &PageRequest,
) -> AppResult<Page<OrderRecord>> {
    if let Some(user_id) = user_id {
        return page_for_user(conn, user_id, status, req).await;
    }
    if let Some(status) = status {
        return page_all_of_status(conn, status, req).await;
    }
    let rows = fetch_page!(
        conn,
        req,
        OrderRecord,
        r#"SELECT id, user_id, order_status(status, expires_at) AS "status!: OrderStatus",
                  total_amount, discount_amount, created_at, paid_at, cancelled_at, refunded_at,
                  expires_at, holds_stock
           FROM orders WHERE id < coalesce($1::BIGINT, 9223372036854775807)
             AND id > coalesce($2::BIGINT, 0)
           ORDER BY id"#,
        "LIMIT $3",
        req.after,
        req.before,
        req.fetch_limit(),
    )?;
    Ok(req.finish(rows))
}

/// One page of every user's orders of one status, newest first.
///
/// A statement of its own, without the unfiltered list's "no status"
/// branch, and with its bounds written as row comparisons on the
/// `(status, id)` index. After five executions PostgreSQL may run a
/// prepared statement with its generic plan, which does not know the
/// status: given `id` bounds it can start from, it estimates a walk of the
/// primary key cheapest, and for a rare status that walk reads every
/// order. Row comparisons are index conditions of `(status, id)` alone, so
/// every plan walks, for each stored status the wanted one may have
/// (`order_stored_statuses`), that status's stretch of the index from the
/// cursor on, and the page takes the newest rows of those walks.
async fn page_all_of_status(
    conn: &mut PgConnection,
    status: OrderStatus,
    req: &PageRequest,
) -> AppResult<Page<OrderRecord>> {
    let wanted = status.as_str();
    let rows = if req.backward {
        sqlx::query_as!(
            OrderRecord,
            r#"SELECT page.id AS "id!", page.user_id AS "user_id!", page.status AS "status!: OrderStatus",
                      page.total_amount AS "total_amount!", page.discount_amount AS "discount_amount!",
                      page.created_at AS "created_at!", page.paid_at, page.cancelled_at,
                      page.refunded_at, page.expires_at, page.holds_stock AS "holds_stock!"
               FROM unnest(order_stored_statuses($1)) AS stored(status)
               CROSS JOIN LATERAL (
                   SELECT id, user_id, order_status(status, expires_at) AS status, total_amount,
                          discount_amount, created_at, paid_at, cancelled_at, refunded_at,
                          expires_at, holds_stock
                   FROM orders
                   WHERE (orders.status, id) < (stored.status, coalesce($2::BIGINT, 9223372036854775807))
                     AND (orders.status, id) > (stored.status, coalesce($3::BIGINT, 0))
                     AND order_status(orders.status, expires_at) = $1
                   ORDER BY orders.status ASC, id ASC LIMIT $4) AS page
               ORDER BY page.id ASC LIMIT $4"#,
            wanted,
            req.after,
            req.before,
            req.fetch_limit(),
        )
        .fetch_all(conn)
        .await?
    } else {
        sqlx::query_as!(
            OrderRecord,
            r#"SELECT page.id AS "id!", page.user_id AS "user_id!", page.status AS "status!: OrderStatus",
                      page.total_amount AS "total_amount!", page.discount_amount AS "discount_amount!",
                      page.created_at AS "created_at!", page.paid_at, page.cancelled_at,
                      page.refunded_at, page.expires_at, page.holds_stock AS "holds_stock!"
               FROM unnest(order_stored_statuses($1)) AS stored(status)
               CROSS JOIN LATERAL (
                   SELECT id, user_id, order_status(status, expires_at) AS status, total_amount,
                          discount_amount, created_at, paid_at, cancelled_at, refunded_at,
                          expires_at, holds_stock
                   FROM orders
                   WHERE (orders.status, id) < (stored.status, coalesce($2::BIGINT, 9223372036854775807))
                     AND (orders.status, id) > (stored.status, coalesce($3::BIGINT, 0))
                     AND order_status(orders.status, expires_at) = $1
                   ORDER BY orders.status DESC, id DESC LIMIT $4) AS page
               ORDER BY page.id DESC LIMIT $4"#,
            wanted,
            req.after,
            req.before,
            req.fetch_limit(),
        )
        .fetch_all(conn)
        .await?
    };
    Ok(req.finish(rows))
}

/// How many orders there are, optionally of one status and one user (then
/// through that user's index, as [`count_for_user`]).
pub async fn count_all(
    conn: &mut PgConnection,
    status: Option<OrderStatus>,
    user_id: Option<i64>,
) -> AppResult<i64> {
    if let Some(user_id) = user_id {
        return count_for_user(conn, user_id, status).await;
    }
    // Two statements, not one with a "no status" branch, for the reason
    // page_all_of_status gives.
    let count = match status {
        None => {
            sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM orders"#)
                .fetch_one(conn)
                .await?
        }
        Some(status) => {
            sqlx::query_scalar!(
                r#"SELECT count(*) AS "count!" FROM orders
                   WHERE status = ANY(order_stored_statuses($1))
                     AND order_status(status, expires_at) = $1"#,
                status.as_str(),
            )
            .fetch_one(conn)
            .await?
        }
    };
    Ok(count)
}
