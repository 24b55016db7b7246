//! `WS_*`: what one WebSocket, or one caller's sockets, may hold of an
//! instance (docs/operations.md §8).

use std::time::Duration;

use super::parse::{ConfigError, Env};

/// The limits of GraphQL WebSockets.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSocket {
    /// `WS_MAX_CONNECTIONS`: open WebSockets per instance; one more is
    /// refused with 503.
    pub max_connections: usize,
    /// `WS_MAX_CONNECTIONS_PER_CLIENT`: open WebSockets per client address
    /// (429 beyond, before the upgrade).
    pub max_connections_per_client: usize,
    /// `WS_MAX_CONNECTIONS_PER_USER`: open WebSockets per user (a socket
    /// past it is closed with 1008 at its `connection_init`).
    pub max_connections_per_user: usize,
    /// `WS_MAX_SUBSCRIPTIONS`: operations running at once on one socket.
    pub max_subscriptions: usize,
    /// `WS_MAX_MESSAGE_BYTES`: the largest message a client may send.
    pub max_message_bytes: usize,
    /// `WS_INIT_TIMEOUT_MS`: how long a socket may wait before sending
    /// `connection_init` (closed with 4408 after).
    pub init_timeout: Duration,
    /// `WS_KEEPALIVE_MS`: how often an idle socket is pinged; one that
    /// answers nothing for two of these is closed.
    pub keepalive: Duration,
    /// `WS_WRITE_TIMEOUT_MS`: how long a socket's writes may stall (a client
    /// that does not read) before the socket is closed.
    pub write_timeout: Duration,
    /// `WS_SEND_QUEUE`: the messages a socket holds for its client before
    /// its operations wait for room (each has run and let go of the
    /// database by then).
    pub send_queue: usize,
}

impl WebSocket {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            max_connections: env.positive("WS_MAX_CONNECTIONS", "10000")?,
            max_connections_per_client: env.positive("WS_MAX_CONNECTIONS_PER_CLIENT", "1000")?,
            max_connections_per_user: env.positive("WS_MAX_CONNECTIONS_PER_USER", "20")?,
            max_subscriptions: env.positive("WS_MAX_SUBSCRIPTIONS", "100")?,
            max_message_bytes: env.positive("WS_MAX_MESSAGE_BYTES", "65536")?,
            init_timeout: env.millis("WS_INIT_TIMEOUT_MS", "10000")?,
            keepalive: env.positive_millis("WS_KEEPALIVE_MS", "30000")?,
            write_timeout: env.millis("WS_WRITE_TIMEOUT_MS", "10000")?,
            send_queue: env.positive("WS_SEND_QUEUE", "16")?,
        })
    }
}
