//! Idempotency keys: a retried request with the same key returns what the
//! first one produced instead of doing the work again.
//!
//! A key belongs to one user and one operation. Its `fingerprint` is a
//! canonical text of the request's input, so that the same key with another
//! input is caught (`IDEMPOTENCY_KEY_REUSED`). The lookup and the record are
//! written in the same SERIALIZABLE transaction as the work itself, so two
//! racing requests with one key cannot both do it: the loser's transaction
//! fails to serialize, is retried, and then finds the winner's record.

use sqlx::PgConnection;

use crate::error::{AppResult, ErrorCode, Field, Rejection};

/// The longest key we store.
pub const MAX_KEY_LEN: usize = 255;

/// Checks a client-supplied key's shape.
pub fn validate_key(key: &str) -> Result<(), Rejection> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(Rejection::invalid(
            Field::IdempotencyKey,
            format!("idempotencyKey must be 1 to {MAX_KEY_LEN} bytes"),
        ));
    }
    if !super::is_storable(key) {
        return Err(Rejection::invalid(
            Field::IdempotencyKey,
            "idempotencyKey must not hold a NUL character",
        ));
    }
    Ok(())
}

/// The result of an earlier request with this key, if there was one.
///
/// Fails with `IDEMPOTENCY_KEY_REUSED` when the key was used with
/// a different input.
pub async fn replay(
    conn: &mut PgConnection,
    user_id: i64,
    operation: &str,
    key: &str,
    fingerprint: &str,
) -> AppResult<Option<i64>> {
    let row = sqlx::query!(
        "SELECT fingerprint, result_id FROM idempotency_keys
         WHERE user_id = $1 AND operation = $2 AND key = $3",
        user_id,
        operation,
        key,
    )
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        None => Ok(None),
        Some(stored) if stored.fingerprint == fingerprint => Ok(Some(stored.result_id)),
        Some(_) => Err(Rejection::new(
            ErrorCode::IdempotencyKeyReused,
            "this idempotencyKey was already used with a different input",
        )
        .at(Field::IdempotencyKey)
        .into()),
    }
}

/// Remembers what the request with this key produced.
pub async fn record(
    conn: &mut PgConnection,
    user_id: i64,
    operation: &str,
    key: &str,
    fingerprint: &str,
    result_id: i64,
) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO idempotency_keys (user_id, operation, key, fingerprint, result_id)
         VALUES ($1, $2, $3, $4, $5)",
        user_id,
        operation,
        key,
        fingerprint,
        result_id,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
