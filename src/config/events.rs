//! `NATS_*` and `OUTBOX_*`: where events go, and how the outbox relay
//! publishes them and comes back after failures.

use std::time::Duration;

use super::parse::{ConfigError, Env};

/// The NATS server (or cluster) and the JetStream stream of the events.
#[derive(Debug, Clone, PartialEq)]
pub struct Nats {
    /// `NATS_URL`: the NATS server the event relay publishes to, or a
    /// comma-separated list of a cluster's servers (see [`Nats::servers`]).
    pub url: String,
    /// `NATS_CONNECT_TIMEOUT_MS`: how long one attempt to connect to a NATS
    /// server may take.
    pub connect_timeout: Duration,
    /// `NATS_RECONNECT_DELAY_MAX_MS`: the longest pause between two
    /// attempts to reconnect to NATS, so that a server back after a long
    /// outage is found again within about this long.
    pub reconnect_delay_max: Duration,
    /// `NATS_ACK_TIMEOUT_MS`: how long the relay waits for JetStream to
    /// acknowledge one publish (and for a JetStream API answer).
    pub ack_timeout: Duration,
    /// `NATS_STREAM_REPLICAS`: the replicas of a stream the server creates
    /// (3 on a JetStream cluster; 1 on a single server).
    pub stream_replicas: usize,
    /// `NATS_STREAM`: the JetStream stream that holds the events (created
    /// at startup if missing).
    pub stream: String,
    /// `NATS_SUBJECT`: the subject order-paid events are published on.
    pub subject: String,
    /// `NATS_REFUND_SUBJECT`: the subject order-refunded events are
    /// published on (the same stream takes every kind).
    pub refund_subject: String,
    /// `NATS_EXPIRED_SUBJECT`: the subject order-expired events are
    /// published on.
    pub expired_subject: String,
    /// `NATS_DUPLICATE_WINDOW_SECS`: how long JetStream remembers an event
    /// id, dropping a republished duplicate (for a stream it creates).
    pub duplicate_window: Duration,
}

impl Nats {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let stream_replicas = env.parse::<usize>("NATS_STREAM_REPLICAS", "1")?;
        if !(1..=5).contains(&stream_replicas) {
            // JetStream's own bounds.
            return Err(ConfigError::of(
                "NATS_STREAM_REPLICAS",
                format!("must be 1 to 5, not {stream_replicas}"),
            ));
        }
        Ok(Self {
            url: env.text("NATS_URL", "nats://127.0.0.1:4222"),
            connect_timeout: env.positive_millis("NATS_CONNECT_TIMEOUT_MS", "2000")?,
            reconnect_delay_max: env.millis("NATS_RECONNECT_DELAY_MAX_MS", "1000")?,
            ack_timeout: env.positive_millis("NATS_ACK_TIMEOUT_MS", "2000")?,
            stream_replicas,
            stream: env.text("NATS_STREAM", "ORDERS"),
            subject: env.text("NATS_SUBJECT", "orders.paid"),
            refund_subject: env.text("NATS_REFUND_SUBJECT", "orders.refunded"),
            expired_subject: env.text("NATS_EXPIRED_SUBJECT", "orders.expired"),
            duplicate_window: env.secs("NATS_DUPLICATE_WINDOW_SECS", "600")?,
        })
    }

    /// The NATS servers of `NATS_URL`: one URL, or a cluster's servers
    /// separated by commas (the client tries them in turn and also learns
    /// the cluster's other members from the server).
    pub fn servers(&self) -> Vec<&str> {
        self.url
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .collect()
    }
}

/// The transactional outbox's relay to NATS.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbox {
    /// `OUTBOX_RELAY`: whether this instance relays the outbox to NATS.
    pub relay: bool,
    /// `OUTBOX_POLL_MS`: how often the relay looks for events when no
    /// notification wakes it.
    pub poll_interval: Duration,
    /// `OUTBOX_BATCH_SIZE`: the most events the relay claims at once.
    pub batch_size: u32,
    /// `OUTBOX_RETENTION_HOURS`: how long a published event keeps its
    /// payload.
    pub retention: Duration,
    /// `OUTBOX_ROUND_TIMEOUT_MS`: the longest one relay round may wait for
    /// JetStream; events still unacknowledged then are released at once.
    pub round_timeout: Duration,
    /// `OUTBOX_BACKOFF_BASE_MS`: the relay's first pause after a failed
    /// round; it doubles per failure (with jitter).
    pub backoff_base: Duration,
    /// `OUTBOX_BACKOFF_MAX_MS`: the relay's longest pause after failures.
    pub backoff_max: Duration,
    /// `OUTBOX_PROBE_MS`: while backing off from a JetStream failure, how
    /// often the relay asks whether the stream answers again (and then
    /// retries at once rather than sleeping out its backoff).
    pub probe_interval: Duration,
}

impl Outbox {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let backoff_base = env.millis("OUTBOX_BACKOFF_BASE_MS", "200")?;
        let backoff_max = env.millis("OUTBOX_BACKOFF_MAX_MS", "5000")?;
        if backoff_base.is_zero() || backoff_base > backoff_max {
            return Err(ConfigError(format!(
                "OUTBOX_BACKOFF_BASE_MS must be at least 1 and at most OUTBOX_BACKOFF_MAX_MS, \
                 not {} and {}",
                backoff_base.as_millis(),
                backoff_max.as_millis()
            )));
        }
        Ok(Self {
            relay: env.parse("OUTBOX_RELAY", "true")?,
            poll_interval: env.millis("OUTBOX_POLL_MS", "1000")?,
            batch_size: env.parse("OUTBOX_BATCH_SIZE", "200")?,
            retention: Duration::from_secs(
                3600_u64.saturating_mul(env.parse("OUTBOX_RETENTION_HOURS", "168")?),
            ),
            round_timeout: env.positive_millis("OUTBOX_ROUND_TIMEOUT_MS", "5000")?,
            backoff_base,
            backoff_max,
            probe_interval: env.positive_millis("OUTBOX_PROBE_MS", "250")?,
        })
    }
}
