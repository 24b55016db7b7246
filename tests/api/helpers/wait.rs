//! Waiting for something to happen without betting on the clock.
//!
//! A test never asserts that something was fast: figures belong to the
//! benchmarks. It waits for a condition ([`wait_until`]) or a future
//! ([`eventually`]) for as long as it takes, and the one hang guard,
//! [`HANG_GUARD`], only turns a wait that would never end (a close that
//! never comes, a message that never arrives) into a failure.

use std::future::Future;
use std::time::Duration;

/// How long a wait may last before the test fails: a guard against waiting
/// forever, not a timing claim. Far longer than anything a test waits for
/// takes on a loaded machine, so that it cannot fail a correct run; and
/// far shorter than any timer a test sets to make a path impossible within
/// it (a poll interval or a backoff of an hour).
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// A timer setting in milliseconds (an hour) that no test lives to see
/// fire, far past [`HANG_GUARD`]: a poll interval, a backoff or a timeout
/// set to it makes its path impossible within the test, so that whatever
/// happens did so for another reason.
pub const NEVER_MS: &str = "3600000";

/// How often [`wait_until`] looks again.
const POLL: Duration = Duration::from_millis(20);

/// Awaits `future`, `what` the test waits for. A hang guard, not a timing
/// claim: the test fails only if `future` has not finished after
/// [`HANG_GUARD`], which means it never would.
pub async fn eventually<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!(
            "hang guard: still waiting for {what} after {HANG_GUARD:?} (it would have waited forever)"
        ),
    }
}

/// Polls `condition` until it holds, under [`eventually`].
pub async fn wait_until(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    eventually(what, async {
        while !condition().await {
            tokio::time::sleep(POLL).await;
        }
    })
    .await;
}
