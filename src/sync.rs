//! The one rule for the in-memory locks of an instance (caches, hints,
//! metrics): a lock is taken even if an earlier holder panicked.
//!
//! Every critical section here is a few map or list operations that leave
//! the data whole between statements, so a panic elsewhere cannot tear it;
//! refusing the lock would only turn one failed request into failures of
//! every later one.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, going on past the panic of an earlier holder.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Read-locks `lock`, going on past the panic of an earlier writer.
pub fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Write-locks `lock`, going on past the panic of an earlier writer.
pub fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
