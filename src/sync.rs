//! The one rule for the in-memory locks of an instance (caches, hints,
//! metrics): a lock is taken even if an earlier holder panicked.
//!
//! Every critical section here is a few map or list operations that leave
//! the data whole between statements, so a panic elsewhere cannot tear it;
//! refusing the lock would only turn one failed request into failures of
//! every later one.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, going on past the panic of an earlier holder.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
