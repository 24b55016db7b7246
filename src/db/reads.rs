//! Where a GraphQL request's reads run.
//!
//! sqlx pings a connection each time it goes back to the pool (a round
//! trip), so reads that borrowed a pooled connection per statement paid two
//! round trips per statement. The reads of a query operation therefore
//! share one connection, taken at its first read and given back when the
//! operation ends.
//!
//! A mutation's reads borrow a connection per statement, because its writes
//! take a connection of their own: holding a read connection while waiting
//! for a write connection could let concurrent mutations exhaust the pool
//! and wait on each other.
//!
//! A read runs inside [`Reads::run`], whose closure is `'static`: it cannot
//! borrow the request, so it cannot await a DataLoader (which reads on the
//! same shared connection) while it holds that connection, which would wait
//! on itself forever.

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use tokio::sync::Mutex;

use crate::error::AppResult;

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

    /// Reads that share one connection (a query's), back to the pool when
    /// the operation's `Reads` is dropped.
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

    /// Runs `read` on a connection: the operation's shared one, or one of
    /// its own for a mutation. Reads of one query take turns on it.
    pub async fn run<T>(
        &self,
        read: impl AsyncFnOnce(&mut PgConnection) -> AppResult<T> + 'static,
    ) -> AppResult<T> {
        let Some(slot) = &self.shared else {
            return read(&mut *self.pool.acquire().await?).await;
        };
        let mut slot = slot.lock().await;
        let conn = match &mut *slot {
            Some(conn) => conn,
            None => slot.insert(self.pool.acquire().await?),
        };
        read(conn).await
    }
}
