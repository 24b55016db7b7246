//! Balances and their ledger.
//!
//! Every change to a balance is a `balance_ledger` row: a charge (+), a
//! payment (-) or a refund (+). A trigger applies each row to `users.balance`, whose CHECK
//! keeps it between 0 and [`MAX_BALANCE`], so the balance always equals the
//! sum of the ledger and can never go negative, whatever the code does.

use chrono::{DateTime, Utc};
use sqlx::error::BoxDynError;
use sqlx::postgres::PgValueRef;
use sqlx::{PgConnection, PgExecutor, Postgres};

use super::page::{Page, PageRequest, fetch_page};
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

/// The rule for a refund: a balance of `balance` has room for `amount`
/// more, at most [`MAX_BALANCE`] in all; otherwise `INVALID_INPUT` at the
/// order (its payer charged their balance up to the limit since paying).
pub fn check_room(balance: i64, amount: i64) -> Result<(), Rejection> {
    if balance <= MAX_BALANCE - amount {
        return Ok(());
    }
    Err(Rejection::invalid(
        Field::Order,
        format!("the refund would take the payer's balance past {MAX_BALANCE}"),
    ))
}

/// Writes the REFUND ledger rows of refunded orders, each the order's
/// payable amount back to its payer (`Debit` read as a credit); the ledger
/// trigger adds each to its user's balance. At most one per order: UNIQUE
/// in the ledger, and a deferred trigger checks at commit that each
/// matches its REFUNDED order.
///
/// The caller has checked, in this transaction, that every balance has room
/// for its refunds ([`check_room`]); the CHECK on `users.balance` is the
/// database's own check of the same rule.
pub async fn refund(conn: &mut PgConnection, credits: &[Debit]) -> AppResult<()> {
    if credits.is_empty() {
        return Ok(());
    }
    let users: Vec<i64> = credits.iter().map(|c| c.user_id).collect();
    let orders: Vec<i64> = credits.iter().map(|c| c.order_id).collect();
    let amounts: Vec<i64> = credits.iter().map(|c| c.amount).collect();
    let written = sqlx::query!(
        "INSERT INTO balance_ledger (user_id, kind, amount, order_id)
         SELECT c.user_id, 'REFUND', c.amount, c.order_id
         FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[]) AS c(user_id, order_id, amount)",
        &users,
        &orders,
        &amounts,
    )
    .execute(conn)
    .await?
    .rows_affected();
    super::ensure_written("ledger", written as usize, credits.len())
}

/// What a ledger row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// Money added with `chargeBalance`.
    Charge,
    /// Money taken by `payOrder`.
    Payment,
    /// Money returned by `refundOrder`.
    Refund,
}

/// Read from `balance_ledger.kind` (TEXT, with a type override in the
/// statements: `kind AS "kind: EntryKind"`); any other value is a decoding
/// error.
impl<'r> sqlx::Decode<'r, Postgres> for EntryKind {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        match <&str as sqlx::Decode<Postgres>>::decode(value)? {
            "CHARGE" => Ok(Self::Charge),
            "PAYMENT" => Ok(Self::Payment),
            "REFUND" => Ok(Self::Refund),
            other => Err(format!("unknown ledger kind {other:?}").into()),
        }
    }
}

/// A row of `balance_ledger`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRecord {
    /// Database id.
    pub id: i64,
    /// Whose balance it changed.
    pub user_id: i64,
    /// What it records.
    pub kind: EntryKind,
    /// The signed change: positive for CHARGE and REFUND, negative (or 0) for PAYMENT.
    pub amount: i64,
    /// The order paid or refunded (PAYMENT and REFUND rows).
    pub order_id: Option<i64>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// Ledger rows by id.
pub async fn entries_by_ids<'c>(
    db: impl PgExecutor<'c>,
    ids: &[i64],
) -> AppResult<Vec<EntryRecord>> {
    Ok(sqlx::query_as!(
        EntryRecord,
        r#"SELECT id, user_id, kind AS "kind: EntryKind", amount, order_id, created_at
           FROM balance_ledger WHERE id = ANY($1)"#,
        ids,
    )
    .fetch_all(db)
    .await?)
}

/// One page of a user's ledger, newest first.
pub async fn page_for_user<'c>(
    db: impl PgExecutor<'c>,
    user_id: i64,
    req: &PageRequest,
) -> AppResult<Page<EntryRecord>> {
    let rows = fetch_page!(
        db,
        req,
        EntryRecord,
        r#"SELECT id, user_id, kind AS "kind: EntryKind", amount, order_id, created_at
           FROM balance_ledger WHERE user_id = $1
             AND id < coalesce($2::BIGINT, 9223372036854775807) AND id > coalesce($3::BIGINT, 0)
           ORDER BY id"#,
        "LIMIT $4",
        user_id,
        req.after,
        req.before,
        req.fetch_limit(),
    )?;
    Ok(req.finish(rows))
}

/// How many ledger rows a user has.
pub async fn count_for_user<'c>(db: impl PgExecutor<'c>, user_id: i64) -> AppResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM balance_ledger WHERE user_id = $1"#,
        user_id,
    )
    .fetch_one(db)
    .await?)
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
