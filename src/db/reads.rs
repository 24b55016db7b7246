//! Where a GraphQL request's reads run.
//!
//! sqlx pings a connection each time it goes back to the pool (a round
//! trip, for the server and for PostgreSQL alike), so reads that borrowed a
//! pooled connection per statement paid two round trips per statement. The
//! reads of a query operation therefore share one connection, taken at its
//! first read and released when the operation ends: one ping per query.
//!
//! That one ping is skipped too when the next query comes soon: a query that
//! went well hands its connection to [`WarmReads`] instead of the pool, and
//! the next query takes it from there if it waited less than
//! [`super::PING_IF_IDLE_FOR`], the rule the pool applies to its own idle
//! connections. A failed or abandoned query's connection goes back to the
//! pool, which pings it.
//!
//! A mutation's reads borrow a connection per statement, because its writes
//! take a connection of their own: holding a read connection while waiting
//! for a write connection could let concurrent mutations exhaust the pool
//! and wait on each other.
//!
//! With a read replica ([`super::Replica`], `DATABASE_READ_URL`), a
//! query's shared connection comes from the replica while it is usable,
//! else from the primary; a mutation's reads always go to the primary.
//! Each query counts where it read in `db_query_reads_total{target}`.
//!
//! A read runs inside [`Reads::run`], whose closure is `'static`: it cannot
//! borrow the request, so it cannot await a DataLoader (which reads on the
//! same shared connection) while it holds that connection, which would wait
//! on itself forever.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use tokio::sync::Mutex;

use super::{Db, PING_IF_IDLE_FOR, Replica};
use crate::error::{AppError, AppResult};
use crate::metrics::{Metrics, QueryReads, Target};
use crate::sync;

/// Connections of queries that went well, kept for the next query for up
/// to [`PING_IF_IDLE_FOR`] (see the module docs). Holds at most a quarter
/// of the pool, so writes always find most of it.
pub struct WarmReads {
    idle: std::sync::Mutex<Vec<(Instant, PoolConnection<Postgres>)>>,
    capacity: usize,
    closed: AtomicBool,
}

impl WarmReads {
    /// How often [`WarmReads::sweep_until_closed`] hands stale connections
    /// back to the pool.
    const SWEEP_EVERY: Duration = Duration::from_millis(250);

    /// Keeps up to a quarter of `pool`'s connections (at least one).
    pub fn for_pool(pool: &PgPool) -> Self {
        Self::with_capacity(pool.options().get_max_connections() as usize / 4)
    }

    /// Keeps up to `capacity` connections (at least one): a replica's pool
    /// serves nothing but queries, so all of it may be kept warm.
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            idle: std::sync::Mutex::new(Vec::with_capacity(capacity)),
            capacity,
            closed: AtomicBool::new(false),
        }
    }

    /// The most recently kept connection, if it was kept recently enough;
    /// stale ones go back to the pool.
    pub(super) fn take(&self) -> Option<PoolConnection<Postgres>> {
        let mut idle = sync::lock(&self.idle);
        let (kept, conn) = idle.pop()?;
        if kept.elapsed() < PING_IF_IDLE_FOR {
            return Some(conn);
        }
        // The rest are older still.
        idle.clear();
        None
    }

    /// Keeps `conn` for the next query, or gives it back to the pool when
    /// full or closed.
    fn put(&self, conn: PoolConnection<Postgres>) {
        let mut idle = sync::lock(&self.idle);
        if idle.len() < self.capacity && !self.closed.load(Ordering::Acquire) {
            idle.push((Instant::now(), conn));
        }
    }

    /// Hands connections kept for too long back to the pool, until
    /// [`WarmReads::close`]: without it, connections kept after the last
    /// query would sit outside the pool for good.
    pub async fn sweep_until_closed(self: Arc<Self>) {
        while !self.closed.load(Ordering::Acquire) {
            tokio::time::sleep(Self::SWEEP_EVERY).await;
            let mut idle = sync::lock(&self.idle);
            let stale = idle.partition_point(|(kept, _)| kept.elapsed() >= PING_IF_IDLE_FOR);
            idle.drain(..stale);
        }
    }

    /// Gives every kept connection back to the pool and keeps none from
    /// now on (before the pool closes, which waits for all of them).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        sync::lock(&self.idle).clear();
    }

    /// Drops every kept connection (those of a server that went away,
    /// which would otherwise be handed out for up to
    /// [`PING_IF_IDLE_FOR`] without a check).
    pub(super) fn clear(&self) {
        sync::lock(&self.idle).clear();
    }

    /// How many connections are kept.
    pub fn len(&self) -> usize {
        sync::lock(&self.idle).len()
    }

    /// Whether no connection is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A query's shared connection, once taken, and whether it is the
/// replica's.
type Slot = Mutex<Option<(PoolConnection<Postgres>, Target)>>;

/// The reads of one operation.
pub struct Reads {
    pool: PgPool,
    /// A query's shared connection; `None` for a mutation.
    shared: Option<Shared>,
}

/// Where a query's shared connection comes from and goes back to.
struct Shared {
    slot: Slot,
    /// The primary's warm connections.
    warm: Arc<WarmReads>,
    /// The read replica, when one is configured.
    replica: Option<Arc<Replica>>,
    metrics: Arc<Metrics>,
}

impl Reads {
    /// Reads that each borrow a pooled connection of the primary (a
    /// mutation's, a subscription's).
    pub fn pooled(pool: &PgPool) -> Self {
        Self {
            pool: pool.clone(),
            shared: None,
        }
    }

    /// Reads that share one connection (a query's): the replica's while it
    /// is usable, else the primary's, taken from a warm set if one is kept
    /// there.
    pub fn shared(db: &Db) -> Self {
        Self {
            pool: db.pool.clone(),
            shared: Some(Shared {
                slot: Mutex::new(None),
                warm: db.warm_reads.clone(),
                replica: db.replica.clone(),
                metrics: db.metrics().clone(),
            }),
        }
    }

    /// Whether the reads share one connection (a query's).
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Runs `read` on a connection: the operation's shared one, or one of
    /// its own for a mutation. Reads of one query take turns on it.
    pub async fn run<T>(
        &self,
        read: impl AsyncFnOnce(&mut PgConnection) -> AppResult<T> + 'static,
    ) -> AppResult<T> {
        let Some(shared) = &self.shared else {
            return read(&mut *self.pool.acquire().await?).await;
        };
        let mut slot = shared.slot.lock().await;
        let (conn, target) = match &mut *slot {
            Some(taken) => taken,
            None => slot.insert(self.take(shared, true).await?),
        };
        let result = read(conn).await;
        if *target != Target::Replica {
            return result;
        }
        match result {
            // The replica went away mid-query: this query fails (safe to
            // retry), the next ones read from the primary.
            Err(AppError::Unavailable(why)) => {
                if let Some(replica) = &shared.replica {
                    replica.mark_unreachable(&why);
                }
                Err(AppError::Unavailable(why))
            }
            // A standby cancels a query whose rows the WAL it replays
            // removes ("conflict with recovery", SQLSTATE 40001 or 40P01):
            // nothing is wrong with the query, and a retry may pass.
            Err(AppError::Database(sqlx::Error::Database(e)))
                if e.code().is_some_and(|code| code.starts_with("40")) =>
            {
                Err(AppError::Unavailable(format!("read replica: {e}")))
            }
            other => other,
        }
    }

    /// Runs `read` on the primary: like [`Reads::run`], except that a query
    /// served by the replica runs it on a primary connection of its own
    /// (borrowed for this read alone, from another pool than the replica
    /// connection the query holds). For rows that must be fresh: the
    /// caller's user row, which the primary creates at first sight and the
    /// replica may not have yet.
    pub async fn run_fresh<T>(
        &self,
        read: impl AsyncFnOnce(&mut PgConnection) -> AppResult<T> + 'static,
    ) -> AppResult<T> {
        let Some(shared) = &self.shared else {
            return self.run(read).await;
        };
        let mut slot = shared.slot.lock().await;
        match &mut *slot {
            // Already on the primary: the shared connection will do (a
            // second one of the same pool could wait on the first).
            Some((conn, Target::Primary)) => read(conn).await,
            Some((_, Target::Replica)) => {
                drop(slot);
                read(&mut *self.pool.acquire().await?).await
            }
            None if shared.replica.as_ref().is_some_and(|r| r.usable()) => {
                // The query's other reads may still take the replica.
                drop(slot);
                read(&mut *self.pool.acquire().await?).await
            }
            None => {
                let (conn, _) = slot.insert(self.take(shared, false).await?);
                read(conn).await
            }
        }
    }

    /// A connection for a query's reads: the replica's while it is usable
    /// (and `replica` allows it) and hands one out, else the primary's.
    async fn take(
        &self,
        shared: &Shared,
        replica: bool,
    ) -> AppResult<(PoolConnection<Postgres>, Target)> {
        let replica = shared.replica.as_ref().filter(|r| replica && r.usable());
        let taken = match replica {
            Some(replica) => match replica.acquire().await {
                Ok(conn) => Some((conn, Target::Replica)),
                // Marked unreachable by `acquire`; the primary answers.
                Err(_) => None,
            },
            None => None,
        };
        let taken = match taken {
            Some(taken) => taken,
            None => match shared.warm.take() {
                Some(conn) => (conn, Target::Primary),
                None => (self.pool.acquire().await?, Target::Primary),
            },
        };
        shared
            .metrics
            .db_query_reads
            .get_or_create(&QueryReads { target: taken.1 })
            .inc();
        Ok(taken)
    }

    /// Ends a query's reads: its connection is kept warm for the next query
    /// if the query went well (`clean`), else it goes back to the pool (as
    /// it does when a query is abandoned before this).
    pub async fn finish(&self, clean: bool) {
        let Some(shared) = &self.shared else {
            return;
        };
        let Some((conn, target)) = shared.slot.lock().await.take() else {
            return;
        };
        match (clean, target, &shared.replica) {
            (true, Target::Replica, Some(replica)) => replica.warm.put(conn),
            (true, Target::Primary, _) => shared.warm.put(conn),
            _ => {}
        }
    }
}
