//! The NATS connection and the JetStream stream the events go to.

use std::time::Duration;

use async_nats::jetstream::{self, stream::StorageType};

use crate::config::Config;
use crate::domain::outbox::EventKind;

/// How long the relay waits for JetStream to acknowledge a publish.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to NATS without waiting: the client connects, and reconnects,
/// in the background, so an unreachable NATS never stops the server.
pub async fn connect(config: &Config, name: &str) -> Result<async_nats::Client, async_nats::Error> {
    let client = async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(2))
        .connect(config.nats_url.as_str())
        .await?;
    Ok(client)
}

/// The JetStream context of `client`, with the relay's ack timeout.
pub fn context(client: async_nats::Client) -> jetstream::Context {
    jetstream::ContextBuilder::new()
        .timeout(ACK_TIMEOUT)
        .build(client)
}

/// The subjects the events go to: order-paid, then order-refunded.
pub fn subjects(config: &Config) -> Vec<String> {
    vec![
        config.nats_subject.clone(),
        config.nats_refund_subject.clone(),
    ]
}

/// The subject of an outbox event of `kind`.
pub fn subject_of(config: &Config, kind: EventKind) -> &str {
    match kind {
        EventKind::OrderPaid => &config.nats_subject,
        EventKind::OrderRefunded => &config.nats_refund_subject,
    }
}

/// The stream's configuration: file storage (events survive a NATS
/// restart), the configured subjects, and the duplicate window within which
/// JetStream drops a message whose `Nats-Msg-Id` it has already stored.
pub fn stream_config(config: &Config) -> jetstream::stream::Config {
    jetstream::stream::Config {
        name: config.nats_stream.clone(),
        subjects: subjects(config),
        storage: StorageType::File,
        duplicate_window: config.nats_duplicate_window,
        description: Some(
            "Order-paid and order-refunded events (CloudEvents 1.0 JSON), one per payment or refund."
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
    Ok(js.get_stream(&config.nats_stream).await?)
}
