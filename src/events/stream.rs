//! The NATS connection and the JetStream stream the events go to.

use std::time::Duration;

use async_nats::jetstream::{self, stream::StorageType};

use crate::config::Config;

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

/// The stream's configuration: file storage (events survive a NATS
/// restart), the configured subject, and the duplicate window within which
/// JetStream drops a message whose `Nats-Msg-Id` it has already stored.
pub fn stream_config(config: &Config) -> jetstream::stream::Config {
    jetstream::stream::Config {
        name: config.nats_stream.clone(),
        subjects: vec![config.nats_subject.clone()],
        storage: StorageType::File,
        duplicate_window: config.nats_duplicate_window,
        description: Some("Order-paid events (CloudEvents 1.0 JSON), one per payment.".into()),
        ..Default::default()
    }
}

/// Creates the stream unless it exists. An existing stream is left as its
/// operators configured it.
pub async fn ensure_stream(
    js: &jetstream::Context,
    config: &Config,
) -> Result<jetstream::stream::Stream, async_nats::Error> {
    Ok(js.get_or_create_stream(stream_config(config)).await?)
}
