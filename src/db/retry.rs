//! The SERIALIZABLE transaction helper.
//!
//! Every write in the server runs through [`Db::serializable`]. PostgreSQL's
//! serializable isolation makes each transaction behave as if it ran alone,
//! and reports the cases where it cannot (SQLSTATE 40001, serialization
//! failure) or where two transactions wait on each other (40P01, deadlock) by
//! aborting one of them. Such an abort means "try again", so the helper
//! reruns the whole unit of work with capped exponential backoff and full
//! jitter, so that the losers of a race do not collide again in lockstep.
//! Business errors are never retried. When the attempts run out the client
//! gets `SERVICE_UNAVAILABLE`, which is safe to retry.
//!
//! Because correctness comes from the database, this holds across any number
//! of server instances sharing one database.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, Postgres};
use tracing::Instrument;

use super::{Db, RowKey};
use crate::error::{AppError, AppResult};
use crate::metrics::UseCase;

/// A boxed unit of work borrowing the transaction's connection.
pub type TxFuture<'t, T> = Pin<Box<dyn Future<Output = AppResult<T>> + Send + 't>>;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry; it doubles per retry.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 12,
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(100),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: a uniform delay between zero and the capped exponential
    /// ceiling for this retry (1 for the first retry). The outbox relay
    /// backs off from NATS outages by the same rule.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(self.max_delay);
        ceiling.mul_f64(fastrand::f64())
    }
}

impl Db {
    /// Runs `work` in a SERIALIZABLE transaction and commits it, retrying the
    /// whole of it on serialization failures and deadlocks. Each attempt
    /// takes a connection from the pool (none is held while backing off).
    ///
    /// `use_case` labels the retry metrics and logs. `work` may run several
    /// times, so it must not have effects outside the transaction.
    pub async fn serializable<T, F>(&self, use_case: &'static str, work: F) -> AppResult<T>
    where
        F: for<'t> FnMut(&'t mut PgConnection) -> TxFuture<'t, T>,
    {
        self.retrying(None, use_case, work).await
    }

    /// Like [`Db::serializable`], on a connection the caller already holds
    /// (so that it never waits for a second one while holding the first).
    pub async fn serializable_in<T, F>(
        &self,
        conn: &mut PoolConnection<Postgres>,
        use_case: &'static str,
        work: F,
    ) -> AppResult<T>
    where
        F: for<'t> FnMut(&'t mut PgConnection) -> TxFuture<'t, T>,
    {
        self.retrying(Some(conn), use_case, work).await
    }

    /// The retry loop: attempts on `conn`, or on a pooled connection per
    /// attempt when `None`; in a span of its own, which says how many
    /// attempts the transaction took (a trace shows where a slow write
    /// spent its time: waiting for its turn, or losing races).
    async fn retrying<T, F>(
        &self,
        conn: Option<&mut PoolConnection<Postgres>>,
        use_case: &'static str,
        work: F,
    ) -> AppResult<T>
    where
        F: for<'t> FnMut(&'t mut PgConnection) -> TxFuture<'t, T>,
    {
        let span = tracing::info_span!(
            "transaction",
            otel.name = %format_args!("transaction {use_case}"),
            db.system.name = "postgresql",
            use_case,
            attempts = tracing::field::Empty,
        );
        self.attempts(conn, use_case, work).instrument(span).await
    }

    async fn attempts<T, F>(
        &self,
        mut conn: Option<&mut PoolConnection<Postgres>>,
        use_case: &'static str,
        mut work: F,
    ) -> AppResult<T>
    where
        F: for<'t> FnMut(&'t mut PgConnection) -> TxFuture<'t, T>,
    {
        let policy = self.retry;
        let mut attempt = 1;
        loop {
            let result = match conn.as_deref_mut() {
                Some(conn) => Self::attempt(conn, &mut work).await,
                None => match self.pool.acquire().await {
                    Ok(mut pooled) => Self::attempt(&mut pooled, &mut work).await,
                    Err(err) => Err(err.into()),
                },
            };
            tracing::Span::current().record("attempts", attempt);
            match result {
                Err(err) if err.is_retryable() => {
                    if attempt >= policy.max_attempts {
                        self.metrics()
                            .tx_giveups
                            .get_or_create(&UseCase { use_case })
                            .inc();
                        tracing::warn!(use_case, attempt, error = ?err, "transaction retries exhausted");
                        return Err(AppError::Unavailable(format!(
                            "{use_case}: gave up after {attempt} conflicting attempts"
                        )));
                    }
                    self.metrics()
                        .tx_retries
                        .get_or_create(&UseCase { use_case })
                        .inc();
                    tracing::debug!(use_case, attempt, "serialization conflict, retrying");
                    tokio::time::sleep(policy.backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Like [`Db::serializable`], but first lines up behind other requests
    /// of this instance for the same `rows` (see [`super::RowLocks`]), so
    /// that a hot row is updated in turn instead of in a storm of retries.
    pub async fn serializable_on<T, F>(
        &self,
        use_case: &'static str,
        rows: &[RowKey],
        work: F,
    ) -> AppResult<T>
    where
        F: for<'t> FnMut(&'t mut PgConnection) -> TxFuture<'t, T>,
    {
        let _turn = self.row_locks.lock(rows).await;
        self.serializable(use_case, work).await
    }

    /// One attempt: BEGIN, `work`, COMMIT (or ROLLBACK if `work` failed).
    ///
    /// The transaction is driven with plain statements rather than sqlx's
    /// `Transaction`, because of how an attempt most often ends under
    /// contention: a serialization failure *at COMMIT*. PostgreSQL has then
    /// ended the transaction already, but sqlx still counts it as open and
    /// queues a ROLLBACK when the `Transaction` is dropped, which the server
    /// answers with the notice "there is no transaction in progress", logged
    /// as a WARN by sqlx: once per lost race, most of the log of a busy
    /// instance. Here nothing is sent after a failed COMMIT.
    async fn attempt<T, F>(conn: &mut PoolConnection<Postgres>, work: &mut F) -> AppResult<T>
    where
        F: for<'t> FnMut(&'t mut PgConnection) -> TxFuture<'t, T>,
    {
        let mut guard = CloseIfAbandoned {
            conn,
            finished: false,
        };
        let conn: &mut PgConnection = &mut *guard.conn;
        let (result, clean) = async {
            if let Err(e) = sqlx::raw_sql("BEGIN ISOLATION LEVEL SERIALIZABLE")
                .execute(&mut *conn)
                .await
            {
                // A BEGIN refused by the server leaves no transaction; an
                // I/O error leaves the connection in doubt.
                let clean = matches!(e, sqlx::Error::Database(_));
                return (Err(begin_failed(e)), clean);
            }
            match work(&mut *conn).await {
                // Whether COMMIT succeeds or PostgreSQL refuses it (a
                // serialization failure can surface there too), the
                // transaction is over: only a lost connection leaves doubt.
                Ok(value) => match sqlx::raw_sql("COMMIT").execute(&mut *conn).await {
                    Ok(_) => (Ok(value), true),
                    Err(e) => {
                        let clean = matches!(e, sqlx::Error::Database(_));
                        (Err(e.into()), clean)
                    }
                },
                // Saying ROLLBACK returns the connection to the pool clean
                // at once; if even that fails, the connection is closed.
                Err(err) => {
                    let rolled_back = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                    (Err(err), rolled_back.is_ok())
                }
            }
        }
        .await;
        guard.finished = clean;
        result
    }
}

/// The error of a `BEGIN ISOLATION LEVEL SERIALIZABLE` that failed.
///
/// A hot standby refuses it with feature_not_supported (0A000, "cannot use
/// serializable mode in a hot standby"). Around a failover the server can
/// reach a node that is still a standby for a moment (Patroni reports the
/// new primary while its promotion is finishing, and HAProxy routes to
/// it): nothing has run, and a retry soon reaches a primary, so the client
/// gets `SERVICE_UNAVAILABLE`, as for a write refused as read-only (25006).
fn begin_failed(err: sqlx::Error) -> AppError {
    match &err {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("0A000") => {
            AppError::Unavailable(format!("database is a standby: {err}"))
        }
        _ => err.into(),
    }
}

/// Closes a connection whose transaction attempt was abandoned half way
/// (the request that awaited it was dropped: a client gone, the request
/// timeout) or ended in doubt (the connection failed mid-statement),
/// instead of letting it go back to the pool.
///
/// sqlx cannot tell what such a connection is in: dropped while `BEGIN` is
/// on its way, it does not know the transaction began and queues no
/// ROLLBACK, and the pool would hand out a connection idle in a transaction
/// that serves stale snapshots. Closing it ends that transaction in
/// PostgreSQL, whatever point it had reached.
struct CloseIfAbandoned<'c> {
    conn: &'c mut PoolConnection<Postgres>,
    finished: bool,
}

impl Drop for CloseIfAbandoned<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.conn.close_on_drop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_its_capped_ceiling() {
        let p = RetryPolicy::default();
        for retry in 1..40 {
            let ceiling = p
                .base_delay
                .saturating_mul(1 << (retry - 1).min(16))
                .min(p.max_delay);
            for _ in 0..50 {
                assert!(p.backoff(retry) <= ceiling);
            }
        }
        assert!(p.backoff(30) <= p.max_delay);
    }
}
