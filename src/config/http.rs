//! `HTTP_*` and `SHUTDOWN_GRACE_MS`: what one connection may hold of an
//! instance (docs/operations.md §8).

use std::time::Duration;

use super::parse::{ConfigError, Env};

/// The limits of HTTP connections.
#[derive(Debug, Clone, PartialEq)]
pub struct Http {
    /// `HTTP_MAX_CONNECTIONS`: open connections per instance; one more is
    /// closed as soon as it is accepted.
    pub max_connections: usize,
    /// `HTTP_MAX_CONNECTIONS_PER_CLIENT`: open connections per client
    /// address; one more from that address is closed as soon as it is
    /// accepted, so that one client cannot hold the instance's all.
    pub max_connections_per_client: usize,
    /// `HTTP_HEADER_TIMEOUT_MS`: how long a connection may take to send a
    /// request's headers, counted from its first moment (a connection that
    /// sends nothing is closed then) and, on a kept-alive connection, from
    /// the end of the previous response (so also how long one may sit
    /// idle).
    pub header_timeout: Duration,
    /// `HTTP_BODY_TIMEOUT_MS`: how long a request's body may take to
    /// arrive, in all.
    pub body_timeout: Duration,
    /// `HTTP_WRITE_TIMEOUT_MS`: how long a write to a client may stall (a
    /// client that does not read its response) before the connection is
    /// closed.
    pub write_timeout: Duration,
    /// `HTTP_MAX_BODY_BYTES`: the largest request body (413 beyond).
    pub max_body_bytes: usize,
    /// `SHUTDOWN_GRACE_MS`: how long a graceful shutdown waits for open
    /// connections before closing them.
    pub shutdown_grace: Duration,
}

impl Http {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            max_connections: env.positive("HTTP_MAX_CONNECTIONS", "1024")?,
            max_connections_per_client: env.positive("HTTP_MAX_CONNECTIONS_PER_CLIENT", "128")?,
            header_timeout: env.millis("HTTP_HEADER_TIMEOUT_MS", "10000")?,
            body_timeout: env.millis("HTTP_BODY_TIMEOUT_MS", "10000")?,
            write_timeout: env.millis("HTTP_WRITE_TIMEOUT_MS", "30000")?,
            max_body_bytes: env.positive("HTTP_MAX_BODY_BYTES", "65536")?,
            shutdown_grace: env.millis("SHUTDOWN_GRACE_MS", "15000")?,
        })
    }
}
