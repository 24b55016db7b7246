//! The invariants that span domains, checked in SQL over the whole
//! database: what must hold however requests raced, failed or were killed.
//! The race and fault tests, the benchmark and `commerce audit` run it.
//!
//! What the database enforces by itself (stock and balances never negative,
//! issued <= total, one coupon per user, one payment per order) needs no
//! check here; these are the rules that tie rows of several tables together.

use sqlx::PgPool;

use crate::error::AppResult;

/// Each invariant: what it says, and a query returning the ids that break it.
const INVARIANTS: &[(&str, &str)] = &[
    (
        "every balance equals the sum of its ledger",
        "SELECT u.id FROM users u
         LEFT JOIN (SELECT user_id, sum(amount) AS total FROM balance_ledger GROUP BY user_id) l
                ON l.user_id = u.id
         WHERE u.balance <> COALESCE(l.total, 0)",
    ),
    (
        "an order is PAID exactly when it has a payment of its payable amount by its owner",
        "SELECT o.id FROM orders o LEFT JOIN payments p ON p.order_id = o.id
         WHERE (o.status = 'PAID') <> (p.id IS NOT NULL)
            OR p.amount <> o.total_amount - o.discount_amount
            OR p.user_id <> o.user_id
            OR p.paid_at <> o.paid_at",
    ),
    (
        "every payment has exactly its PAYMENT ledger row, and every PAYMENT row its payment",
        "SELECT COALESCE(p.order_id, l.order_id) FROM payments p
         FULL JOIN (SELECT * FROM balance_ledger WHERE kind = 'PAYMENT') l ON l.order_id = p.order_id
         WHERE p.id IS NULL OR l.id IS NULL OR l.amount <> -p.amount OR l.user_id <> p.user_id",
    ),
    (
        "every payment has exactly one order-paid event, and every event its payment",
        "SELECT COALESCE(p.order_id, e.order_id) FROM payments p
         FULL JOIN outbox e ON e.order_id = p.order_id AND e.event_type = 'com.commerce.order.paid'
         WHERE p.id IS NULL OR e.id IS NULL",
    ),
    (
        "every order total is the sum of its lines",
        "SELECT o.id FROM orders o
         LEFT JOIN (SELECT order_id, sum(quantity::BIGINT * unit_price) AS total
                    FROM order_items GROUP BY order_id) i ON i.order_id = o.id
         WHERE i.total IS NULL OR i.total <> o.total_amount",
    ),
    (
        "a coupon campaign's issued count equals its issued coupons",
        "SELECT c.id FROM coupons c
         LEFT JOIN (SELECT coupon_id, count(*) AS issued FROM user_coupons GROUP BY coupon_id) u
                ON u.coupon_id = c.id
         WHERE c.issued_quantity <> COALESCE(u.issued, 0)",
    ),
    (
        "a used coupon paid for a PAID order of its holder, and a discount needs a coupon",
        "SELECT o.id FROM orders o LEFT JOIN user_coupons uc ON uc.order_id = o.id
         WHERE (uc.id IS NOT NULL AND (o.status <> 'PAID' OR uc.user_id <> o.user_id))
            OR (o.discount_amount > 0 AND uc.id IS NULL)",
    ),
];

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
    for (rule, query) in INVARIANTS {
        let sql = format!("{query} LIMIT 10");
        let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await?;
        if !ids.is_empty() {
            violations.push(Violation { rule, ids });
        }
    }
    Ok(violations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_rule_names_the_event_type_the_outbox_writes() {
        assert!(
            INVARIANTS
                .iter()
                .any(|(_, sql)| sql.contains(super::super::outbox::ORDER_PAID))
        );
    }
}
