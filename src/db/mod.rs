//! The database: the connection pool, creating the database and running the
//! migrations at startup, [`Db::serializable`], the one helper through which
//! every write runs, two ways of lining up writes to hot rows inside an
//! instance ([`RowLocks`] and [`Batcher`]), where a request's reads run
//! ([`Reads`], [`WarmReads`]), the optional read replica queries read from
//! ([`Replica`]), and [`columns`]: many rows read as one row of arrays.

mod batcher;
pub(crate) mod columns;
mod reads;
mod replica;
mod retry;
mod row_locks;

pub use batcher::{BatchResult, Batcher};
pub use reads::{Reads, WarmReads};
pub use replica::{REPLICA_ACQUIRE_TIMEOUT, Replica, ReplicaStatus};
pub use retry::{RetryPolicy, TxFuture};
pub use row_locks::{RowKey, RowLocks};

use std::str::FromStr;
use std::sync::Arc;

use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Postgres};

use crate::config::Config;
use crate::metrics::Metrics;

/// The pool plus what the retry helper reports to. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    /// The connection pool; reads use it directly.
    pub pool: PgPool,
    /// Connections of finished queries, kept for the next ones.
    pub warm_reads: Arc<WarmReads>,
    /// The read replica queries read from, if `DATABASE_READ_URL` is set.
    pub replica: Option<Arc<Replica>>,
    metrics: Arc<Metrics>,
    retry: RetryPolicy,
    row_locks: Arc<RowLocks>,
}

impl Db {
    /// Wraps a pool.
    pub fn new(pool: PgPool, metrics: Arc<Metrics>) -> Self {
        Self {
            warm_reads: Arc::new(WarmReads::for_pool(&pool)),
            replica: None,
            pool,
            metrics,
            retry: RetryPolicy::default(),
            row_locks: Arc::default(),
        }
    }

    /// The same database with a read replica for queries.
    pub fn with_replica(mut self, replica: Option<Arc<Replica>>) -> Self {
        self.replica = replica;
        self
    }

    /// The reads of a query operation ([`Reads::shared`]).
    pub fn query_reads(&self) -> Reads {
        Reads::shared(self)
    }

    /// The same database with another retry policy (tests use a tiny one).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The metrics registry the retry helper counts into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}

/// Creates the database named by `url` if it does not exist yet.
pub async fn ensure_database(url: &str) -> Result<(), sqlx::Error> {
    if Postgres::database_exists(url).await? {
        return Ok(());
    }
    match Postgres::create_database(url).await {
        Ok(()) => Ok(()),
        // Another instance created it between our check and our CREATE:
        // duplicate_database, or the unique index on pg_database's name.
        Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("42P04" | "23505")) => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// A pooled connection idle this long is checked before it is used.
pub(crate) const PING_IF_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// How a pool is made: the primary's ([`connect`]) and the replica's
/// ([`Replica::connect`]) differ only in these.
pub(crate) struct PoolSpec<'a> {
    /// The database's URL.
    pub url: &'a str,
    /// PostgreSQL's `application_name`, which tells the pools apart in
    /// `pg_stat_activity`.
    pub application: &'a str,
    /// Its size.
    pub max_connections: u32,
    /// How many it keeps open once opened.
    pub min_connections: u32,
    /// How long a request waits for one of its connections.
    pub acquire_timeout: std::time::Duration,
    /// PostgreSQL's `statement_timeout` on each connection.
    pub statement_timeout: std::time::Duration,
    /// PostgreSQL's `idle_in_transaction_session_timeout`, for a pool that
    /// writes.
    pub idle_in_transaction_timeout: Option<std::time::Duration>,
}

impl PoolSpec<'_> {
    /// The pool, connecting lazily: after startup (which needs PostgreSQL
    /// to create the database and migrate it), an outage only fails
    /// requests until the database is back; `/readyz` says when it is
    /// reachable.
    pub(crate) fn open(&self) -> Result<PgPool, sqlx::Error> {
        let mut settings = vec![(
            "statement_timeout",
            self.statement_timeout.as_millis().to_string(),
        )];
        // A transaction left open by a request that vanished mid-way is
        // ended by the retry helper (see `retry.rs`); this is PostgreSQL's
        // backstop should anything else ever leave one open.
        if let Some(idle) = self.idle_in_transaction_timeout {
            settings.push((
                "idle_in_transaction_session_timeout",
                idle.as_millis().to_string(),
            ));
        }
        let options = PgConnectOptions::from_str(self.url)?
            .application_name(self.application)
            .options(settings.iter().map(|(k, v)| (*k, v.as_str())));
        Ok(PgPoolOptions::new()
            .max_connections(self.max_connections)
            // Kept open once opened; `open_min_connections` opens them at
            // startup (the pool is lazy, so a database that is down does not
            // stop the server from starting).
            .min_connections(self.min_connections)
            .acquire_timeout(self.acquire_timeout)
            // sqlx pings every connection it hands out by default: a round
            // trip per statement, a third of a nested read's time. A
            // connection in steady use is fine; only one that sat idle for a
            // while (and may have died with an outage) is pinged, and
            // replaced if it is dead.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IF_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(options))
    }
}

/// Opens the primary's pool with the configured size and timeouts.
pub fn connect(config: &Config) -> Result<PgPool, sqlx::Error> {
    let database = &config.database;
    PoolSpec {
        url: &database.url,
        application: "commerce",
        max_connections: database.max_connections,
        min_connections: database.min_connections,
        acquire_timeout: database.acquire_timeout,
        statement_timeout: database.statement_timeout,
        idle_in_transaction_timeout: Some(database.idle_in_transaction_timeout),
    }
    .open()
}

/// Opens the pool's `min_connections` now, in the background, rather than
/// when the first burst of requests needs them.
///
/// sqlx's lazy pool opens them only once its reaper has closed an idle
/// connection (after `idle_timeout`), so a fresh instance would make its
/// first burst of requests wait for connections to be made. A database
/// that is down is logged here and left to the pool, which connects when
/// asked.
pub fn open_min_connections(pool: &PgPool) {
    let pool = pool.clone();
    tokio::spawn(async move {
        let min = pool.options().get_min_connections();
        // Held until all are open, so that each acquire opens a new one.
        let mut held = Vec::with_capacity(min as usize);
        while pool.size() < min {
            match pool.acquire().await {
                Ok(conn) => held.push(conn),
                Err(err) => {
                    tracing::warn!(error = %err, "the pool's connections could not be opened at startup");
                    break;
                }
            }
        }
    });
}

/// Applies the migrations in `migrations/` (embedded at build time).
///
/// On a connection of its own, without the pool's `statement_timeout`: a
/// migration of a big table, or waiting for another instance's migration
/// lock (sqlx takes an advisory lock), may take longer than a request.
/// Migrations the database has but this binary does not know are ignored,
/// so that during a rolling upgrade an instance of the previous release can
/// still (re)start against the migrated database: migrations are written to
/// be backward compatible (expand, then contract in a later release).
pub async fn migrate(database_url: &str) -> Result<(), sqlx::migrate::MigrateError> {
    let mut connection = PgConnection::connect(database_url).await?;
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator.run(&mut connection).await?;
    connection.close().await?;
    Ok(())
}
