//! Where a GraphQL request's reads run.
//!
//! sqlx pings a connection each time it goes back to the pool (a round
//! trip), so reads that borrowed a pooled connection per statement paid two
//! round trips per statement. The reads of a query operation therefore
//! share one connection, taken at its first read and returned when the
//! operation ends: one ping per request (docs/benchmarks.md).
//!
//! That one ping is skipped too when the next query comes soon: a query
//! that succeeded hands its connection to [`WarmReads`] instead of the
//! pool, and the next query takes it from there if it waited less than
//! [`super::PING_IF_IDLE_FOR`] — the same rule the pool applies to its own
//! idle connections. Only connections of queries that finished without an
//! error are kept (their last statements just succeeded, and nothing is left
//! unread on them); a failed or abandoned query's connection goes back to
//! the pool, which pings it.
//!
//! A mutation's reads keep borrowing a connection per statement, because
//! its writes take a connection of their own: holding a read connection
//! while waiting for a write connection could let concurrent mutations
//! exhaust the pool and wait on each other.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use super::PING_IF_IDLE_FOR;
use crate::error::{AppError, AppResult};
use crate::sync;

/// Connections of finished queries, kept for the next query for up to
/// [`PING_IF_IDLE_FOR`] (see the module docs). Holds at most a quarter of
/// the pool, so writes always find most of it.
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
        let capacity = (pool.options().get_max_connections() as usize / 4).max(1);
        Self {
            idle: std::sync::Mutex::new(Vec::with_capacity(capacity)),
            capacity,
            closed: AtomicBool::new(false),
        }
    }

    /// The most recently kept connection, if it was kept recently enough;
    /// stale ones go back to the pool.
    fn take(&self) -> Option<PoolConnection<Postgres>> {
        let mut idle = self.lock();
        let (kept, conn) = idle.pop()?;
        if kept.elapsed() < PING_IF_IDLE_FOR {
            return Some(conn);
        }
        // The rest are older still.
        let stale: Vec<_> = idle.drain(..).collect();
        drop(idle);
        drop((conn, stale));
        None
    }

    /// Keeps `conn` for the next query, or gives it back to the pool when
    /// full or closed.
    fn put(&self, conn: PoolConnection<Postgres>) {
        let mut idle = self.lock();
        if idle.len() < self.capacity && !self.closed.load(Ordering::Acquire) {
            idle.push((Instant::now(), conn));
        }
    }

    /// How many connections are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no connection is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hands connections kept for too long back to the pool, until
    /// [`WarmReads::close`]: without it, connections kept after the last
    /// query would sit outside the pool for good.
    pub async fn sweep_until_closed(self: Arc<Self>) {
        while !self.closed.load(Ordering::Acquire) {
            tokio::time::sleep(Self::SWEEP_EVERY).await;
            let stale: Vec<_> = {
                let mut idle = self.lock();
                let fresh = idle.partition_point(|(kept, _)| kept.elapsed() >= PING_IF_IDLE_FOR);
                idle.drain(..fresh).collect()
            };
            drop(stale);
        }
    }

    /// Gives every kept connection back to the pool and keeps none from
    /// now on (before the pool closes, which waits for all of them).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let all: Vec<_> = self.lock().drain(..).collect();
        drop(all);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Instant, PoolConnection<Postgres>)>> {
        sync::lock(&self.idle)
    }
}

/// The reads of one operation.
pub struct Reads {
    pool: PgPool,
    /// The shared connection (queries), once taken; `None` for mutations.
    shared: Option<Mutex<Option<PoolConnection<Postgres>>>>,
    /// Where a query's connection may come from and go back to.
    warm: Option<Arc<WarmReads>>,
}

impl Reads {
    /// Reads that each borrow a pooled connection (a mutation's).
    pub fn pooled(pool: &PgPool) -> Self {
        Self {
            pool: pool.clone(),
            shared: None,
            warm: None,
        }
    }

    /// Reads that share one connection (a query's), taken from `warm` if
    /// one is kept there.
    pub fn shared(pool: &PgPool, warm: &Arc<WarmReads>) -> Self {
        Self {
            pool: pool.clone(),
            shared: Some(Mutex::new(None)),
            warm: Some(warm.clone()),
        }
    }

    /// Ends a query's reads: its connection is kept warm for the next query
    /// if the query went well (`clean`), else it goes back to the pool. A
    /// query abandoned before this (a timeout) drops its connection, which
    /// goes back to the pool too.
    pub async fn finish(&self, clean: bool) {
        let (Some(slot), Some(warm)) = (&self.shared, &self.warm) else {
            return;
        };
        let conn = slot.lock().await.take();
        if let (true, Some(conn)) = (clean, conn) {
            warm.put(conn);
        }
    }

    /// Whether the reads share one connection (a query's).
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// A connection to read on, until the returned value is dropped. The
    /// caller must not await anything else that reads (a DataLoader) while
    /// it holds a shared connection.
    pub async fn connection(&self) -> AppResult<ReadConnection<'_>> {
        let Some(slot) = &self.shared else {
            return Ok(ReadConnection::Own(self.pool.acquire().await?));
        };
        let mut slot = slot.lock().await;
        if slot.is_none() {
            let warm = self.warm.as_ref().and_then(|w| w.take());
            *slot = Some(match warm {
                Some(conn) => conn,
                None => self.pool.acquire().await?,
            });
        }
        MutexGuard::try_map(slot, Option::as_mut)
            .map(ReadConnection::Shared)
            .map_err(|_| AppError::Internal("the read connection vanished".into()))
    }
}

/// A connection lent for reading.
pub enum ReadConnection<'a> {
    /// The operation's shared connection.
    Shared(MappedMutexGuard<'a, PoolConnection<Postgres>>),
    /// A connection of its own, back to the pool when dropped.
    Own(PoolConnection<Postgres>),
}

impl Deref for ReadConnection<'_> {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match self {
            Self::Shared(conn) => conn,
            Self::Own(conn) => conn,
        }
    }
}

impl DerefMut for ReadConnection<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match self {
            Self::Shared(conn) => conn,
            Self::Own(conn) => conn,
        }
    }
}
