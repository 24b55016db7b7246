//! Users: created on first sight of a token's `sub`, with a zero balance.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use crate::error::AppResult;

/// A row of `users`.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// Database id.
    pub id: i64,
    /// The token `sub` that names the user.
    pub subject: String,
    /// The balance, equal to the sum of the user's ledger rows.
    pub balance: i64,
    /// When the user was first seen.
    pub created_at: DateTime<Utc>,
}

/// The id of the user named `subject`, if they exist.
pub async fn find_id<'c>(db: impl PgExecutor<'c>, subject: &str) -> AppResult<Option<i64>> {
    Ok(
        sqlx::query_scalar!("SELECT id FROM users WHERE subject = $1", subject)
            .fetch_optional(db)
            .await?,
    )
}

/// Creates the user named `subject` unless they exist; returns their id.
/// The UNIQUE constraint on `subject` makes racing first requests create
/// exactly one row.
pub async fn create(conn: &mut PgConnection, subject: &str) -> AppResult<i64> {
    let inserted = sqlx::query_scalar!(
        "INSERT INTO users (subject) VALUES ($1) ON CONFLICT (subject) DO NOTHING RETURNING id",
        subject,
    )
    .fetch_optional(&mut *conn)
    .await?;
    match inserted {
        Some(id) => Ok(id),
        None => Ok(
            sqlx::query_scalar!("SELECT id FROM users WHERE subject = $1", subject)
                .fetch_one(&mut *conn)
                .await?,
        ),
    }
}

/// Users by id, from the pool or inside a transaction.
pub async fn by_ids<'c>(db: impl PgExecutor<'c>, ids: &[i64]) -> AppResult<Vec<UserRecord>> {
    Ok(sqlx::query_as!(
        UserRecord,
        "SELECT id, subject, balance, created_at FROM users WHERE id = ANY($1)",
        ids,
    )
    .fetch_all(db)
    .await?)
}
