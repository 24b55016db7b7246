//! What every request handler shares: [`AppState`].

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::db::Db;
use crate::facades::Services;
use crate::graphql::operation::Operations;
use crate::metrics::Metrics;

use super::RateLimiter;
use super::websocket::Sockets;

/// Shared by every request handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Runs GraphQL operations on the schema (with [`Services`] in its data).
    pub(crate) operations: Arc<Operations>,
    /// The database, configuration and caches.
    pub(crate) services: Services,
    /// Verifies bearer tokens.
    pub(crate) auth: Arc<Authenticator>,
    /// This instance's metrics.
    pub(crate) metrics: Arc<Metrics>,
    /// The per-caller rate limit; `None` when it is off.
    pub(crate) rate_limiter: Option<Arc<RateLimiter>>,
    /// The Authorization header GraphiQL starts with; `None` turns the
    /// playground off (production).
    pub(crate) playground_authorization: Option<String>,
    /// This instance's GraphQL WebSockets.
    pub(crate) sockets: Arc<Sockets>,
}

impl AppState {
    /// The instance's database (tests reach its pool through it).
    pub fn db(&self) -> &Db {
        &self.services.db
    }

    /// The instance's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}
