//! In-process queues for hot rows.
//!
//! When many requests update one row at once (one product's stock, one
//! coupon's counter, one user's balance), SERIALIZABLE lets one transaction
//! win and aborts the rest, which then retry and collide again: a storm of
//! retries that wastes connections and time. Taking a per-row async lock
//! *before* the transaction starts makes the requests of one instance line
//! up instead, so inside an instance they never conflict. Across instances
//! the database still decides (the retry helper handles the rare conflict),
//! so correctness never depends on these locks; they only buy throughput.
//!
//! The locks are striped: a key hashes to one of a fixed number of mutexes,
//! so memory stays bounded whatever the number of rows. A unit of work that
//! needs several rows takes their stripes in ascending order, so two of them
//! can never wait on each other.

use std::hash::{BuildHasher, Hash};

use tokio::sync::{Mutex, MutexGuard};

/// How many stripes: enough that unrelated rows rarely share one.
const STRIPES: usize = 1024;

/// A row that may be hot: its table and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RowKey {
    /// The table, e.g. `"products"`.
    pub table: &'static str,
    /// The row's id.
    pub id: i64,
}

impl RowKey {
    /// The key of row `id` of `table`.
    pub const fn new(table: &'static str, id: i64) -> Self {
        Self { table, id }
    }
}

/// The striped locks of one app instance.
pub struct RowLocks {
    stripes: Vec<Mutex<()>>,
    hasher: std::collections::hash_map::RandomState,
}

impl Default for RowLocks {
    fn default() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: Default::default(),
        }
    }
}

/// Held stripes; dropping it lets the next request of these rows go.
pub struct RowGuards<'a>(#[allow(dead_code)] Vec<MutexGuard<'a, ()>>);

impl RowLocks {
    fn stripe(&self, key: &RowKey) -> usize {
        (self.hasher.hash_one(key) % STRIPES as u64) as usize
    }

    /// Waits for the stripes of every key, in ascending order.
    pub async fn lock(&self, keys: &[RowKey]) -> RowGuards<'_> {
        let mut stripes: Vec<usize> = keys.iter().map(|k| self.stripe(k)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        let mut guards = Vec::with_capacity(stripes.len());
        for s in stripes {
            guards.push(self.stripes[s].lock().await);
        }
        RowGuards(guards)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn one_row_is_worked_on_by_one_task_at_a_time() {
        let locks = Arc::new(RowLocks::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (locks, inside) = (locks.clone(), inside.clone());
            tasks.push(tokio::spawn(async move {
                // Overlapping key sets in different orders: no deadlock.
                let keys = if i % 2 == 0 {
                    [RowKey::new("products", 1), RowKey::new("users", 7)]
                } else {
                    [RowKey::new("users", 7), RowKey::new("products", 1)]
                };
                let _g = locks.lock(&keys).await;
                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
}
