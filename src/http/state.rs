//! What every request handler shares: [`AppState`].

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::db::Db;
use crate::error::AppResult;
use crate::facades::Services;
use crate::graphql::operation::Operations;
use crate::metrics::Metrics;

use super::RateLimiter;
use super::playground::Playground;
use super::storefront::Storefront;
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
    /// The playground page, with the demo tokens; `None` turns the
    /// playground and its files off (production).
    pub(crate) playground: Option<Arc<Playground>>,
    /// The storefront page, with the demo shoppers' tokens; `None` turns
    /// the storefront and its files off (`STOREFRONT`).
    pub(crate) storefront: Option<Arc<Storefront>>,
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

    /// Runs this instance's expiry sweep now, as its timer does every
    /// `ORDER_SWEEP_INTERVAL_MS`; returns how many orders it expired.
    pub async fn sweep_expired_orders(&self) -> AppResult<usize> {
        crate::facades::expiry::sweep(&self.services).await
    }
}
