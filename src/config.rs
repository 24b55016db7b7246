//! Configuration from the environment (and an optional `.env` file).
//!
//! Every variable has a default that works on a development machine with
//! PostgreSQL and NATS on their standard ports; `.env.example` lists them all.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

use crate::graphql::persisted::TrustedDocuments;

/// The JWT secret used when none is configured. Fine for development, and
/// refused in production.
pub const DEFAULT_JWT_SECRET: &str = "dev-secret-change-me";

/// The shortest `JWT_SECRET` production accepts.
const MIN_SECRET_CHARS: usize = 32;
/// The fewest different characters in it: a secret of one character
/// repeated, or two in turn, is guessed at once.
const MIN_SECRET_DISTINCT: usize = 10;

/// Whether `secret` may sign production tokens: long, varied, and not the
/// development default; spaces at either end are refused rather than
/// trimmed (they are a copy and paste gone wrong, and a signer elsewhere
/// would not have them).
fn strong_secret(secret: &str) -> bool {
    let distinct: std::collections::HashSet<char> = secret.chars().collect();
    secret != DEFAULT_JWT_SECRET
        && secret.chars().count() >= MIN_SECRET_CHARS
        && distinct.len() >= MIN_SECRET_DISTINCT
        && secret.trim() == secret
}

/// Whether the server runs for development or in production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    /// Playground, introspection, demo tokens printed at startup.
    Development,
    /// No playground, no introspection or suggestions, JSON logs, a real secret.
    Production,
}

/// Everything the server reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `APP_ENV`: `development` (default) or `production`.
    pub app_env: AppEnv,
    /// `DATABASE_URL`: the PostgreSQL database (created if missing).
    pub database_url: String,
    /// `DATABASE_MAX_CONNECTIONS`: the size of the connection pool.
    pub database_max_connections: u32,
    /// `DATABASE_MIN_CONNECTIONS`: how many pool connections are opened at
    /// startup and kept open (default: all of them, a fixed-size pool), so
    /// that the first burst after a start does not wait for connections
    /// to be made.
    pub database_min_connections: u32,
    /// `DATABASE_ACQUIRE_TIMEOUT_MS`: how long a request waits for a pooled connection.
    pub database_acquire_timeout: Duration,
    /// `DATABASE_STATEMENT_TIMEOUT_MS`: PostgreSQL's `statement_timeout` for every connection.
    pub database_statement_timeout: Duration,
    /// `DATABASE_READ_URL`: a streaming replica of the database that query
    /// operations read from (none by default: everything reads from
    /// `DATABASE_URL`).
    pub database_read_url: Option<String>,
    /// `DATABASE_READ_MAX_CONNECTIONS`: the size of the replica's pool
    /// (default: `DATABASE_MAX_CONNECTIONS`).
    pub database_read_max_connections: u32,
    /// `DATABASE_READ_MAX_LAG_MS`: when the replica lags the primary by
    /// more than this, queries read from the primary until it catches up
    /// (default: no limit).
    pub database_read_max_lag: Option<Duration>,
    /// `DATABASE_READ_LAG_SAMPLE_MS`: how often the replica's lag (and
    /// whether it answers) is measured.
    pub database_read_lag_sample_interval: Duration,
    /// `NATS_URL`: the NATS server the event relay publishes to, or a
    /// comma-separated list of a cluster's servers (see
    /// [`Config::nats_servers`]).
    pub nats_url: String,
    /// `NATS_CONNECT_TIMEOUT_MS`: how long one attempt to connect to a NATS
    /// server may take.
    pub nats_connect_timeout: Duration,
    /// `NATS_RECONNECT_DELAY_MAX_MS`: the longest pause between two
    /// attempts to reconnect to NATS, so that a server back after a long
    /// outage is found again within about this long.
    pub nats_reconnect_delay_max: Duration,
    /// `NATS_ACK_TIMEOUT_MS`: how long the relay waits for JetStream to
    /// acknowledge one publish (and for a JetStream API answer).
    pub nats_ack_timeout: Duration,
    /// `NATS_STREAM_REPLICAS`: the replicas of a stream the server creates
    /// (3 on a JetStream cluster; 1 on a single server).
    pub nats_stream_replicas: usize,
    /// `NATS_STREAM`: the JetStream stream that holds the events (created
    /// at startup if missing).
    pub nats_stream: String,
    /// `NATS_SUBJECT`: the subject order-paid events are published on.
    pub nats_subject: String,
    /// `NATS_REFUND_SUBJECT`: the subject order-refunded events are
    /// published on (the same stream takes both).
    pub nats_refund_subject: String,
    /// `NATS_DUPLICATE_WINDOW_SECS`: how long JetStream remembers an event
    /// id, dropping a republished duplicate (for a stream it creates).
    pub nats_duplicate_window: Duration,
    /// `OUTBOX_RELAY`: whether this instance relays the outbox to NATS.
    pub outbox_relay: bool,
    /// `OUTBOX_POLL_MS`: how often the relay looks for events when no
    /// notification wakes it.
    pub outbox_poll_interval: Duration,
    /// `OUTBOX_BATCH_SIZE`: the most events the relay claims at once.
    pub outbox_batch_size: u32,
    /// `OUTBOX_RETENTION_HOURS`: how long a published event keeps its payload.
    pub outbox_retention: Duration,
    /// `OUTBOX_ROUND_TIMEOUT_MS`: the longest one relay round may wait for
    /// JetStream; events still unacknowledged then are released at once.
    pub outbox_round_timeout: Duration,
    /// `OUTBOX_BACKOFF_BASE_MS`: the relay's first pause after a failed
    /// round; it doubles per failure (with jitter).
    pub outbox_backoff_base: Duration,
    /// `OUTBOX_BACKOFF_MAX_MS`: the relay's longest pause after failures.
    pub outbox_backoff_max: Duration,
    /// `OUTBOX_PROBE_MS`: while backing off from a JetStream failure, how
    /// often the relay asks whether the stream answers again (and then
    /// retries at once rather than sleeping out its backoff).
    pub outbox_probe_interval: Duration,
    /// `JWT_SECRET`: the HS256 key that signs and verifies bearer tokens
    /// (`Debug` prints it as redacted).
    pub jwt_secret: SecretString,
    /// `LISTEN_ADDR`: where the HTTP server listens.
    pub listen_addr: SocketAddr,
    /// `PUBLIC_BASE_URL`: the externally visible base URL (for `paymentUrl`);
    /// when unset, the address the server actually listens on (see
    /// [`Config::base_url`]).
    pub public_base_url: Option<String>,
    /// `REQUEST_TIMEOUT_MS`: the longest a GraphQL request may run.
    pub request_timeout: Duration,
    /// Which browser origins may call the API (every `CORS_` variable).
    pub cors: Cors,
    /// Persisted queries and trusted documents (every `PERSISTED_QUERIES_`
    /// and `TRUSTED_DOCUMENTS` variable).
    pub persisted: PersistedQueries,
    /// `SEED_DEMO_DATA`: seed a demo catalog and coupon into an empty
    /// catalog; on by default in development only.
    pub seed_demo_data: bool,
    /// `DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS`: PostgreSQL's
    /// `idle_in_transaction_session_timeout` for every pool connection, the
    /// backstop that ends a transaction nobody finishes.
    pub database_idle_in_transaction_timeout: Duration,
    /// `CHANGES_VIA_NATS`: whether changes are announced to the other
    /// instances' subscribers through NATS (else they reach them by the
    /// database polls alone).
    pub changes_via_nats: bool,
    /// `NATS_CHANGES_SUBJECT`: the prefix of the core NATS subjects that
    /// announce changes (`<prefix>.order.<id>`, `<prefix>.coupon.<id>`).
    pub nats_changes_subject: String,
    /// `SUBSCRIPTION_POLL_MS`: how often watched entities are read again
    /// while NATS is unreachable or not used.
    pub subscription_poll: Duration,
    /// `SUBSCRIPTION_SAFETY_POLL_MS`: how often they are read again while
    /// NATS is connected (it delivers at most once).
    pub subscription_safety_poll: Duration,
    /// `COUPON_UPDATE_INTERVAL_MS`: the least time between two updates of
    /// a `couponUpdated` stream (a rush is many changes a second).
    pub coupon_update_interval: Duration,
    /// What one client may ask of the server (every `HTTP_`, `QUERY_`,
    /// `RESPONSE_`, `RATE_LIMIT_` and `WS_` variable).
    pub limits: Limits,
}

/// What one client may ask of an instance: the guards against requests
/// that would take it down or crowd out everyone else. Each is a variable
/// (docs/operations.md lists them with their defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// `HTTP_MAX_BODY_BYTES`: the largest request body (413 beyond).
    pub max_body_bytes: usize,
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
    /// `HTTP_BODY_TIMEOUT_MS`: how long a request's body may take to arrive.
    pub body_timeout: Duration,
    /// `HTTP_WRITE_TIMEOUT_MS`: how long a write to a client may stall (a
    /// client that does not read its response) before the connection is
    /// closed.
    pub write_timeout: Duration,
    /// `SHUTDOWN_GRACE_MS`: how long a graceful shutdown waits for open
    /// connections before closing them.
    pub shutdown_grace: Duration,
    /// `QUERY_MAX_NESTING`: the deepest nesting of `{`, `[` and `(` in a
    /// document's text (and of lists and objects in its variables), and of
    /// selections through fragments; checked before the document is parsed.
    pub max_nesting: usize,
    /// `QUERY_MAX_FIELDS`: the most fields a document may hold once every
    /// fragment spread is expanded.
    pub max_fields: usize,
    /// `QUERY_MAX_DEPTH`: the deepest selection of fields.
    pub max_depth: usize,
    /// `QUERY_MAX_COMPLEXITY`: the largest complexity: every field counts 1,
    /// times the items of each list around it (a page's size, a `nodes`
    /// call's ids, an order's or a cart's most lines).
    pub max_complexity: usize,
    /// `QUERY_MAX_DIRECTIVES`: the most directives on one field.
    pub max_directives: usize,
    /// `QUERY_MAX_BATCH`: the most operations in one JSON-array batch.
    pub max_batch: usize,
    /// `QUERY_MAX_MUTATIONS`: the most mutation fields in one operation
    /// (each is a transaction).
    pub max_mutations: usize,
    /// `RESPONSE_MAX_BYTES`: the largest response body.
    pub max_response_bytes: usize,
    /// `RATE_LIMIT_PER_SECOND`: the operations a caller (a user, or a
    /// client address without a token) may run per second, sustained; a
    /// mutation counts once per mutation field. 0 turns the limit off (the
    /// default in development).
    pub rate_per_second: u32,
    /// `RATE_LIMIT_BURST`: how many a caller may run at once above the
    /// sustained rate.
    pub rate_burst: u32,
    /// `WS_MAX_CONNECTIONS`: open WebSockets per instance; one more is
    /// refused with 503.
    pub ws_max_connections: usize,
    /// `WS_MAX_CONNECTIONS_PER_CLIENT`: open WebSockets per client address
    /// (429 beyond, before the upgrade).
    pub ws_max_connections_per_client: usize,
    /// `WS_MAX_CONNECTIONS_PER_USER`: open WebSockets per user (a socket
    /// past it is closed with 1008 at its `connection_init`).
    pub ws_max_connections_per_user: usize,
    /// `WS_MAX_SUBSCRIPTIONS`: operations running at once on one socket.
    pub ws_max_subscriptions: usize,
    /// `WS_MAX_MESSAGE_BYTES`: the largest message a client may send.
    pub ws_max_message_bytes: usize,
    /// `WS_INIT_TIMEOUT_MS`: how long a socket may wait before sending
    /// `connection_init` (closed with 4408 after).
    pub ws_init_timeout: Duration,
    /// `WS_KEEPALIVE_MS`: how often an idle socket is pinged; one that
    /// answers nothing for two of these is closed.
    pub ws_keepalive: Duration,
    /// `WS_WRITE_TIMEOUT_MS`: how long a socket's writes may stall (a client
    /// that does not read) before the socket is closed.
    pub ws_write_timeout: Duration,
    /// `WS_SEND_QUEUE`: the messages a socket holds for its client before
    /// its operations wait for room (each has run and let go of the
    /// database by then).
    pub ws_send_queue: usize,
    /// `SEARCH_MAX_CHARS`: the longest `products(search:)` text, in
    /// characters (`BAD_REQUEST` beyond): each word is a pattern every
    /// candidate row is checked against.
    pub search_max_chars: usize,
}

/// A variable that is set but cannot be used.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Config {
    /// Reads the process environment, after loading `.env` if there is one.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is worth failing on.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(ConfigError(format!(".env: {e}"))),
        }
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Builds the configuration from any variable source (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let app_env = match get("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") => AppEnv::Development,
            Some("production") | Some("prod") => AppEnv::Production,
            Some(other) => {
                return Err(ConfigError(format!(
                    "APP_ENV must be development or production, not {other:?}"
                )));
            }
        };
        let jwt_secret = get("JWT_SECRET").unwrap_or_else(|| DEFAULT_JWT_SECRET.to_owned());
        if app_env == AppEnv::Production && !strong_secret(&jwt_secret) {
            return Err(ConfigError(format!(
                "APP_ENV=production needs JWT_SECRET set to a secret of at least \
                 {MIN_SECRET_CHARS} characters, {MIN_SECRET_DISTINCT} of them different, with no \
                 space at either end (generate one: openssl rand -base64 48)"
            )));
        }
        let listen_addr: SocketAddr = parse(&get, "LISTEN_ADDR", "127.0.0.1:8080")?;
        let database_max_connections: u32 = parse(&get, "DATABASE_MAX_CONNECTIONS", "16")?;
        let database_min_connections: u32 = parse(
            &get,
            "DATABASE_MIN_CONNECTIONS",
            &database_max_connections.to_string(),
        )?;
        if database_max_connections == 0 || database_min_connections > database_max_connections {
            return Err(ConfigError(format!(
                "DATABASE_MAX_CONNECTIONS must be at least 1 and DATABASE_MIN_CONNECTIONS at most it, \
                 not {database_max_connections} and {database_min_connections}"
            )));
        }
        let public_base_url = get("PUBLIC_BASE_URL").map(|u| u.trim_end_matches('/').to_owned());
        if app_env == AppEnv::Development
            && jwt_secret == DEFAULT_JWT_SECRET
            && !listen_addr.ip().is_loopback()
        {
            return Err(ConfigError(format!(
                "JWT_SECRET is the published development default, which lets anyone mint tokens: \
                 it is only accepted on a loopback LISTEN_ADDR, not {listen_addr}"
            )));
        }
        let limits = Limits::from_lookup(&get, app_env)?;
        let nats_stream_replicas = parse::<usize>(&get, "NATS_STREAM_REPLICAS", "1")?;
        if !(1..=5).contains(&nats_stream_replicas) {
            // JetStream's own bounds.
            return Err(ConfigError(format!(
                "NATS_STREAM_REPLICAS must be 1 to 5, not {nats_stream_replicas}"
            )));
        }
        let outbox_backoff_base = millis(&get, "OUTBOX_BACKOFF_BASE_MS", "200")?;
        let outbox_backoff_max = millis(&get, "OUTBOX_BACKOFF_MAX_MS", "5000")?;
        if outbox_backoff_base.is_zero() || outbox_backoff_base > outbox_backoff_max {
            return Err(ConfigError(format!(
                "OUTBOX_BACKOFF_BASE_MS must be at least 1 and at most OUTBOX_BACKOFF_MAX_MS, \
                 not {} and {}",
                outbox_backoff_base.as_millis(),
                outbox_backoff_max.as_millis()
            )));
        }
        let positive_millis = |name: &str, default: &str| -> Result<Duration, ConfigError> {
            match millis(&get, name, default)? {
                d if d.is_zero() => Err(ConfigError(format!("{name} must be at least 1"))),
                d => Ok(d),
            }
        };
        Ok(Self {
            app_env,
            database_url: get("DATABASE_URL")
                .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/commerce".into()),
            database_max_connections,
            database_min_connections,
            database_acquire_timeout: millis(&get, "DATABASE_ACQUIRE_TIMEOUT_MS", "3000")?,
            database_statement_timeout: millis(&get, "DATABASE_STATEMENT_TIMEOUT_MS", "5000")?,
            database_read_url: get("DATABASE_READ_URL"),
            database_read_max_connections: match parse(
                &get,
                "DATABASE_READ_MAX_CONNECTIONS",
                &database_max_connections.to_string(),
            )? {
                0 => {
                    return Err(ConfigError(
                        "DATABASE_READ_MAX_CONNECTIONS must be at least 1".into(),
                    ));
                }
                n => n,
            },
            database_read_max_lag: match get("DATABASE_READ_MAX_LAG_MS") {
                Some(_) => Some(millis(&get, "DATABASE_READ_MAX_LAG_MS", "0")?),
                None => None,
            },
            database_read_lag_sample_interval: match millis(
                &get,
                "DATABASE_READ_LAG_SAMPLE_MS",
                "1000",
            )? {
                Duration::ZERO => {
                    return Err(ConfigError(
                        "DATABASE_READ_LAG_SAMPLE_MS must be at least 1".into(),
                    ));
                }
                every => every,
            },
            nats_url: get("NATS_URL").unwrap_or_else(|| "nats://127.0.0.1:4222".into()),
            nats_connect_timeout: positive_millis("NATS_CONNECT_TIMEOUT_MS", "2000")?,
            nats_reconnect_delay_max: millis(&get, "NATS_RECONNECT_DELAY_MAX_MS", "1000")?,
            nats_ack_timeout: positive_millis("NATS_ACK_TIMEOUT_MS", "2000")?,
            nats_stream_replicas,
            nats_stream: get("NATS_STREAM").unwrap_or_else(|| "ORDERS".into()),
            nats_subject: get("NATS_SUBJECT").unwrap_or_else(|| "orders.paid".into()),
            nats_refund_subject: get("NATS_REFUND_SUBJECT")
                .unwrap_or_else(|| "orders.refunded".into()),
            nats_duplicate_window: Duration::from_secs(parse(
                &get,
                "NATS_DUPLICATE_WINDOW_SECS",
                "600",
            )?),
            outbox_relay: parse(&get, "OUTBOX_RELAY", "true")?,
            outbox_poll_interval: millis(&get, "OUTBOX_POLL_MS", "1000")?,
            outbox_batch_size: parse(&get, "OUTBOX_BATCH_SIZE", "200")?,
            outbox_retention: Duration::from_secs(
                3600 * parse::<u64>(&get, "OUTBOX_RETENTION_HOURS", "168")?,
            ),
            outbox_round_timeout: positive_millis("OUTBOX_ROUND_TIMEOUT_MS", "5000")?,
            outbox_backoff_base,
            outbox_backoff_max,
            outbox_probe_interval: positive_millis("OUTBOX_PROBE_MS", "250")?,
            jwt_secret: SecretString::from(jwt_secret),
            listen_addr,
            public_base_url,
            request_timeout: millis(&get, "REQUEST_TIMEOUT_MS", "10000")?,
            cors: Cors::from_lookup(&get, app_env)?,
            persisted: PersistedQueries::from_lookup(&get)?,
            seed_demo_data: parse(
                &get,
                "SEED_DEMO_DATA",
                if app_env == AppEnv::Development {
                    "true"
                } else {
                    "false"
                },
            )?,
            changes_via_nats: parse(&get, "CHANGES_VIA_NATS", "true")?,
            nats_changes_subject: get("NATS_CHANGES_SUBJECT").unwrap_or_else(|| "changes".into()),
            subscription_poll: millis(&get, "SUBSCRIPTION_POLL_MS", "1000")?,
            subscription_safety_poll: millis(&get, "SUBSCRIPTION_SAFETY_POLL_MS", "10000")?,
            coupon_update_interval: millis(&get, "COUPON_UPDATE_INTERVAL_MS", "200")?,
            database_idle_in_transaction_timeout: millis(
                &get,
                "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS",
                "10000",
            )?,
            limits,
        })
    }

    /// The NATS servers of `NATS_URL`: one URL, or a cluster's servers
    /// separated by commas (the client tries them in turn and also learns
    /// the cluster's other members from the server).
    pub fn nats_servers(&self) -> Vec<&str> {
        self.nats_url
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .collect()
    }

    /// Whether `JWT_SECRET` is the published development default (which
    /// the server warns about at startup).
    pub fn uses_default_secret(&self) -> bool {
        self.jwt_secret.expose_secret() == DEFAULT_JWT_SECRET
    }

    /// The base of public URLs: `PUBLIC_BASE_URL`, or else `http://` and the
    /// address the server is bound to (`bound`, which knows the real port
    /// when `LISTEN_ADDR` asked for port 0), with a wildcard IP replaced by
    /// the loopback one.
    pub fn base_url(&self, bound: SocketAddr) -> String {
        if let Some(url) = &self.public_base_url {
            return url.clone();
        }
        let mut addr = bound;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}")
    }

    /// Development mode: playground, introspection, demo tokens.
    pub fn is_development(&self) -> bool {
        self.app_env == AppEnv::Development
    }
}

impl Limits {
    fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        app_env: AppEnv,
    ) -> Result<Self, ConfigError> {
        let positive = |name: &str, default: &str| -> Result<usize, ConfigError> {
            match parse::<usize>(get, name, default)? {
                0 => Err(ConfigError(format!("{name} must be at least 1"))),
                n => Ok(n),
            }
        };
        // Rate limiting protects a public instance; a developer's own
        // scripts (and the tests that race one user against itself) would
        // only trip on it.
        let rate_default = match app_env {
            AppEnv::Production => "20",
            AppEnv::Development => "0",
        };
        let limits = Self {
            max_body_bytes: positive("HTTP_MAX_BODY_BYTES", "65536")?,
            max_connections: positive("HTTP_MAX_CONNECTIONS", "1024")?,
            max_connections_per_client: positive("HTTP_MAX_CONNECTIONS_PER_CLIENT", "128")?,
            header_timeout: millis(get, "HTTP_HEADER_TIMEOUT_MS", "10000")?,
            body_timeout: millis(get, "HTTP_BODY_TIMEOUT_MS", "10000")?,
            write_timeout: millis(get, "HTTP_WRITE_TIMEOUT_MS", "30000")?,
            shutdown_grace: millis(get, "SHUTDOWN_GRACE_MS", "15000")?,
            max_nesting: positive("QUERY_MAX_NESTING", "32")?,
            max_fields: positive("QUERY_MAX_FIELDS", "2000")?,
            max_depth: positive("QUERY_MAX_DEPTH", "15")?,
            max_complexity: positive("QUERY_MAX_COMPLEXITY", "20000")?,
            max_directives: positive("QUERY_MAX_DIRECTIVES", "20")?,
            max_batch: positive("QUERY_MAX_BATCH", "10")?,
            max_mutations: positive("QUERY_MAX_MUTATIONS", "10")?,
            max_response_bytes: positive("RESPONSE_MAX_BYTES", "4194304")?,
            rate_per_second: parse(get, "RATE_LIMIT_PER_SECOND", rate_default)?,
            rate_burst: positive("RATE_LIMIT_BURST", "100")?
                .try_into()
                .map_err(|_| ConfigError("RATE_LIMIT_BURST is too large".into()))?,
            ws_max_connections: positive("WS_MAX_CONNECTIONS", "10000")?,
            ws_max_connections_per_client: positive("WS_MAX_CONNECTIONS_PER_CLIENT", "1000")?,
            ws_max_connections_per_user: positive("WS_MAX_CONNECTIONS_PER_USER", "20")?,
            ws_max_subscriptions: positive("WS_MAX_SUBSCRIPTIONS", "100")?,
            ws_max_message_bytes: positive("WS_MAX_MESSAGE_BYTES", "65536")?,
            ws_init_timeout: millis(get, "WS_INIT_TIMEOUT_MS", "10000")?,
            ws_keepalive: millis(get, "WS_KEEPALIVE_MS", "30000")?,
            ws_write_timeout: millis(get, "WS_WRITE_TIMEOUT_MS", "10000")?,
            ws_send_queue: positive("WS_SEND_QUEUE", "16")?,
            search_max_chars: positive("SEARCH_MAX_CHARS", "200")?,
        };
        // The costliest request allowed (a full batch of operations each
        // holding the most mutations) must fit in a full bucket, or it
        // could never pass however long its caller waited.
        let costliest = limits.max_batch.saturating_mul(limits.max_mutations);
        if limits.rate_per_second > 0 && (limits.rate_burst as usize) < costliest {
            return Err(ConfigError(format!(
                "RATE_LIMIT_BURST must be at least QUERY_MAX_BATCH x QUERY_MAX_MUTATIONS ({costliest})"
            )));
        }
        Ok(limits)
    }
}

/// How the server answers browsers on other origins (CORS). Tokens travel
/// in the `Authorization` header, never in cookies, so no origin is ever
/// allowed credentials: a page on an allowed origin can only send the token
/// its own code holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// `CORS_ALLOWED_ORIGINS`: a comma-separated list of origins, or `*`;
    /// `*` by default in development, none in production.
    pub allowed_origins: AllowedOrigins,
    /// `CORS_MAX_AGE_SECS`: how long a browser may reuse a preflight's answer.
    pub max_age: Duration,
}

/// The origins a browser may call the API from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Any origin (`*`).
    Any,
    /// These origins, exactly as browsers send them in `Origin`
    /// (`https://shop.example`, `http://localhost:5173`); none when empty,
    /// and then the server sends no CORS header at all.
    List(Vec<String>),
}

impl Cors {
    fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        app_env: AppEnv,
    ) -> Result<Self, ConfigError> {
        let allowed_origins = match get("CORS_ALLOWED_ORIGINS") {
            None if app_env == AppEnv::Development => AllowedOrigins::Any,
            None => AllowedOrigins::List(Vec::new()),
            Some(raw) if raw.trim() == "*" => AllowedOrigins::Any,
            Some(raw) => {
                let mut origins: Vec<String> = Vec::new();
                for origin in raw.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                    check_origin(origin).map_err(|why| {
                        ConfigError(format!(
                            "CORS_ALLOWED_ORIGINS: {origin:?} is not an origin: {why}"
                        ))
                    })?;
                    if !origins.iter().any(|o| o == origin) {
                        origins.push(origin.to_owned());
                    }
                }
                if origins.is_empty() {
                    return Err(ConfigError(format!(
                        "CORS_ALLOWED_ORIGINS={raw:?} names no origin: list origins separated by \
                         commas (https://shop.example), or * for any"
                    )));
                }
                AllowedOrigins::List(origins)
            }
        };
        Ok(Self {
            allowed_origins,
            max_age: Duration::from_secs(parse(get, "CORS_MAX_AGE_SECS", "600")?),
        })
    }
}

/// Whether `origin` is written as browsers send it in `Origin`: a scheme,
/// `://`, a host and an optional port, lowercase, with no path (not even a
/// trailing `/`). One written otherwise would never match any request, so
/// it is refused rather than silently ignored. `null` (sandboxed pages,
/// `file:` URLs) is refused too: any page can claim it.
fn check_origin(origin: &str) -> Result<(), &'static str> {
    if origin == "*" {
        return Err("* stands alone, not in a list");
    }
    let (scheme, authority) = origin
        .split_once("://")
        .ok_or("it needs a scheme, as in https://shop.example")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
    if !scheme_ok {
        return Err("the scheme must be lowercase letters, digits, +, - or .");
    }
    if authority.contains('/') {
        return Err("an origin has no path, not even a trailing /");
    }
    if authority.contains(['?', '#', '@']) {
        return Err("an origin has no query, fragment or user name");
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (host, rest) = bracketed
                .split_once(']')
                .ok_or("an IPv6 host needs its closing ]")?;
            match rest {
                "" => (host, None),
                _ => (
                    host,
                    Some(rest.strip_prefix(':').ok_or("a port follows a :")?),
                ),
            }
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.:".contains(c));
    if !host_ok {
        return Err("the host must be lowercase ASCII letters, digits, - and . (punycode)");
    }
    if let Some(port) = port
        && (port.is_empty() || port.parse::<u16>().is_err())
    {
        return Err("the port must be a number up to 65535");
    }
    Ok(())
}

/// Documents a client may name by their hash (Apollo's automatic persisted
/// queries, and a manifest of trusted documents); see
/// `graphql::persisted`.
#[derive(Debug, Clone)]
pub struct PersistedQueries {
    /// `PERSISTED_QUERIES_CAPACITY`: the most documents an instance learns
    /// through automatic persisted queries (least recently used out first).
    pub capacity: usize,
    /// `PERSISTED_QUERIES_MAX_BYTES`: the most bytes of text (documents and
    /// their hashes) those documents may hold together.
    pub max_bytes: usize,
    /// `TRUSTED_DOCUMENTS`: the path of the manifest of trusted documents,
    /// a JSON object of documents by their SHA-256; none by default.
    pub trusted_documents: Option<PathBuf>,
    /// The manifest's documents, loaded (and checked) with the configuration.
    pub(crate) trusted: Arc<TrustedDocuments>,
    /// `TRUSTED_DOCUMENTS_ONLY`: run no document but the manifest's.
    pub trusted_only: bool,
}

impl PersistedQueries {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let positive = |name: &str, default: &str| -> Result<usize, ConfigError> {
            match parse::<usize>(get, name, default)? {
                0 => Err(ConfigError(format!("{name} must be at least 1"))),
                n => Ok(n),
            }
        };
        let trusted_documents = get("TRUSTED_DOCUMENTS").map(PathBuf::from);
        let trusted = match &trusted_documents {
            None => TrustedDocuments::default(),
            Some(path) => {
                let fail = |why: String| {
                    ConfigError(format!("TRUSTED_DOCUMENTS={}: {why}", path.display()))
                };
                let json = std::fs::read_to_string(path)
                    .map_err(|e| fail(format!("cannot read it: {e}")))?;
                TrustedDocuments::from_json(&json).map_err(fail)?
            }
        };
        let trusted_only = parse(get, "TRUSTED_DOCUMENTS_ONLY", "false")?;
        if trusted_only && trusted_documents.is_none() {
            return Err(ConfigError(
                "TRUSTED_DOCUMENTS_ONLY=true needs TRUSTED_DOCUMENTS, the manifest of the \
                 documents to run"
                    .into(),
            ));
        }
        Ok(Self {
            capacity: positive("PERSISTED_QUERIES_CAPACITY", "1024")?,
            max_bytes: positive("PERSISTED_QUERIES_MAX_BYTES", "4194304")?,
            trusted_documents,
            trusted: Arc::new(trusted),
            trusted_only,
        })
    }
}

impl Default for Limits {
    /// The development defaults.
    fn default() -> Self {
        Self::from_lookup(&|_| None, AppEnv::Development)
            .unwrap_or_else(|e| unreachable!("the default limits parse: {e}"))
    }
}

fn parse<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: &str,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    let raw = get(name).unwrap_or_else(|| default.to_owned());
    raw.parse()
        .map_err(|e| ConfigError(format!("{name}={raw:?} is not valid: {e}")))
}

fn millis(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: &str,
) -> Result<Duration, ConfigError> {
    parse::<u64>(get, name, default).map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_serve_on_localhost_against_the_commerce_database() {
        let c = config(&[]).unwrap();
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(
            c.database_url,
            "postgres://postgres@127.0.0.1:5432/commerce"
        );
        assert_eq!(c.base_url(c.listen_addr), "http://127.0.0.1:8080");
        let bound = "0.0.0.0:4321".parse().unwrap();
        assert_eq!(c.base_url(bound), "http://127.0.0.1:4321");
        let explicit = config(&[("PUBLIC_BASE_URL", "https://shop.example/")]).unwrap();
        assert_eq!(explicit.base_url(bound), "https://shop.example");
        assert!(c.is_development());
    }

    #[test]
    fn production_refuses_the_default_or_a_short_secret() {
        assert!(config(&[("APP_ENV", "production")]).is_err());
        assert!(
            config(&[
                ("APP_ENV", "production"),
                ("JWT_SECRET", DEFAULT_JWT_SECRET)
            ])
            .is_err()
        );
        assert!(config(&[("APP_ENV", "production"), ("JWT_SECRET", "short")]).is_err());
        // Long, but guessable or mangled: blank, one character repeated,
        // or padded with spaces a copy and paste brought along.
        for weak in [
            " ".repeat(32),
            "a".repeat(40),
            "ab".repeat(20),
            format!(" {} ", "k3y-0f-th3-sh0p-that-is-l0ng-en0ugh"),
        ] {
            let err = config(&[("APP_ENV", "production"), ("JWT_SECRET", &weak)]).unwrap_err();
            assert!(err.0.contains("JWT_SECRET"), "{weak:?}: {}", err.0);
        }
        let ok = config(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", "k3y-0f-th3-sh0p-that-is-l0ng-en0ugh"),
        ])
        .unwrap();
        assert!(!ok.is_development());
        assert!(!ok.seed_demo_data, "no demo catalog in production");
        assert!(config(&[]).unwrap().seed_demo_data, "but in development");
    }

    #[test]
    fn the_pool_is_fixed_in_size_unless_told_otherwise() {
        let c = config(&[]).unwrap();
        assert_eq!(
            (c.database_max_connections, c.database_min_connections),
            (16, 16)
        );
        let c = config(&[("DATABASE_MAX_CONNECTIONS", "8")]).unwrap();
        assert_eq!(c.database_min_connections, 8);
        let c = config(&[("DATABASE_MIN_CONNECTIONS", "2")]).unwrap();
        assert_eq!(
            (c.database_max_connections, c.database_min_connections),
            (16, 2)
        );
        for bad in [
            [
                ("DATABASE_MAX_CONNECTIONS", "4"),
                ("DATABASE_MIN_CONNECTIONS", "5"),
            ],
            [
                ("DATABASE_MAX_CONNECTIONS", "0"),
                ("DATABASE_MIN_CONNECTIONS", "0"),
            ],
        ] {
            let err = config(&bad).unwrap_err();
            assert!(err.0.contains("DATABASE_MIN_CONNECTIONS"), "{}", err.0);
        }
    }

    #[test]
    fn the_search_length_is_bounded_and_configurable() {
        assert_eq!(config(&[]).unwrap().limits.search_max_chars, 200);
        let c = config(&[("SEARCH_MAX_CHARS", "50")]).unwrap();
        assert_eq!(c.limits.search_max_chars, 50);
        assert!(config(&[("SEARCH_MAX_CHARS", "0")]).is_err());
        assert!(config(&[("SEARCH_MAX_CHARS", "many")]).is_err());
    }

    #[test]
    fn a_read_replica_is_optional_and_sized_like_the_primary_by_default() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_read_url, None);
        assert_eq!(c.database_read_max_lag, None);
        assert_eq!(c.database_read_lag_sample_interval, Duration::from_secs(1));
        let c = config(&[
            ("DATABASE_READ_URL", "postgres://replica/commerce"),
            ("DATABASE_MAX_CONNECTIONS", "8"),
            ("DATABASE_READ_MAX_LAG_MS", "500"),
        ])
        .unwrap();
        assert_eq!(
            c.database_read_url.as_deref(),
            Some("postgres://replica/commerce")
        );
        assert_eq!(c.database_read_max_connections, 8);
        assert_eq!(c.database_read_max_lag, Some(Duration::from_millis(500)));
        for bad in [
            ("DATABASE_READ_MAX_CONNECTIONS", "0"),
            ("DATABASE_READ_MAX_LAG_MS", "soon"),
            ("DATABASE_READ_LAG_SAMPLE_MS", "0"),
        ] {
            let err = config(&[bad]).unwrap_err();
            assert!(err.0.contains(bad.0), "{}", err.0);
        }
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let c = config(&[("JWT_SECRET", "s3cr3t-value-of-the-shop")]).unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(printed.contains("jwt_secret"), "{printed}");
    }

    #[test]
    fn the_default_secret_serves_loopback_only() {
        assert!(config(&[]).unwrap().uses_default_secret());
        let err = config(&[("LISTEN_ADDR", "0.0.0.0:8080")]).unwrap_err();
        assert!(err.0.contains("loopback"), "{}", err.0);
        assert!(config(&[("LISTEN_ADDR", "[::1]:8080")]).is_ok());
        let own = config(&[("LISTEN_ADDR", "0.0.0.0:8080"), ("JWT_SECRET", "mine")]).unwrap();
        assert!(!own.uses_default_secret());
    }

    #[test]
    fn the_rate_limit_is_on_in_production_only_unless_told_otherwise() {
        let secret = "k3y-0f-th3-sh0p-that-is-l0ng-en0ugh";
        let production = config(&[("APP_ENV", "production"), ("JWT_SECRET", secret)]).unwrap();
        assert_eq!(
            (
                production.limits.rate_per_second,
                production.limits.rate_burst
            ),
            (20, 100)
        );
        assert_eq!(config(&[]).unwrap().limits.rate_per_second, 0);
        let on = config(&[("RATE_LIMIT_PER_SECOND", "5")]).unwrap();
        assert_eq!(on.limits.rate_per_second, 5);
        // A burst too small for the largest batch of mutations could never
        // let it through.
        let err =
            config(&[("RATE_LIMIT_PER_SECOND", "5"), ("RATE_LIMIT_BURST", "99")]).unwrap_err();
        assert!(err.0.contains("RATE_LIMIT_BURST"), "{}", err.0);
        assert!(config(&[("QUERY_MAX_NESTING", "0")]).is_err());
    }

    #[test]
    fn cors_allows_any_origin_in_development_and_none_in_production() {
        let c = config(&[]).unwrap();
        assert_eq!(c.cors.allowed_origins, AllowedOrigins::Any);
        assert_eq!(c.cors.max_age, Duration::from_secs(600));
        let secret = "k3y-0f-th3-sh0p-that-is-l0ng-en0ugh";
        let production = config(&[("APP_ENV", "production"), ("JWT_SECRET", secret)]).unwrap();
        assert_eq!(
            production.cors.allowed_origins,
            AllowedOrigins::List(vec![])
        );
        let listed = config(&[
            (
                "CORS_ALLOWED_ORIGINS",
                " https://shop.example, http://localhost:5173,https://shop.example,",
            ),
            ("CORS_MAX_AGE_SECS", "60"),
        ])
        .unwrap();
        assert_eq!(
            listed.cors.allowed_origins,
            AllowedOrigins::List(vec![
                "https://shop.example".into(),
                "http://localhost:5173".into()
            ])
        );
        assert_eq!(listed.cors.max_age, Duration::from_secs(60));
        let any = config(&[("CORS_ALLOWED_ORIGINS", "*")]).unwrap();
        assert_eq!(any.cors.allowed_origins, AllowedOrigins::Any);
        for ok in [
            "http://[::1]:8080",
            "capacitor://localhost",
            "http://127.0.0.1",
        ] {
            assert!(check_origin(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn an_origin_written_as_no_browser_sends_it_is_refused_by_name() {
        for bad in [
            "https://shop.example/",
            "https://shop.example/app",
            "shop.example",
            "https://Shop.example",
            "HTTPS://shop.example",
            "https://shop.example:99999",
            "https://shop.example:",
            "https://user@shop.example",
            "https://",
            "null",
            "*, https://shop.example",
            "https://[::1",
            ",",
        ] {
            let err = config(&[("CORS_ALLOWED_ORIGINS", bad)]).unwrap_err();
            assert!(err.0.contains("CORS_ALLOWED_ORIGINS"), "{bad}: {}", err.0);
        }
        let err = config(&[("CORS_MAX_AGE_SECS", "ten")]).unwrap_err();
        assert!(err.0.contains("CORS_MAX_AGE_SECS"), "{}", err.0);
    }

    #[test]
    fn persisted_queries_are_bounded_and_trust_no_manifest_by_default() {
        let c = config(&[]).unwrap();
        assert_eq!(
            (c.persisted.capacity, c.persisted.max_bytes),
            (1024, 4194304)
        );
        assert!(c.persisted.trusted_documents.is_none() && !c.persisted.trusted_only);
        assert!(config(&[("PERSISTED_QUERIES_CAPACITY", "0")]).is_err());
        assert!(config(&[("PERSISTED_QUERIES_MAX_BYTES", "0")]).is_err());
        let err = config(&[("TRUSTED_DOCUMENTS_ONLY", "true")]).unwrap_err();
        assert!(err.0.contains("TRUSTED_DOCUMENTS"), "{}", err.0);
        let err =
            config(&[("TRUSTED_DOCUMENTS", "/nowhere/persisted-documents.json")]).unwrap_err();
        assert!(err.0.contains("TRUSTED_DOCUMENTS=/nowhere"), "{}", err.0);
    }

    #[test]
    fn the_relay_timing_defaults_fit_a_cluster_election_and_are_checked() {
        let c = config(&[]).unwrap();
        assert_eq!(c.nats_stream_replicas, 1);
        assert_eq!(c.nats_ack_timeout, Duration::from_secs(2));
        assert_eq!(c.nats_connect_timeout, Duration::from_secs(2));
        assert_eq!(c.nats_reconnect_delay_max, Duration::from_secs(1));
        assert_eq!(c.outbox_round_timeout, Duration::from_secs(5));
        assert_eq!(
            (c.outbox_backoff_base, c.outbox_backoff_max),
            (Duration::from_millis(200), Duration::from_secs(5))
        );
        assert_eq!(c.outbox_probe_interval, Duration::from_millis(250));
        assert_eq!(c.nats_servers(), ["nats://127.0.0.1:4222"]);

        let c = config(&[
            ("NATS_URL", "nats://a:4222, nats://b:4222,nats://c:4222"),
            ("NATS_STREAM_REPLICAS", "3"),
            ("OUTBOX_BACKOFF_MAX_MS", "1000"),
        ])
        .unwrap();
        assert_eq!(
            c.nats_servers(),
            ["nats://a:4222", "nats://b:4222", "nats://c:4222"]
        );
        assert_eq!(c.nats_stream_replicas, 3);
        assert_eq!(c.outbox_backoff_max, Duration::from_secs(1));

        for (bad, name) in [
            (("NATS_STREAM_REPLICAS", "0"), "NATS_STREAM_REPLICAS"),
            (("NATS_STREAM_REPLICAS", "7"), "NATS_STREAM_REPLICAS"),
            (("OUTBOX_BACKOFF_MAX_MS", "100"), "OUTBOX_BACKOFF_BASE_MS"),
            (("OUTBOX_BACKOFF_BASE_MS", "0"), "OUTBOX_BACKOFF_BASE_MS"),
            (("OUTBOX_ROUND_TIMEOUT_MS", "0"), "OUTBOX_ROUND_TIMEOUT_MS"),
            (("NATS_ACK_TIMEOUT_MS", "0"), "NATS_ACK_TIMEOUT_MS"),
            (("OUTBOX_PROBE_MS", "0"), "OUTBOX_PROBE_MS"),
            (
                ("NATS_CONNECT_TIMEOUT_MS", "soon"),
                "NATS_CONNECT_TIMEOUT_MS",
            ),
        ] {
            let err = config(&[bad]).unwrap_err();
            assert!(err.0.contains(name), "{}", err.0);
        }
    }

    #[test]
    fn malformed_values_are_reported_by_name() {
        let err = config(&[("LISTEN_ADDR", "nowhere")]).unwrap_err();
        assert!(err.0.contains("LISTEN_ADDR"), "{}", err.0);
        assert!(config(&[("APP_ENV", "staging")]).is_err());
    }
}
