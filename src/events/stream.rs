//! The NATS connection and the JetStream stream the events go to.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream::StorageType};
use tokio::sync::watch;

use crate::config::Config;
use crate::domain::outbox::EventKind;

/// Connects to NATS without waiting: the client connects, and reconnects,
/// in the background, so an unreachable NATS never stops the server.
///
/// `NATS_URL` may list a cluster's servers; the client picks one and moves
/// to another when it is lost. Reconnection attempts are spaced by at most
/// `NATS_RECONNECT_DELAY_MAX_MS` (the client's own default grows to 4 s,
/// which is how late it could notice a server back after a long outage).
/// `connections`, if given, counts each time the connection is
/// (re-)established, so that a task can wait for the next one.
pub async fn connect(
    config: &Config,
    name: &str,
    connections: Option<watch::Sender<u64>>,
) -> Result<async_nats::Client, async_nats::Error> {
    let servers = servers(config)?;
    let delay_max = config.nats.reconnect_delay_max;
    let client_name = name.to_owned();
    let connections = connections.map(Arc::new);
    let client = async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(config.nats.connect_timeout)
        .reconnect_delay_callback(move |attempts| reconnect_delay(attempts, delay_max))
        .event_callback(move |event| {
            let (connections, client_name) = (connections.clone(), client_name.clone());
            async move {
                match event {
                    async_nats::Event::Connected => {
                        tracing::info!(client = %client_name, "connected to NATS");
                        if let Some(connections) = connections {
                            connections.send_modify(|n| *n += 1);
                        }
                    }
                    async_nats::Event::Disconnected => {
                        tracing::warn!(client = %client_name, "lost the NATS connection; reconnecting");
                    }
                    other => tracing::debug!(client = %client_name, event = %other, "NATS event"),
                }
            }
        })
        .connect(servers)
        .await?;
    Ok(client)
}

/// The servers of `NATS_URL`, parsed.
pub fn servers(config: &Config) -> Result<Vec<async_nats::ServerAddr>, async_nats::Error> {
    let parsed: Result<Vec<async_nats::ServerAddr>, _> =
        config.nats.servers().into_iter().map(str::parse).collect();
    Ok(parsed?)
}

/// The pause before reconnection attempt `attempts`: none before the
/// first, then 10 ms doubling up to `max`.
fn reconnect_delay(attempts: usize, max: Duration) -> Duration {
    if attempts <= 1 {
        return Duration::ZERO;
    }
    let doublings = u32::try_from(attempts - 2).unwrap_or(u32::MAX).min(20);
    Duration::from_millis(10u64 << doublings).min(max)
}

/// The JetStream context of `client`, with the configured ack timeout
/// (`NATS_ACK_TIMEOUT_MS`, also the timeout of JetStream API requests).
pub fn context(client: async_nats::Client, config: &Config) -> jetstream::Context {
    jetstream::ContextBuilder::new()
        .timeout(config.nats.ack_timeout)
        .build(client)
}

/// The subjects the events go to: order-paid, order-refunded, then
/// order-expired.
pub fn subjects(config: &Config) -> Vec<String> {
    vec![
        config.nats.subject.clone(),
        config.nats.refund_subject.clone(),
        config.nats.expired_subject.clone(),
    ]
}

/// The subject of an outbox event of `kind`.
pub fn subject_of(config: &Config, kind: EventKind) -> &str {
    match kind {
        EventKind::OrderPaid => &config.nats.subject,
        EventKind::OrderRefunded => &config.nats.refund_subject,
        EventKind::OrderExpired => &config.nats.expired_subject,
    }
}

/// The stream's configuration: file storage (events survive a NATS
/// restart), the configured subjects and replicas, and the duplicate window
/// within which JetStream drops a message whose `Nats-Msg-Id` it has
/// already stored.
pub fn stream_config(config: &Config) -> jetstream::stream::Config {
    jetstream::stream::Config {
        name: config.nats.stream.clone(),
        subjects: subjects(config),
        storage: StorageType::File,
        num_replicas: config.nats.stream_replicas,
        duplicate_window: config.nats.duplicate_window,
        description: Some(
            "Order-paid, order-refunded and order-expired events (CloudEvents 1.0 JSON), one per payment, refund or expiry."
                .into(),
        ),
        ..Default::default()
    }
}

/// Creates the stream unless it exists. An existing stream is left as its
/// operators configured it, except that a subject the events need and it
/// lacks is added to it: a stream created by a version that published only
/// order-paid events takes the order-refunded subject too, and keeps
/// whatever else it had (other subjects, limits, storage).
pub async fn ensure_stream(
    js: &jetstream::Context,
    config: &Config,
) -> Result<jetstream::stream::Stream, async_nats::Error> {
    let mut stream = js.get_or_create_stream(stream_config(config)).await?;
    let current = stream.info().await?.config.clone();
    let missing: Vec<String> = subjects(config)
        .into_iter()
        .filter(|s| !current.subjects.contains(s))
        .collect();
    if missing.is_empty() {
        return Ok(stream);
    }
    tracing::info!(stream = %current.name, subjects = ?missing, "adding subjects to the stream");
    let mut updated = current;
    updated.subjects.extend(missing);
    js.update_stream(updated).await?;
    Ok(js.get_stream(&config.nats.stream).await?)
}

/// Whether the stream answers with a leader, that is, accepts publishes:
/// one `STREAM.INFO` request. On a cluster, false during a leader election
/// or while a quorum of its replicas is lost.
pub async fn has_leader(js: &jetstream::Context, config: &Config) -> bool {
    match js.get_stream(&config.nats.stream).await {
        // A single server reports no cluster, and is its stream's leader.
        Ok(stream) => stream
            .cached_info()
            .cluster
            .as_ref()
            .is_none_or(|c| c.leader.as_deref().is_some_and(|l| !l.is_empty())),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnection_starts_at_once_and_never_waits_past_the_cap() {
        let max = Duration::from_millis(1000);
        assert_eq!(reconnect_delay(1, max), Duration::ZERO);
        assert_eq!(reconnect_delay(2, max), Duration::from_millis(10));
        assert_eq!(reconnect_delay(3, max), Duration::from_millis(20));
        assert_eq!(reconnect_delay(9, max), max);
        assert_eq!(reconnect_delay(usize::MAX, max), max);
    }
}
