//! The invariants that span domains, checked in SQL over the whole
//! database: what must hold however requests raced, failed or were killed.
//! The race and fault tests, the benchmark and `commerce audit` run it.
//!
//! What the database enforces by itself (stock and balances never negative,
//! issued <= total, one coupon per user, one payment and one refund per
//! order) needs no check here; these are the rules that tie rows of several
//! tables together. Refunds are part of every one of them: a REFUNDED order
//! keeps its payment and has its REFUND ledger row and its event, its
//! coupon is released, and balances still equal their ledgers (charges -
//! payments + refunds).
//!
//! Held stock is among them (a product holds exactly the units of its
//! PENDING orders that hold stock), and so are expiries (each EXPIRED order
//! has its one event). Free stock is not: the database keeps no history of
//! stock levels (`adjustStock` moves them freely), so "free + held + sold
//! = what came in" is checked by the tests and the benchmark, which know
//! what came in.

use sqlx::PgPool;
use sqlx::postgres::{PgArguments, Postgres};
use sqlx::query::QueryScalar;

use super::outbox;
use crate::error::AppResult;

/// A query returning (up to ten of) the ids that break an invariant.
type Breaches = QueryScalar<'static, Postgres, i64, PgArguments>;

/// Each invariant: what it says, and its [`Breaches`].
fn invariants() -> [(&'static str, Breaches); 11] {
    [
        (
            "every balance equals the sum of its ledger",
            sqlx::query_scalar!(
                "SELECT u.id FROM users u
                 LEFT JOIN (SELECT user_id, sum(amount) AS total FROM balance_ledger GROUP BY user_id) l
                        ON l.user_id = u.id
                 WHERE u.balance <> COALESCE(l.total, 0)
                 LIMIT 10"
            ),
        ),
        (
            "an order is PAID or REFUNDED exactly when it has a payment of its payable amount by its owner",
            sqlx::query_scalar!(
                "SELECT o.id FROM orders o LEFT JOIN payments p ON p.order_id = o.id
                 WHERE (o.status IN ('PAID', 'REFUNDED')) <> (p.id IS NOT NULL)
                    OR p.amount <> o.total_amount - o.discount_amount
                    OR p.user_id <> o.user_id
                    OR p.paid_at <> o.paid_at
                 LIMIT 10"
            ),
        ),
        (
            "every payment has exactly its PAYMENT ledger row, and every PAYMENT row its payment",
            sqlx::query_scalar!(
                r#"SELECT COALESCE(p.order_id, l.order_id) AS "id!" FROM payments p
                   FULL JOIN (SELECT * FROM balance_ledger WHERE kind = 'PAYMENT') l ON l.order_id = p.order_id
                   WHERE p.id IS NULL OR l.id IS NULL OR l.amount <> -p.amount OR l.user_id <> p.user_id
                   LIMIT 10"#
            ),
        ),
        (
            "every payment has exactly one order-paid event, and every event its payment",
            sqlx::query_scalar!(
                r#"SELECT COALESCE(p.order_id, e.order_id) AS "id!" FROM payments p
                   FULL JOIN (SELECT id, order_id FROM outbox WHERE event_type = $1) e
                          ON e.order_id = p.order_id
                   WHERE p.id IS NULL OR e.id IS NULL
                   LIMIT 10"#,
                outbox::ORDER_PAID,
            ),
        ),
        (
            "an order is REFUNDED exactly when it has a REFUND ledger row of its payable amount by its owner, after its payment",
            sqlx::query_scalar!(
                r#"SELECT COALESCE(o.id, l.order_id) AS "id!"
                   FROM (SELECT * FROM orders WHERE status = 'REFUNDED') o
                   FULL JOIN (SELECT * FROM balance_ledger WHERE kind = 'REFUND') l ON l.order_id = o.id
                   WHERE o.id IS NULL OR l.id IS NULL
                      OR l.amount <> o.total_amount - o.discount_amount
                      OR l.user_id <> o.user_id
                      OR o.refunded_at < o.paid_at
                   LIMIT 10"#
            ),
        ),
        (
            "every refund has exactly one order-refunded event, and every such event its refund",
            sqlx::query_scalar!(
                r#"SELECT COALESCE(o.id, e.order_id) AS "id!"
                   FROM (SELECT id FROM orders WHERE status = 'REFUNDED') o
                   FULL JOIN (SELECT order_id FROM outbox WHERE event_type = $1) e ON e.order_id = o.id
                   WHERE o.id IS NULL OR e.order_id IS NULL
                   LIMIT 10"#,
                outbox::ORDER_REFUNDED,
            ),
        ),
        (
            "a product's held stock is exactly the units of its PENDING orders that hold stock",
            sqlx::query_scalar!(
                "SELECT p.id FROM products p
                 LEFT JOIN (SELECT i.product_id, sum(i.quantity) AS held
                            FROM order_items i JOIN orders o ON o.id = i.order_id
                            WHERE o.status = 'PENDING' AND o.holds_stock
                            GROUP BY i.product_id) h ON h.product_id = p.id
                 WHERE p.held_stock <> COALESCE(h.held, 0)
                 LIMIT 10"
            ),
        ),
        (
            "every EXPIRED order has exactly one order-expired event, and every such event its EXPIRED order",
            sqlx::query_scalar!(
                r#"SELECT COALESCE(o.id, e.order_id) AS "id!"
                   FROM (SELECT id FROM orders WHERE status = 'EXPIRED') o
                   FULL JOIN (SELECT order_id FROM outbox WHERE event_type = $1) e ON e.order_id = o.id
                   WHERE o.id IS NULL OR e.order_id IS NULL
                      OR o.id IN (SELECT order_id FROM outbox WHERE event_type = $1
                                  GROUP BY order_id HAVING count(*) > 1)
                   LIMIT 10"#,
                outbox::ORDER_EXPIRED,
            ),
        ),
        (
            "every order total is the sum of its lines",
            sqlx::query_scalar!(
                "SELECT o.id FROM orders o
                 LEFT JOIN (SELECT order_id, sum(quantity::BIGINT * unit_price) AS total
                            FROM order_items GROUP BY order_id) i ON i.order_id = o.id
                 WHERE i.total IS NULL OR i.total <> o.total_amount
                 LIMIT 10"
            ),
        ),
        (
            "a coupon campaign's issued count equals its issued coupons",
            sqlx::query_scalar!(
                "SELECT c.id FROM coupons c
                 LEFT JOIN (SELECT coupon_id, count(*) AS issued FROM user_coupons GROUP BY coupon_id) u
                        ON u.coupon_id = c.id
                 WHERE c.issued_quantity <> COALESCE(u.issued, 0)
                 LIMIT 10"
            ),
        ),
        (
            "a used coupon paid for a PAID order of its holder (a refund releases it), and a discount needs a coupon",
            sqlx::query_scalar!(
                "SELECT o.id FROM orders o LEFT JOIN user_coupons uc ON uc.order_id = o.id
                 WHERE (uc.id IS NOT NULL AND (o.status <> 'PAID' OR uc.user_id <> o.user_id))
                    OR (o.status = 'PAID' AND o.discount_amount > 0 AND uc.id IS NULL)
                 LIMIT 10"
            ),
        ),
    ]
}

/// One broken invariant and (some of) the ids that break it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The invariant.
    pub rule: &'static str,
    /// Up to ten offending ids.
    pub ids: Vec<i64>,
}

/// Checks every invariant; an empty list means the data is consistent.
pub async fn check(pool: &PgPool) -> AppResult<Vec<Violation>> {
    let mut violations = Vec::new();
    for (rule, breaches) in invariants() {
        let ids = breaches.fetch_all(pool).await?;
        if !ids.is_empty() {
            violations.push(Violation { rule, ids });
        }
    }
    Ok(violations)
}
