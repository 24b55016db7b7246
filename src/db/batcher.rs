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
//!
//! A batch whose transaction fails as a whole for a reason other than
//! contention or an outage (a bug, a constraint the checks did not foresee,
//! a panic) is settled again one request at a time, so that one bad request
//! fails alone and never takes the others of its batch with it.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::Db;
use crate::error::{AppError, AppResult};
use crate::metrics::{Metrics, UseCase};
use crate::telemetry::{self, TraceParent};

/// How many requests may wait for a worker before submitters wait too.
const QUEUE_CAPACITY: usize = 8_192;

struct Job<Req, T> {
    request: Req,
    /// The submitter's wait, in its request's trace (when traces are on).
    waiting: Option<TraceParent>,
    /// The result, and the batch that settled it.
    reply: oneshot::Sender<(AppResult<T>, Option<TraceParent>)>,
}

/// A queue in front of one worker that settles requests in batches.
pub struct Batcher<Req, T> {
    name: &'static str,
    queue: mpsc::Sender<Job<Req, T>>,
}

/// The outcome of settling a batch: one result per request, in order, or
/// the failure of the batch as a whole (its transaction).
pub type BatchResult<T> = AppResult<Vec<AppResult<T>>>;

impl<Req: Clone + Send + 'static, T: Send + 'static> Batcher<Req, T> {
    /// Starts the worker. `settle_batch` receives up to `max_batch` requests and
    /// settles them in one transaction; `name` labels its metrics and logs.
    pub fn new<F, Fut>(db: &Db, name: &'static str, max_batch: usize, settle_batch: F) -> Self
    where
        F: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = BatchResult<T>> + Send + 'static,
    {
        let (queue, jobs) = mpsc::channel(QUEUE_CAPACITY);
        let worker = Worker {
            name,
            max_batch: max_batch.max(1),
            settle_batch: Arc::new(settle_batch),
            metrics: db.metrics.clone(),
        };
        tokio::spawn(worker.run(jobs));
        Self { name, queue }
    }

    /// Queues a request and waits for its result.
    ///
    /// Once queued, a request is settled even if the caller stops waiting
    /// (a client that disconnects cannot leave a payment half done, and a
    /// retry of it finds it done).
    ///
    /// In a trace, the wait is a span of the request's, linked to the span
    /// of the batch that settled it; the batch is a child of its first
    /// request's wait, linked to every other wait it served.
    pub async fn submit(&self, request: Req) -> AppResult<T> {
        let waiting = tracing::info_span!(
            "batch.wait",
            otel.name = %format_args!("wait for a {} batch", self.name),
            batcher = self.name,
        );
        let job_waiting = TraceParent::of(&waiting);
        let submitted = async {
            let (reply, answer) = oneshot::channel();
            let lost = || AppError::Internal(format!("the {} worker is gone", self.name));
            self.queue
                .send(Job {
                    request,
                    waiting: job_waiting,
                    reply,
                })
                .await
                .map_err(|_| lost())?;
            let (result, batch) = answer.await.map_err(|_| lost())?;
            if let Some(batch) = batch {
                telemetry::link_to(&tracing::Span::current(), batch);
            }
            result
        };
        submitted.instrument(waiting).await
    }

    /// How many requests wait for the worker (not counting the batch it is
    /// settling).
    pub fn waiting(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }
}

struct Worker<F> {
    name: &'static str,
    max_batch: usize,
    settle_batch: Arc<F>,
    metrics: Arc<Metrics>,
}

impl<F> Worker<F> {
    async fn run<Req, T, Fut>(self, mut jobs: mpsc::Receiver<Job<Req, T>>)
    where
        Req: Clone + Send + 'static,
        T: Send + 'static,
        F: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = BatchResult<T>> + Send + 'static,
    {
        let mut batch = Vec::with_capacity(self.max_batch);
        // Ends when every sender is gone, that is when the app shuts down.
        while jobs.recv_many(&mut batch, self.max_batch).await > 0 {
            // Traced when a request it serves is: in the trace of the
            // first of those, so that a lone request's trace holds its
            // whole write, and linked to the others.
            let waits: Vec<TraceParent> = batch.iter().filter_map(|job| job.waiting).collect();
            let span = match waits.split_first() {
                Some((first, others)) => {
                    let span = tracing::info_span!(
                        target: concat!(module_path!(), "::traced"),
                        "batch",
                        otel.name = %format_args!("{} batch", self.name),
                        batcher = self.name,
                        batch.size = batch.len(),
                    );
                    first.parent_of(&span);
                    for other in others {
                        telemetry::link_to(&span, *other);
                    }
                    span
                }
                None => tracing::Span::none(),
            };
            let settled_by = TraceParent::of(&span);
            let (requests, replies): (Vec<Req>, Vec<_>) =
                batch.drain(..).map(|j| (j.request, j.reply)).unzip();
            let results = self.answer_batch(requests).instrument(span).await;
            for (reply, result) in replies.into_iter().zip(results) {
                // The caller may have stopped waiting; its result stands.
                let _ = reply.send((result, settled_by));
            }
        }
    }

    /// One result per request, whatever happens to the batch.
    async fn answer_batch<Req, T, Fut>(&self, requests: Vec<Req>) -> Vec<AppResult<T>>
    where
        Req: Clone + Send + 'static,
        T: Send + 'static,
        F: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = BatchResult<T>> + Send + 'static,
    {
        let size = requests.len();
        match self.attempt(requests.clone()).await {
            Ok(results) => results,
            // Contention the retries could not settle, or the database away:
            // every request of the batch may safely be retried by its client.
            Err(AppError::Unavailable(why)) => (0..size)
                .map(|_| Err(AppError::Unavailable(why.clone())))
                .collect(),
            Err(err) if size == 1 => vec![Err(err)],
            Err(err) => {
                tracing::warn!(batcher = self.name, size, error = ?err, "a batch failed; settling its requests one by one");
                self.metrics
                    .tx_batch_splits
                    .get_or_create(&UseCase {
                        use_case: self.name,
                    })
                    .inc();
                let mut results = Vec::with_capacity(size);
                for request in requests {
                    // `attempt` checked that there is exactly one result.
                    results.push(match self.attempt(vec![request]).await {
                        Ok(mut one) => one
                            .pop()
                            .unwrap_or_else(|| Err(AppError::Internal("no result".into()))),
                        Err(err) => Err(err),
                    });
                }
                results
            }
        }
    }

    /// Settles requests in a task of their own, so that a panic fails them
    /// (as an internal error) and not the worker; checks that there is one
    /// result per request.
    async fn attempt<Req, T, Fut>(&self, requests: Vec<Req>) -> BatchResult<T>
    where
        Req: Send + 'static,
        T: Send + 'static,
        F: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = BatchResult<T>> + Send + 'static,
    {
        let size = requests.len();
        // The task goes on in the batch's span, so that its transaction
        // spans are the batch's children.
        let results = tokio::spawn((self.settle_batch)(requests).in_current_span())
            .await
            .map_err(|e| AppError::Internal(format!("{} batch panicked: {e}", self.name)))??;
        if results.len() != size {
            return Err(AppError::Internal(format!(
                "{} batch gave {} results for {size} requests",
                self.name,
                results.len()
            )));
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    fn db() -> Db {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://unused")
            .unwrap();
        Db::new(pool, Arc::default())
    }

    #[tokio::test]
    async fn waiting_requests_are_settled_together_in_order() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = Arc::new(Batcher::new(&db(), "test", 10, move |reqs: Vec<u32>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(reqs.len());
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(reqs.into_iter().map(|r| Ok(r * 2)).collect())
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
    async fn a_failing_or_panicking_request_fails_alone() {
        let db = db();
        let metrics = db.metrics.clone();
        let batcher = Arc::new(Batcher::new(&db, "test", 10, |reqs: Vec<u32>| async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            assert!(!reqs.contains(&13), "unlucky");
            if reqs.contains(&7) {
                return Err(AppError::Internal("seven".into()));
            }
            Ok(reqs.into_iter().map(Ok).collect())
        }));
        let tasks: Vec<_> = (0..20u32)
            .map(|i| {
                let b = batcher.clone();
                tokio::spawn(async move { (i, b.submit(i).await) })
            })
            .collect();
        for t in tasks {
            let (i, result) = t.await.unwrap();
            match i {
                7 | 13 => assert!(matches!(result, Err(AppError::Internal(_))), "{i}"),
                _ => assert_eq!(result.unwrap(), i),
            }
        }
        assert!(metrics.counter("tx_batch_splits_total", &[("use_case", "test")]) >= 1);
        assert_eq!(batcher.submit(8).await.unwrap(), 8, "the worker lives on");
    }
}
