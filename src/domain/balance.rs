//! Balances and their ledger.
//!
//! Every change to a balance is a `balance_ledger` row: a charge (+) or a
//! payment (-). A trigger applies each row to `users.balance`, whose CHECK
//! keeps it between 0 and [`MAX_BALANCE`], so the balance always equals the
//! sum of the ledger and can never go negative, whatever the code does.

use sqlx::PgConnection;

use crate::error::{AppError, AppResult, ErrorCode, Field, Rejection};

/// The largest single charge.
pub const MAX_CHARGE: i64 = 100_000_000_000;
/// The largest balance a user may hold (the database enforces it too).
pub const MAX_BALANCE: i64 = 1_000_000_000_000_000;

/// Checks a charge amount: positive and at most [`MAX_CHARGE`].
pub fn validate_charge(amount: i64) -> Result<(), Rejection> {
    if !(1..=MAX_CHARGE).contains(&amount) {
        return Err(Rejection::invalid(
            Field::Amount,
            format!("amount must be 1 to {MAX_CHARGE}"),
        ));
    }
    Ok(())
}

/// Adds `amount` to the user's balance as a CHARGE ledger row; returns the
/// row's id. Refuses a charge that would take the balance past [`MAX_BALANCE`].
pub async fn charge(conn: &mut PgConnection, user_id: i64, amount: i64) -> AppResult<i64> {
    validate_charge(amount)?;
    // One statement: the condition reads the balance this transaction
    // would update, so SERIALIZABLE keeps the limit exact under races.
    let id = sqlx::query_scalar!(
        "INSERT INTO balance_ledger (user_id, kind, amount)
         SELECT id, 'CHARGE', $2::BIGINT FROM users WHERE id = $1 AND balance <= $3::BIGINT - $2
         RETURNING id",
        user_id,
        amount,
        MAX_BALANCE,
    )
    .fetch_optional(conn)
    .await?;
    id.ok_or_else(|| {
        AppError::reject(Rejection::invalid(
            Field::Amount,
            format!("the balance may not exceed {MAX_BALANCE}"),
        ))
    })
}

/// The rule: a balance of `balance` covers a payment of `amount`;
/// otherwise `INSUFFICIENT_BALANCE`.
pub fn check_covers(balance: i64, amount: i64) -> Result<(), Rejection> {
    if balance >= amount {
        return Ok(());
    }
    Err(Rejection::new(
        ErrorCode::InsufficientBalance,
        format!("the balance of {balance} does not cover {amount}"),
    ))
}

/// One payment out of a balance: the PAYMENT ledger row of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Debit {
    /// The payer.
    pub user_id: i64,
    /// The paid order (one payment row per order: UNIQUE in the ledger).
    pub order_id: i64,
    /// What is taken, 0 or more.
    pub amount: i64,
}

/// Writes the PAYMENT ledger rows of several payments; the ledger trigger
/// takes each from its user's balance.
///
/// The caller has checked, in this transaction, that every balance covers
/// its payments ([`check_covers`]); the CHECK on `users.balance` is the
/// database's own check of the same rule, so were the two ever to disagree
/// the statement fails and takes the whole transaction with it.
pub async fn pay(conn: &mut PgConnection, debits: &[Debit]) -> AppResult<()> {
    if debits.is_empty() {
        return Ok(());
    }
    let users: Vec<i64> = debits.iter().map(|d| d.user_id).collect();
    let orders: Vec<i64> = debits.iter().map(|d| d.order_id).collect();
    let amounts: Vec<i64> = debits.iter().map(|d| -d.amount).collect();
    let written = sqlx::query!(
        "INSERT INTO balance_ledger (user_id, kind, amount, order_id)
         SELECT d.user_id, 'PAYMENT', d.amount, d.order_id
         FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[]) AS d(user_id, order_id, amount)",
        &users,
        &orders,
        &amounts,
    )
    .execute(conn)
    .await?
    .rows_affected();
    super::ensure_written("ledger", written as usize, debits.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_balance_covers_what_it_holds_and_no_more() {
        assert!(check_covers(100, 100).is_ok());
        assert!(check_covers(0, 0).is_ok());
        let short = check_covers(99, 100).unwrap_err();
        assert_eq!(short.code, ErrorCode::InsufficientBalance);
    }

    #[test]
    fn charges_are_bounded() {
        assert!(validate_charge(1).is_ok());
        assert!(validate_charge(MAX_CHARGE).is_ok());
        assert!(validate_charge(0).is_err());
        assert!(validate_charge(-1).is_err());
        assert!(validate_charge(MAX_CHARGE + 1).is_err());
    }
}
