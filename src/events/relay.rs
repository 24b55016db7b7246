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
//! A claim is the row lock alone (there is no lease column): the rows are
//! released when the round's transaction ends. A round waits for acks until
//! its deadline (`OUTBOX_ROUND_TIMEOUT_MS`) at most, then records the
//! unacknowledged events as failed and commits, which releases them at once
//! for the next round of any relay.
//!
//! The relay wakes on the `outbox` notification that every payment's (and
//! refund's) commit sends, and also polls. After a failed round it backs
//! off (capped exponential with jitter, `OUTBOX_BACKOFF_*`), but a JetStream failure
//! ends the backoff as soon as NATS is back: the client reconnects, or the
//! stream, probed every `OUTBOX_PROBE_MS`, answers with a leader again
//! (after a cluster's leader election or quorum loss).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::{self, message::PublishMessage};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::stream;
use crate::config::Config;
use crate::db::RetryPolicy;
use crate::domain::outbox;
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;
use crate::telemetry::TraceParent;

/// The channel a payment's commit notifies (see migration 0003).
const CHANNEL: &str = "outbox";

/// The NATS header an event's trace context travels in (W3C trace context).
const TRACEPARENT: &str = "traceparent";
/// How often published events past retention are compacted.
const COMPACT_EVERY: Duration = Duration::from_secs(3600);
/// The most events compacted per statement.
const COMPACT_LIMIT: i64 = 10_000;
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
        let (connected, connections) = watch::channel(0);
        let client = stream::connect(&config, "commerce-outbox-relay", Some(connected)).await?;
        let worker = Worker {
            js: stream::context(client.clone(), &config),
            client,
            backoff: RetryPolicy {
                max_attempts: u32::MAX,
                base_delay: config.outbox.backoff_base,
                max_delay: config.outbox.backoff_max,
            },
            connections,
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

/// Why NATS did not take an event (or a round's events).
#[derive(Debug, Clone, PartialEq)]
struct Missed {
    /// What happened, for the log and the outbox row's `last_error`.
    why: String,
    /// Whether NATS or the stream's leader was away (unreachable, no
    /// responders, 503), rather than answering with a refusal or not at
    /// all: then the first probe that finds the stream led again ends the
    /// backoff.
    away: bool,
}

/// Why a round failed, which decides what ends the backoff after it.
#[derive(Debug)]
enum Failure {
    /// NATS or JetStream did not take the events: retried as soon as they
    /// answer again.
    Nats(Missed),
    /// The database failed: retried when the backoff has passed.
    Database(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Nats(missed) => write!(f, "{}", missed.why),
            Self::Database(why) => write!(f, "database: {why}"),
        }
    }
}

struct Worker {
    client: async_nats::Client,
    js: jetstream::Context,
    /// The pause after failed rounds (`OUTBOX_BACKOFF_*_MS`).
    backoff: RetryPolicy,
    /// Counts the NATS connections made, first and re-connections alike.
    connections: watch::Receiver<u64>,
    config: Arc<Config>,
    pool: PgPool,
    metrics: Arc<Metrics>,
}

/// What the relay's loop carries from one pass to the next.
#[derive(Default)]
struct Passes {
    /// The stream was found or created.
    stream_ready: bool,
    /// The payments' notifications, once listened for.
    listener: Option<PgListener>,
    /// Passes failed in a row.
    failures: u32,
    /// When published events were last compacted.
    last_compaction: Option<Instant>,
}

/// How a pass ended: how long to wait, and whether NATS failed (with
/// whether the stream was found without a leader).
struct Next {
    wait: Duration,
    nats_missed: Option<bool>,
}

impl Worker {
    /// Relays until `stop`, in passes: each drains the outbox (in rounds),
    /// does some upkeep, then waits for the next.
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut connections = self.connections.clone();
        let mut state = Passes::default();
        tracing::info!(
            stream = %self.config.nats.stream,
            subjects = ?stream::subjects(&self.config),
            "outbox relay started"
        );
        // The client connects in the background: give it its first attempt
        // before the first round, which would otherwise find it still
        // connecting and fail (a warning at every start).
        let _ = tokio::time::timeout(
            self.config.nats.connect_timeout,
            connections.wait_for(|n| *n > 0),
        )
        .await;
        while !*stop.borrow() {
            // Connections made before this round are no news after it.
            connections.borrow_and_update();
            let next = self.pass(&mut state, &stop).await;
            self.upkeep(&mut state).await;
            self.wait(&mut state, next, &mut connections, &mut stop)
                .await;
        }
        tracing::info!("outbox relay stopped");
    }

    /// One pass: makes sure the stream exists (once), publishes what the
    /// outbox holds, and says how long to wait before the next pass.
    async fn pass(&self, state: &mut Passes, stop: &watch::Receiver<bool>) -> Next {
        let round = async {
            if !state.stream_ready {
                stream::ensure_stream(&self.js, &self.config)
                    .await
                    .map_err(|e| {
                        Failure::Nats(Missed {
                            why: format!("cannot ensure stream: {e}"),
                            away: false,
                        })
                    })?;
                state.stream_ready = true;
            }
            self.drain(stop).await
        };
        match round.await {
            Ok(()) => {
                if state.failures > 0 {
                    tracing::info!(failed_rounds = state.failures, "outbox relay recovered");
                }
                state.failures = 0;
                Next {
                    wait: self.config.outbox.poll_interval,
                    nats_missed: None,
                }
            }
            Err(failure) => {
                state.failures = state.failures.saturating_add(1);
                self.metrics.outbox_publish_failures.inc();
                let delay = self
                    .backoff
                    .backoff(state.failures)
                    .max(self.backoff.base_delay);
                tracing::warn!(error = %failure, retry_in = ?delay, "outbox relay round failed");
                Next {
                    wait: delay,
                    nats_missed: match failure {
                        Failure::Nats(missed) => Some(missed.away),
                        Failure::Database(_) => None,
                    },
                }
            }
        }
    }

    /// Between passes: compacts published events now and then, and listens
    /// for payments' notifications if it does not yet.
    async fn upkeep(&self, state: &mut Passes) {
        if state
            .last_compaction
            .is_none_or(|t| t.elapsed() >= COMPACT_EVERY)
        {
            self.compact().await;
            state.last_compaction = Some(Instant::now());
        }
        if state.listener.is_none() {
            state.listener = self.listen().await;
        }
    }

    /// Sleeps until a payment commits, `next.wait` passes, or the relay
    /// stops. After a failed pass it waits its backoff, unless NATS
    /// failed and comes back first.
    async fn wait(
        &self,
        state: &mut Passes,
        next: Next,
        connections: &mut watch::Receiver<u64>,
        stop: &mut watch::Receiver<bool>,
    ) {
        let failures = state.failures;
        let notified = async {
            match state.listener.as_mut() {
                Some(l) if failures == 0 => l.recv().await.map(|_| ()),
                _ => std::future::pending().await,
            }
        };
        let recovered = async {
            match next.nats_missed {
                Some(away) => self.nats_recovered(connections, away).await,
                None => std::future::pending().await,
            }
        };
        let lost = tokio::select! {
            _ = stop.changed() => None,
            _ = tokio::time::sleep(next.wait) => None,
            woke = notified => woke.err(),
            why = recovered => {
                tracing::info!(after_failed_rounds = failures, "{why}; the outbox relay retries at once");
                None
            }
        };
        if let Some(e) = lost {
            tracing::warn!(error = %e, "lost the outbox notifications; polling until they are back");
            state.listener = None;
        }
    }

    /// Returns once NATS answers again after a JetStream failure: the
    /// connection is re-established since the round began, or a probe
    /// finds the stream with a leader after it was `away` (as the round
    /// found it) or without one (as an earlier probe found it). A stream
    /// that has a leader throughout (a round refused, or unacknowledged,
    /// for another reason) never ends the backoff early, so a persistent
    /// failure cannot turn into a retry every probe.
    async fn nats_recovered(
        &self,
        connections: &mut watch::Receiver<u64>,
        away: bool,
    ) -> &'static str {
        let (mut seen_down, mut watching) = (away, true);
        loop {
            let probe = async {
                tokio::time::sleep(self.config.outbox.probe_interval).await;
                self.client.connection_state() == async_nats::connection::State::Connected
                    && stream::has_leader(&self.js, &self.config).await
            };
            tokio::select! {
                changed = connections.changed(), if watching => {
                    match changed {
                        // The first connection's event may come after the
                        // first rounds; a relay that failed for want of it
                        // sees the connection at its next probe.
                        Ok(()) if *connections.borrow_and_update() > 1 => {
                            return "NATS reconnected";
                        }
                        Ok(()) => {}
                        // The client is gone (never while the relay holds
                        // it): the probes alone tell.
                        Err(_) => watching = false,
                    }
                }
                up = probe => {
                    if up && seen_down {
                        return "the stream has a leader again";
                    }
                    seen_down |= !up;
                }
            }
        }
    }

    /// Publishes rounds until the backlog is empty or the app stops.
    async fn drain(&self, stop: &watch::Receiver<bool>) -> Result<(), Failure> {
        let batch = i64::from(self.config.outbox.batch_size.max(1));
        // A round bounds its wait for JetStream itself; this is the
        // backstop for a database that stops answering mid-round. Dropping
        // the round drops its transaction, which sqlx rolls back as the
        // pool takes the connection back, releasing the rows.
        let stalled = self.config.outbox.round_timeout.saturating_mul(2)
            + self.config.database.statement_timeout;
        while !*stop.borrow() {
            let claimed = tokio::time::timeout(stalled, self.round(batch))
                .await
                .map_err(|_| {
                    Failure::Database(format!(
                        "a round stalled for {stalled:?} and was abandoned (its rows are released)"
                    ))
                })??;
            if claimed < batch as usize {
                break;
            }
        }
        Ok(())
    }

    /// One round: claim, publish, await the acks until the round's deadline,
    /// stamp, commit. Returns how many events it claimed.
    async fn round(&self, batch: i64) -> Result<usize, Failure> {
        if self.client.connection_state() != async_nats::connection::State::Connected {
            // Claim nothing while NATS is away: the events wait in the
            // outbox, not in the client's buffer.
            return Err(Failure::Nats(Missed {
                why: "NATS is unreachable; reconnecting".into(),
                away: true,
            }));
        }
        let db = |e: AppError| Failure::Database(format!("{e:?}"));
        let mut tx = self.pool.begin().await.map_err(|e| db(e.into()))?;
        let events = outbox::claim(&mut tx, batch).await.map_err(db)?;
        if events.is_empty() {
            return Ok(0);
        }
        let claimed = events.len();
        let deadline = tokio::time::Instant::now() + self.config.outbox.round_timeout;
        let acks = self.publish(events, deadline).await;
        let (mut published, mut failed, mut last_error) = (Vec::new(), Vec::new(), None);
        for (id, acked) in acks {
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
        // Committing also releases the unacknowledged rows, at once, for
        // the next round of any relay.
        outbox::mark_published(&mut tx, &published)
            .await
            .map_err(db)?;
        let error = last_error.unwrap_or(Missed {
            why: String::new(),
            away: false,
        });
        outbox::mark_failed(&mut tx, &failed, &error.why)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(|e| db(e.into()))?;
        self.metrics.outbox_published.inc_by(published.len() as u64);
        if failed.is_empty() {
            Ok(claimed)
        } else {
            Err(Failure::Nats(Missed {
                why: format!(
                    "{} of {claimed} events not acknowledged: {}",
                    failed.len(),
                    error.why
                ),
                away: error.away,
            }))
        }
    }

    /// Publishes `events` and awaits their acks until `deadline`: each
    /// event's id with its ack, or why it has none.
    async fn publish(
        &self,
        events: Vec<outbox::PendingEvent>,
        deadline: tokio::time::Instant,
    ) -> Vec<(i64, Result<jetstream::publish::PublishAck, Missed>)> {
        let timeout = self.config.nats.ack_timeout;
        let too_late = || Missed {
            why: format!(
                "the round's deadline ({:?}, OUTBOX_ROUND_TIMEOUT_MS) passed before JetStream \
                 acknowledged; the events are released for the next round",
                self.config.outbox.round_timeout
            ),
            away: false,
        };
        // Send every event before awaiting any ack: one round trip's wait
        // for the whole batch.
        let mut pending = Vec::with_capacity(events.len());
        for event in events {
            let Some(kind) = outbox::EventKind::of(&event.event_type) else {
                // Written by a newer build: left for a relay that knows
                // where it goes, rather than sent to a wrong subject.
                let why = format!("unknown event type {:?}", event.event_type);
                pending.push((event.id, String::new(), Err(why)));
                continue;
            };
            let subject = stream::subject_of(&self.config, kind).to_owned();
            // The payload moves into the message: no copy of the batch.
            let mut message = PublishMessage::build()
                .payload(event.payload.into())
                .message_id(event.event_id.to_string());
            // An event written in a trace is published in it, and carries
            // the trace on (W3C `traceparent` header) to its consumers:
            // from this publish when traces are on here, else as written.
            let written_in = event.traceparent.as_deref().and_then(TraceParent::parse);
            let span = match written_in {
                Some(parent) => {
                    let span = tracing::info_span!(
                        target: concat!(module_path!(), "::traced"),
                        "publish",
                        otel.name = %format_args!("publish {subject}"),
                        otel.kind = "producer",
                        messaging.system = "nats",
                        messaging.destination.name = %subject,
                        messaging.message.id = %event.event_id,
                    );
                    parent.parent_of(&span);
                    span
                }
                None => tracing::Span::none(),
            };
            if let Some(context) = TraceParent::of(&span).or(written_in) {
                message = message.header(TRACEPARENT, context.to_string());
            }
            let sent =
                tokio::time::timeout_at(deadline, self.js.send_publish(subject.clone(), message))
                    .instrument(span)
                    .await;
            pending.push((event.id, subject, Ok(sent)));
        }
        // The acks are awaited one after the other, and each ack future's
        // own timeout only starts when it is awaited: without a shared
        // bound, a batch sent to a dead leader would wait its ack timeout
        // once per event. The whole batch was sent by now, so all its acks
        // are due within one ack timeout from here.
        let acks_due = (tokio::time::Instant::now() + timeout).min(deadline);
        let mut acks = Vec::with_capacity(pending.len());
        for (id, subject, sent) in pending {
            let subject = subject.as_str();
            let acked = match sent {
                Err(why) => Err(Missed { why, away: false }),
                Ok(sent) => match sent {
                    Ok(Ok(ack)) => match tokio::time::timeout_at(acks_due, ack).await {
                        Ok(acked) => acked.map_err(|e| publish_failure(&e, subject, timeout)),
                        Err(_) if acks_due < deadline => Err(publish_failure(
                            &PublishError::new(PublishErrorKind::TimedOut),
                            subject,
                            timeout,
                        )),
                        Err(_) => Err(too_late()),
                    },
                    Ok(Err(e)) => Err(publish_failure(&e, subject, timeout)),
                    Err(_) => Err(too_late()),
                },
            };
            acks.push((id, acked));
        }
        acks
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
                outbox::compact(&self.pool, self.config.outbox.retention, COMPACT_LIMIT).await;
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

/// What a failed publish means, in words an operator can act on, and
/// whether it says that the stream's leader is away.
///
/// async-nats reports a publish that no server took (NATS "no responders")
/// as "no stream found for given subject", although on a cluster it mostly
/// means the stream exists but has no leader for the moment.
fn publish_failure(err: &PublishError, subject: &str, ack_timeout: Duration) -> Missed {
    let api_code = std::error::Error::source(err)
        .and_then(|source| source.downcast_ref::<jetstream::Error>())
        .map(jetstream::Error::code);
    let away = |why: String| Missed { why, away: true };
    match err.kind() {
        PublishErrorKind::StreamNotFound => away(format!(
            "JetStream has no stream leader for subject {subject} (no responders: a leader \
             election or a quorum loss, or no stream takes the subject); will retry"
        )),
        PublishErrorKind::BrokenPipe => {
            away("the NATS connection was lost before JetStream acknowledged; will retry".into())
        }
        _ if api_code == Some(503) => away(format!(
            "JetStream is temporarily unavailable ({err}: a leader election or a quorum loss); \
             will retry"
        )),
        // No answer at all: the leader may still be there, waiting for
        // followers that died; a probe cannot tell, so only a change of
        // leader (or the backoff) ends the wait.
        PublishErrorKind::TimedOut => Missed {
            why: format!(
                "timed out waiting for acks: JetStream did not acknowledge within \
                 {ack_timeout:?} (NATS_ACK_TIMEOUT_MS; the stream lost its leader or a quorum \
                 of its replicas); will retry"
            ),
            away: false,
        },
        _ => Missed {
            why: format!("JetStream refused the publish to {subject}: {err}; will retry"),
            away: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACK: Duration = Duration::from_secs(2);

    fn api_error(json: &str) -> PublishError {
        let error: jetstream::Error = serde_json::from_str(json).unwrap();
        PublishError::with_source(PublishErrorKind::Other, error)
    }

    #[test]
    fn no_responders_reads_as_no_stream_leader_not_as_a_missing_stream() {
        let missed = publish_failure(
            &PublishError::new(PublishErrorKind::StreamNotFound),
            "orders.paid",
            ACK,
        );
        assert!(missed.away);
        let text = missed.why;
        assert!(
            text.starts_with("JetStream has no stream leader for subject orders.paid"),
            "{text}"
        );
        assert!(text.contains("election or a quorum loss"), "{text}");
        assert!(text.ends_with("will retry"), "{text}");
    }

    #[test]
    fn a_missing_ack_reads_as_a_timeout_with_its_setting() {
        let missed = publish_failure(
            &PublishError::new(PublishErrorKind::TimedOut),
            "orders.paid",
            ACK,
        );
        assert!(!missed.away, "a silent leader is not known to be away");
        let text = missed.why;
        assert!(text.starts_with("timed out waiting for acks"), "{text}");
        assert!(text.contains("2s (NATS_ACK_TIMEOUT_MS"), "{text}");
    }

    #[test]
    fn a_lost_connection_and_a_503_say_so() {
        let missed = publish_failure(
            &PublishError::new(PublishErrorKind::BrokenPipe),
            "orders.paid",
            ACK,
        );
        assert!(missed.away);
        let text = missed.why;
        assert!(text.contains("NATS connection was lost"), "{text}");
        let unavailable = api_error(
            r#"{"code":503,"err_code":10008,"description":"JetStream system temporarily unavailable"}"#,
        );
        let missed = publish_failure(&unavailable, "orders.paid", ACK);
        assert!(missed.away);
        let text = missed.why;
        assert!(
            text.starts_with("JetStream is temporarily unavailable"),
            "{text}"
        );
        assert!(text.contains("quorum loss"), "{text}");
    }

    #[test]
    fn any_other_refusal_keeps_the_servers_words() {
        let refused =
            api_error(r#"{"code":400,"err_code":10054,"description":"maximum messages exceeded"}"#);
        let missed = publish_failure(&refused, "orders.paid", ACK);
        assert!(!missed.away, "a refusal is retried at the backoff's pace");
        let text = missed.why;
        assert!(
            text.starts_with("JetStream refused the publish to orders.paid"),
            "{text}"
        );
        assert!(text.contains("maximum messages exceeded"), "{text}");
    }
}
