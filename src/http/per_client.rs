//! How many connections (or sockets) each client holds, so that no one
//! client can take all of an instance's: a count per key (a client address,
//! a user) with a cap, taken by [`PerClient::take`] and given back when its
//! [`Held`] is dropped.
//!
//! The instance-wide caps (`HTTP_MAX_CONNECTIONS`, `WS_MAX_CONNECTIONS`)
//! keep the process within its descriptors; these keep one client within
//! a share of them, so that the instance's cap never becomes an outage for
//! everyone else.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use crate::sync;

/// The counts of one kind of connection, per client, under a cap.
pub struct PerClient<K: Eq + Hash> {
    counts: Arc<Mutex<HashMap<K, usize>>>,
    max: usize,
}

/// One connection counted against its client; uncounted when dropped.
pub struct Held<K: Eq + Hash> {
    counts: Arc<Mutex<HashMap<K, usize>>>,
    key: K,
}

impl<K: Eq + Hash + Clone> PerClient<K> {
    /// At most `max` connections per client.
    pub fn new(max: usize) -> Self {
        Self {
            counts: Arc::new(Mutex::new(HashMap::new())),
            max,
        }
    }

    /// Counts one more connection of `key`, or `None` when it already
    /// holds the most it may.
    pub fn take(&self, key: K) -> Option<Held<K>> {
        let mut counts = sync::lock(&self.counts);
        let count = counts.entry(key.clone()).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Held {
            counts: self.counts.clone(),
            key,
        })
    }

    /// How many clients hold a connection.
    #[cfg(test)]
    fn clients(&self) -> usize {
        sync::lock(&self.counts).len()
    }
}

impl<K: Eq + Hash> Drop for Held<K> {
    fn drop(&mut self) {
        let mut counts = sync::lock(&self.counts);
        if let Some(count) = counts.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            // Forget a client with nothing open, so the map holds only the
            // clients connected now.
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_holds_at_most_its_share_and_gets_it_back() {
        let per_client = PerClient::new(2);
        let a1 = per_client.take("a").expect("first");
        let _a2 = per_client.take("a").expect("second");
        assert!(per_client.take("a").is_none(), "a third of a's");
        let b = per_client.take("b").expect("b has a share of its own");
        drop(a1);
        let _a3 = per_client.take("a").expect("a's freed slot");
        drop(b);
        assert_eq!(per_client.clients(), 1, "b is forgotten");
    }
}
