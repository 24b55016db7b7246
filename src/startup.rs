//! Wiring: from a [`Config`] to a listening server, and its graceful shutdown.
//!
//! [`Application::build`] creates the database if it is missing, runs the
//! migrations, seeds the demo data into an empty catalog, and binds the
//! listener (port 0 picks a free port, which the tests use).
//! [`Application::run_until`] starts the outbox relay and the order sweep
//! and serves until the shutdown future resolves; then it stops accepting,
//! lets in-flight requests finish, lets the sweep and the relay finish
//! their rounds, and closes the pool.

use std::future::Future;
use std::sync::Arc;

use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::db::{self, Db, Replica};
use crate::events::{Changes, Relay};
use crate::facades::expiry::Sweeper;
use crate::facades::{Services, demo};
use crate::graphql;
use crate::graphql::gate::{Gate, Persisted};
use crate::graphql::operation::Operations;
use crate::http::{self, Playground, RateLimiter, Shopper, Sockets, Storefront};

pub use crate::http::AppState;
use crate::metrics::Metrics;

/// A boxed startup error: startup failures are reported and end the process.
pub type StartupError = Box<dyn std::error::Error + Send + Sync>;

/// How long the tokens printed in development stay valid (30 days).
pub const DEMO_TOKEN_TTL_SECS: u64 = 30 * 24 * 3600;

/// A built server, bound to its port but not yet serving.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// Turned true when shutdown begins: every socket then closes.
    closing: watch::Sender<bool>,
}

impl Application {
    /// Prepares the database and binds the listener.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        if config.uses_default_secret() {
            tracing::warn!(
                "JWT_SECRET is the published development default: anyone can sign tokens for \
                 this server, admin ones included. Set JWT_SECRET before it serves anyone but you."
            );
        }
        // First: a trusted documents manifest that cannot be used stops the
        // server before it touches anything.
        let persisted = Persisted::new(&config.persisted)?;
        db::ensure_database(&config.database.url).await?;
        db::migrate(&config.database.url).await?;
        let pool = db::connect(&config)?;
        db::open_min_connections(&pool);
        let replica = Replica::connect(&config)?;
        if let Some(replica) = &replica {
            db::open_min_connections(&replica.pool);
            tracing::info!("queries read from the replica of DATABASE_READ_URL");
        }

        let listener = TcpListener::bind(config.listen_addr).await?;
        let base_url = config.base_url(listener.local_addr()?);
        let metrics = Arc::new(Metrics::default());
        let config = Arc::new(config);
        let changes = Arc::new(Changes::start(&config, pool.clone()).await);
        let services = Services::new(
            Db::new(pool, metrics.clone()).with_replica(replica),
            config.clone(),
            base_url,
            changes,
        );
        if config.seed_demo_data
            && demo::seed_if_empty(&services)
                .await
                .map_err(|e| format!("seeding: {e:?}"))?
        {
            tracing::info!("seeded the demo catalog into an empty database");
        }

        let auth = Arc::new(Authenticator::new(config.jwt_secret.expose_secret()));
        let issue = |sub: &str, admin: bool| {
            auth.issue(sub, admin, DEMO_TOKEN_TTL_SECS)
                .map(|token| format!("Bearer {token}"))
                .map_err(|e| format!("{e:?}"))
        };
        // The playground opens with a tab for each demo token (the same
        // ones `serve` prints).
        let playground = if config.is_development() {
            let user = issue("demo-user", false)?;
            let admin = issue("demo-admin", true)?;
            Some(Arc::new(Playground::new(&user, &admin)?))
        } else {
            None
        };
        // The storefront acts as the demo shoppers in development only; a
        // production storefront (asked for with STOREFRONT) browses
        // anonymously, since anyone could act as a shopper whose token is in
        // the page.
        if !config.storefront.serve && config.storefront.order_form_url.is_none() {
            tracing::warn!(
                "Order.paymentUrl and Location point at this server's /shop/orders/, which it does \
                 not serve (STOREFRONT=false): set ORDER_FORM_URL to the shop's order page"
            );
        }
        let storefront = if config.storefront.serve {
            let shoppers = if config.is_development() {
                demo::SHOPPERS
                    .iter()
                    .map(|(name, subject)| {
                        Ok(Shopper {
                            name: (*name).to_owned(),
                            subject: (*subject).to_owned(),
                            authorization: issue(subject, false)?,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?
            } else {
                Vec::new()
            };
            Some(Arc::new(Storefront::new(&shoppers)?))
        } else {
            None
        };
        let public = !config.is_development();
        let schema = graphql::build_schema(Some(services.clone()), public, &config.query);
        let gate = Gate::new(&schema.sdl(), &config.query, persisted)?;
        tracing::info!("{}", gate.describe(&config.persisted));
        let prevalidated =
            graphql::build_prevalidated_schema(Some(services.clone()), public, &config.query);
        let operations = Operations::new(schema, prevalidated, gate, metrics.clone());
        let (closing, closed) = watch::channel(false);
        let state = AppState {
            operations: Arc::new(operations),
            services,
            auth,
            metrics,
            playground,
            storefront,
            rate_limiter: RateLimiter::new(&config.rate_limit).map(Arc::new),
            sockets: Arc::new(Sockets::new(&config.websocket, closed)),
        };
        Ok(Self {
            listener,
            state,
            closing,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The shared state (tests reach the pool and metrics through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Starts the outbox relay (unless `OUTBOX_RELAY=false`) and serves
    /// until `shutdown` resolves; then drains in-flight requests, stops the
    /// relay after its current round, and closes the pool.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let services = &self.state.services;
        let pool = services.db.pool.clone();
        let relay = if services.config.outbox.relay {
            let started = Relay::start(
                services.config.clone(),
                pool.clone(),
                self.state.metrics.clone(),
            )
            .await;
            // The client connects in the background, so this fails only on
            // a malformed NATS_URL; payments keep their events in the outbox.
            started
                .inspect_err(|e| tracing::error!(error = %e, "the outbox relay cannot start"))
                .ok()
        } else {
            None
        };
        let sweeper = Sweeper::start(services.clone());
        let warm_reads = services.db.warm_reads.clone();
        tokio::spawn(warm_reads.clone().sweep_until_closed());
        let replica = services.db.replica.clone();
        if let Some(replica) = &replica {
            tokio::spawn(replica.warm.clone().sweep_until_closed());
            tokio::spawn(replica.clone().sample_until_closed(pool.clone()));
        }
        let limits = services.config.http.clone();
        let metrics = self.state.metrics.clone();
        let sockets = self.state.sockets.clone();
        let closing = self.closing;
        let shutdown = async move {
            shutdown.await;
            // Sockets close at once (1001); HTTP requests get their grace.
            let _ = closing.send(true);
        };
        let router = http::router(self.state);
        http::serve(self.listener, router, &limits, metrics, shutdown).await;
        sockets.closed(limits.shutdown_grace).await;
        if let Some(sweeper) = sweeper {
            sweeper.stop().await;
        }
        if let Some(relay) = relay {
            relay.stop().await;
        }
        // The pool closes once every connection is back in it.
        warm_reads.close();
        if let Some(replica) = replica {
            replica.close();
            replica.pool.close().await;
        }
        pool.close().await;
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
