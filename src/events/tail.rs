//! `commerce events tail [--all]`: prints the order-paid and order-refunded events as they
//! arrive, one JSON message per line (with `--all`, the stream's whole
//! history first). It reads through an ephemeral ordered consumer, so it
//! leaves nothing behind on the server.

use async_graphql::futures_util::StreamExt;
use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};

use super::stream;
use crate::config::Config;

/// Prints events until interrupted or the connection is lost.
pub async fn run(config: &Config, from_start: bool) -> Result<(), async_nats::Error> {
    let client = async_nats::ConnectOptions::new()
        .name("commerce-events-tail")
        .connect(stream::servers(config)?)
        .await?;
    let js = stream::context(client, config);
    let events = stream::ensure_stream(&js, config).await?;
    let consumer = events
        .create_consumer(OrderedConfig {
            filter_subjects: stream::subjects(config),
            deliver_policy: if from_start {
                DeliverPolicy::All
            } else {
                DeliverPolicy::New
            },
            ..Default::default()
        })
        .await?;
    eprintln!(
        "waiting for events on {} (stream {}); Ctrl-C stops",
        stream::subjects(config).join(", "),
        config.nats.stream
    );
    let mut messages = consumer.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message?;
        println!("{}", String::from_utf8_lossy(&message.payload));
    }
    Ok(())
}
