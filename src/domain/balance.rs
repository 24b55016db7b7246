//! Balances and their ledger.
//!
//! Every change to a balance is a `balance_ledger` row: a charge (+) or a
//! payment (-). A trigger applies each row to `users.balance`, whose CHECK
//! keeps it between 0 and [`MAX_BALANCE`], so the balance always equals the
//! sum of the ledger and can never go negative, whatever the code does.

use sqlx::PgConnection;

use crate::error::{AppError, AppResult, Rejection};

/// The largest single charge.
pub const MAX_CHARGE: i64 = 100_000_000_000;
/// The largest balance a user may hold (the database enforces it too).
pub const MAX_BALANCE: i64 = 1_000_000_000_000_000;

/// Checks a charge amount: positive and at most [`MAX_CHARGE`].
pub fn validate_charge(amount: i64) -> Result<(), Rejection> {
    if !(1..=MAX_CHARGE).contains(&amount) {
        return Err(Rejection::invalid(
            ["input", "amount"],
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
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO balance_ledger (user_id, kind, amount)
         SELECT id, 'CHARGE', $2 FROM users WHERE id = $1 AND balance <= $3 - $2
         RETURNING id",
    )
    .bind(user_id)
    .bind(amount)
    .bind(MAX_BALANCE)
    .fetch_optional(conn)
    .await?;
    id.ok_or_else(|| {
        AppError::reject(Rejection::invalid(
            ["input", "amount"],
            format!("the balance may not exceed {MAX_BALANCE}"),
        ))
    })
}
