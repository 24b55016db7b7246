//! The outbox relay: a task in every instance that publishes the outbox to
//! JetStream.
//!
//! Each round claims the oldest unpublished events with `FOR UPDATE SKIP
//! LOCKED` in a short READ COMMITTED transaction, publishes them all
//! (pipelined, each with `Nats-Msg-Id` = its event id), awaits JetStream's
//! acks, and only then stamps the acknowledged rows as published and
//! commits. So:
//!
//! - several relays share the backlog and never publish a row concurrently;
//! - a relay that dies between publishing and stamping leaves its rows
//!   unpublished, and the republish (by any relay) is dropped by JetStream's
//!   duplicate window: the stream holds each event once;
//! - READ COMMITTED, not SERIALIZABLE: the relay only touches rows it holds
//!   locked, and taking no predicate locks on the outbox keeps it from
//!   ever failing a payment's SERIALIZABLE transaction.
//!
//! Each event goes to the subject of its type (`NATS_SUBJECT` for
//! order-paid, `NATS_REFUND_SUBJECT` for order-refunded), read from the
//! configuration when it is published.
//!
//! The relay wakes on the `outbox` notification that every payment's (and
//! refund's) commit sends, and also polls. While NATS is unreachable it claims
//! nothing and backs off (capped exponential, with jitter).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, message::PublishMessage};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::stream;
use crate::config::Config;
use crate::db::RetryPolicy;
use crate::domain::outbox;
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;

/// The channel a payment's commit notifies (see migration 0003).
const CHANNEL: &str = "outbox";
/// How often published events past retention are compacted.
const COMPACT_EVERY: Duration = Duration::from_secs(3600);
/// The most events compacted per statement.
const COMPACT_LIMIT: i64 = 10_000;
/// How the relay backs off while NATS or the database is unreachable.
const BACKOFF: RetryPolicy = RetryPolicy {
    max_attempts: u32::MAX,
    base_delay: Duration::from_millis(200),
    max_delay: Duration::from_secs(30),
};
/// The longest one round may take, acks included, before it is abandoned
/// (its transaction rolls back and its rows are claimed again).
const ROUND_TIMEOUT: Duration = Duration::from_secs(30);

/// A running relay: stop it with [`Relay::stop`], which lets it finish the
/// round it is in.
pub struct Relay {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Relay {
    /// Connects to NATS in the background and starts relaying.
    pub async fn start(
        config: Arc<Config>,
        pool: PgPool,
        metrics: Arc<Metrics>,
    ) -> Result<Self, async_nats::Error> {
        let client = stream::connect(&config, "commerce-outbox-relay").await?;
        let worker = Worker {
            js: stream::context(client.clone()),
            client,
            config,
            pool,
            metrics,
        };
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(worker.run(stopped));
        Ok(Self { stop, task })
    }

    /// Asks the relay to stop after its current round, and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the outbox relay panicked");
        }
    }
}

struct Worker {
    client: async_nats::Client,
    js: jetstream::Context,
    config: Arc<Config>,
    pool: PgPool,
    metrics: Arc<Metrics>,
}

impl Worker {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut stream_ready = false;
        let mut listener: Option<PgListener> = None;
        let mut failures = 0u32;
        let mut last_compaction: Option<Instant> = None;
        tracing::info!(
            stream = %self.config.nats_stream,
            subjects = ?stream::subjects(&self.config),
            "outbox relay started"
        );
        while !*stop.borrow() {
            let round = async {
                if !stream_ready {
                    stream::ensure_stream(&self.js, &self.config)
                        .await
                        .map_err(|e| format!("cannot ensure stream: {e}"))?;
                    stream_ready = true;
                }
                self.drain(&stop).await
            };
            let wait = match round.await {
                Ok(()) => {
                    failures = 0;
                    self.config.outbox_poll_interval
                }
                Err(why) => {
                    failures = failures.saturating_add(1);
                    self.metrics.outbox_publish_failures.inc();
                    let delay = BACKOFF.backoff(failures).max(BACKOFF.base_delay);
                    tracing::warn!(error = %why, retry_in = ?delay, "outbox relay round failed");
                    delay
                }
            };
            if last_compaction.is_none_or(|t| t.elapsed() >= COMPACT_EVERY) {
                self.compact().await;
                last_compaction = Some(Instant::now());
            }
            if listener.is_none() {
                listener = self.listen().await;
            }
            // Sleep until a payment commits, the poll interval passes, or
            // the app stops. A failed round waits its backoff whatever wakes.
            let notified = async {
                match listener.as_mut() {
                    Some(l) if failures == 0 => l.recv().await.map(|_| ()),
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(wait) => {}
                woke = notified => {
                    if let Err(e) = woke {
                        tracing::warn!(error = %e, "lost the outbox notifications; polling until they are back");
                        listener = None;
                    }
                }
            }
        }
        tracing::info!("outbox relay stopped");
    }

    /// Publishes rounds until the backlog is empty or the app stops.
    async fn drain(&self, stop: &watch::Receiver<bool>) -> Result<(), String> {
        let batch = i64::from(self.config.outbox_batch_size.max(1));
        while !*stop.borrow() {
            let claimed = tokio::time::timeout(ROUND_TIMEOUT, self.round(batch))
                .await
                .map_err(|_| "a round timed out".to_owned())??;
            if claimed < batch as usize {
                break;
            }
        }
        Ok(())
    }

    /// One round: claim, publish, await the acks, stamp, commit. Returns how
    /// many events it claimed.
    async fn round(&self, batch: i64) -> Result<usize, String> {
        if self.client.connection_state() != async_nats::connection::State::Connected {
            // Claim nothing while NATS is away: the events wait in the
            // outbox, not in the client's buffer.
            return Err("NATS is unreachable".into());
        }
        let db = |e: AppError| format!("database: {e:?}");
        let mut tx = self.pool.begin().await.map_err(|e| db(e.into()))?;
        let events = outbox::claim(&mut tx, batch).await.map_err(db)?;
        if events.is_empty() {
            return Ok(0);
        }
        // Send every event before awaiting any ack: one round trip's wait
        // for the whole batch.
        let claimed = events.len();
        let mut pending = Vec::with_capacity(claimed);
        for event in events {
            let Some(kind) = outbox::EventKind::of(&event.event_type) else {
                // Written by a newer build: left for a relay that knows
                // where it goes, rather than sent to a wrong subject.
                pending.push((
                    event.id,
                    Err(format!("unknown event type {:?}", event.event_type)),
                ));
                continue;
            };
            let subject = stream::subject_of(&self.config, kind).to_owned();
            // The payload moves into the message: no copy of the batch.
            let message = PublishMessage::build()
                .payload(event.payload.into())
                .message_id(event.event_id.to_string());
            let sent = self
                .js
                .send_publish(subject, message)
                .await
                .map_err(|e| e.to_string());
            pending.push((event.id, sent));
        }
        let (mut published, mut failed, mut last_error) = (Vec::new(), Vec::new(), None);
        for (id, sent) in pending {
            let acked = match sent {
                Ok(ack) => ack.await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            match acked {
                Ok(ack) => {
                    if ack.duplicate {
                        // Published before by a relay that could not stamp it.
                        self.metrics.outbox_duplicates.inc();
                    }
                    published.push(id);
                }
                Err(e) => {
                    failed.push(id);
                    last_error = Some(e);
                }
            }
        }
        outbox::mark_published(&mut tx, &published)
            .await
            .map_err(db)?;
        let error = last_error.unwrap_or_default();
        outbox::mark_failed(&mut tx, &failed, &error)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(|e| db(e.into()))?;
        self.metrics.outbox_published.inc_by(published.len() as u64);
        if failed.is_empty() {
            Ok(claimed)
        } else {
            Err(format!("{} events not acknowledged: {error}", failed.len()))
        }
    }

    /// Listens for the notification of each payment's commit.
    async fn listen(&self) -> Option<PgListener> {
        let listen = async {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listen.await {
            Ok(listener) => Some(listener),
            Err(e) => {
                tracing::debug!(error = %e, "cannot listen for outbox notifications yet");
                None
            }
        }
    }

    /// Drops the payloads of events published longer ago than the
    /// retention, a bounded statement at a time.
    async fn compact(&self) {
        let mut total = 0;
        loop {
            let compacted: AppResult<u64> =
                outbox::compact(&self.pool, self.config.outbox_retention, COMPACT_LIMIT).await;
            match compacted {
                Ok(n) => {
                    total += n;
                    if n < COMPACT_LIMIT as u64 {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "cannot compact the outbox");
                    break;
                }
            }
        }
        if total > 0 {
            tracing::info!(events = total, "compacted published outbox events");
        }
    }
}
