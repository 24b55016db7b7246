//! `DATABASE_*`: the PostgreSQL database, its pool, and an optional read
//! replica.

use std::time::Duration;

use super::parse::{ConfigError, Env};

/// The database and how the server uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Database {
    /// `DATABASE_URL`: the PostgreSQL database (created if missing).
    pub url: String,
    /// `DATABASE_MAX_CONNECTIONS`: the size of the connection pool.
    pub max_connections: u32,
    /// `DATABASE_MIN_CONNECTIONS`: how many pool connections are opened at
    /// startup and kept open (default: all of them, a fixed-size pool), so
    /// that the first burst after a start does not wait for connections to
    /// be made.
    pub min_connections: u32,
    /// `DATABASE_ACQUIRE_TIMEOUT_MS`: how long a request waits for a pooled
    /// connection.
    pub acquire_timeout: Duration,
    /// `DATABASE_STATEMENT_TIMEOUT_MS`: PostgreSQL's `statement_timeout`
    /// for every connection.
    pub statement_timeout: Duration,
    /// `DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS`: PostgreSQL's
    /// `idle_in_transaction_session_timeout` for every pool connection, the
    /// backstop that ends a transaction nobody finishes.
    pub idle_in_transaction_timeout: Duration,
    /// `DATABASE_READ_URL`: a streaming replica of the database that query
    /// operations read from (none by default: everything reads from
    /// `DATABASE_URL`).
    pub read_url: Option<String>,
    /// `DATABASE_READ_MAX_CONNECTIONS`: the size of the replica's pool
    /// (default: `DATABASE_MAX_CONNECTIONS`).
    pub read_max_connections: u32,
    /// `DATABASE_READ_MAX_LAG_MS`: when the replica lags the primary by
    /// more than this, queries read from the primary until it catches up
    /// (default: no limit).
    pub read_max_lag: Option<Duration>,
    /// `DATABASE_READ_LAG_SAMPLE_MS`: how often the replica's lag (and
    /// whether it answers) is measured.
    pub read_lag_sample_interval: Duration,
}

impl Database {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let max_connections: u32 = env.parse("DATABASE_MAX_CONNECTIONS", "16")?;
        let min_connections: u32 =
            env.parse("DATABASE_MIN_CONNECTIONS", &max_connections.to_string())?;
        if max_connections == 0 || min_connections > max_connections {
            return Err(ConfigError(format!(
                "DATABASE_MAX_CONNECTIONS must be at least 1 and DATABASE_MIN_CONNECTIONS at most it, \
                 not {max_connections} and {min_connections}"
            )));
        }
        let read_max_connections: u32 = env.parse(
            "DATABASE_READ_MAX_CONNECTIONS",
            &max_connections.to_string(),
        )?;
        if read_max_connections == 0 {
            return Err(ConfigError::of(
                "DATABASE_READ_MAX_CONNECTIONS",
                "must be at least 1",
            ));
        }
        Ok(Self {
            url: env.text(
                "DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/commerce",
            ),
            max_connections,
            min_connections,
            acquire_timeout: env.millis("DATABASE_ACQUIRE_TIMEOUT_MS", "3000")?,
            statement_timeout: env.millis("DATABASE_STATEMENT_TIMEOUT_MS", "5000")?,
            idle_in_transaction_timeout: env
                .millis("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS", "10000")?,
            read_url: env.optional("DATABASE_READ_URL"),
            read_max_connections,
            read_max_lag: env
                .parse_optional::<u64>("DATABASE_READ_MAX_LAG_MS")?
                .map(Duration::from_millis),
            read_lag_sample_interval: env.positive_millis("DATABASE_READ_LAG_SAMPLE_MS", "1000")?,
        })
    }
}
