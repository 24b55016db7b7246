//! Natural batching of writes that contend for the same rows.
//!
//! Many requests updating one hot row (a best-selling product's stock, a
//! coupon campaign's counter) cannot run side by side: SERIALIZABLE lets one
//! of them commit and aborts the rest. Queueing them one transaction at a
//! time (see [`super::RowLocks`]) avoids the aborts but pays a whole
//! transaction per request. A [`Batcher`] instead hands whatever requests
//! are waiting to one worker, which settles them together in one
//! transaction, so the cost of a transaction is shared by the batch.
//!
//! Batches form by themselves: an idle worker takes the first request at
//! once (no added latency), and the requests that arrive while it works make
//! up the next batch. Correctness never depends on the batcher; it decides
//! nothing, the batch's transaction does.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::error::{AppError, AppResult};

/// How many requests may wait for a worker before submitters wait too.
const QUEUE_CAPACITY: usize = 8_192;

struct Job<Req, T> {
    request: Req,
    reply: oneshot::Sender<AppResult<T>>,
}

/// A queue in front of one worker that settles requests in batches.
pub struct Batcher<Req, T> {
    name: &'static str,
    queue: mpsc::Sender<Job<Req, T>>,
}

impl<Req: Send + 'static, T: Send + 'static> Batcher<Req, T> {
    /// Starts the worker. `settle` receives up to `max_batch` requests and
    /// must return one result per request, in the same order.
    pub fn new<F, Fut>(name: &'static str, max_batch: usize, settle: F) -> Self
    where
        F: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<AppResult<T>>> + Send + 'static,
    {
        let (queue, jobs) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(work(name, jobs, max_batch.max(1), Arc::new(settle)));
        Self { name, queue }
    }

    /// Queues a request and waits for its result.
    ///
    /// Once queued, a request is settled even if the caller stops waiting
    /// (a client that disconnects cannot leave a payment half done, and a
    /// retry of it finds it done).
    pub async fn submit(&self, request: Req) -> AppResult<T> {
        let (reply, answer) = oneshot::channel();
        let lost = || AppError::Internal(format!("the {} worker is gone", self.name));
        self.queue
            .send(Job { request, reply })
            .await
            .map_err(|_| lost())?;
        answer.await.map_err(|_| lost())?
    }
}

async fn work<Req, T, F, Fut>(
    name: &'static str,
    mut jobs: mpsc::Receiver<Job<Req, T>>,
    max_batch: usize,
    settle: Arc<F>,
) where
    Req: Send + 'static,
    T: Send + 'static,
    F: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<AppResult<T>>> + Send + 'static,
{
    let mut batch = Vec::with_capacity(max_batch);
    // Ends when every sender is gone, that is when the app shuts down.
    while jobs.recv_many(&mut batch, max_batch).await > 0 {
        let (requests, replies): (Vec<Req>, Vec<_>) =
            batch.drain(..).map(|j| (j.request, j.reply)).unzip();
        let expected = requests.len();
        // In a task of its own, so that a panic fails this batch (its
        // callers get an internal error) and not the worker.
        match tokio::spawn(settle(requests)).await {
            Ok(results) if results.len() == expected => {
                for (reply, result) in replies.into_iter().zip(results) {
                    // The caller may have stopped waiting; its result stands.
                    let _ = reply.send(result);
                }
            }
            Ok(results) => tracing::error!(
                batcher = name,
                expected,
                got = results.len(),
                "a batch returned the wrong number of results"
            ),
            Err(e) => tracing::error!(batcher = name, error = %e, "a batch panicked"),
        }
        // Replies not sent are dropped here, failing their submitters.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    #[tokio::test]
    async fn waiting_requests_are_settled_together_in_order() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = Arc::new(Batcher::new("test", 10, move |reqs: Vec<u32>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(reqs.len());
                tokio::time::sleep(Duration::from_millis(20)).await;
                reqs.into_iter().map(|r| Ok(r * 2)).collect()
            }
        }));
        let mut tasks = Vec::new();
        for i in 0..25u32 {
            let b = batcher.clone();
            tasks.push(tokio::spawn(async move { (i, b.submit(i).await) }));
        }
        for t in tasks {
            let (i, result) = t.await.unwrap();
            assert_eq!(result.unwrap(), i * 2, "each caller gets its own result");
        }
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 25);
        assert!(sizes.iter().all(|s| *s <= 10), "{sizes:?}");
        assert!(sizes.len() < 25, "requests were batched: {sizes:?}");
    }

    #[tokio::test]
    async fn a_panicking_batch_fails_its_callers_but_not_the_worker() {
        let batcher = Batcher::new("test", 10, |reqs: Vec<u32>| async move {
            assert!(!reqs.contains(&13), "unlucky");
            reqs.into_iter().map(Ok).collect()
        });
        assert!(matches!(
            batcher.submit(13).await,
            Err(AppError::Internal(_))
        ));
        assert_eq!(batcher.submit(7).await.unwrap(), 7);
    }
}
