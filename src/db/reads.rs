//! Where a GraphQL request's reads run.
//!
//! sqlx pings a connection each time it goes back to the pool (a round
//! trip), so reads that borrowed a pooled connection per statement paid two
//! round trips per statement. The reads of a query operation therefore
//! share one connection, taken at its first read and returned when the
//! operation ends: one ping per request (docs/benchmarks.md).
//!
//! A mutation's reads keep borrowing a connection per statement, because
//! its writes take a connection of their own: holding a read connection
//! while waiting for a write connection could let concurrent mutations
//! exhaust the pool and wait on each other.

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use crate::error::{AppError, AppResult};

/// The reads of one operation.
pub struct Reads {
    pool: PgPool,
    /// The shared connection (queries), once taken; `None` for mutations.
    shared: Option<Mutex<Option<PoolConnection<Postgres>>>>,
}

impl Reads {
    /// Reads that each borrow a pooled connection (a mutation's).
    pub fn pooled(pool: &PgPool) -> Self {
        Self {
            pool: pool.clone(),
            shared: None,
        }
    }

    /// Reads that share one connection (a query's).
    pub fn shared(pool: &PgPool) -> Self {
        Self {
            pool: pool.clone(),
            shared: Some(Mutex::new(None)),
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
            *slot = Some(self.pool.acquire().await?);
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
