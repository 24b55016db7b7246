//! Configuration from the environment (and an optional `.env` file), read
//! by area: the database, NATS and the outbox, orders, subscriptions, HTTP, query
//! limits (and federation), WebSockets, the rate limit, the search, CORS and persisted
//! queries, each in a file of its own with its variables and defaults. The
//! playground and the demo data follow `APP_ENV`.
//!
//! Every variable has a default that works on a development machine with
//! PostgreSQL and NATS on their standard ports. `.env.example` lists them
//! all with those defaults and `docs/operations.md` explains them: a test
//! keeps all three in step.

mod cors;
mod coupons;
mod database;
mod events;
mod http;
mod orders;
mod parse;
mod persisted;
mod query;
mod rate_limit;
mod search;
mod storefront;
mod subscriptions;
mod traces;
mod websocket;

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

pub use cors::{AllowedOrigins, Cors};
pub use coupons::Coupons;
pub use database::Database;
pub use events::{Nats, Outbox};
pub use http::Http;
pub use orders::Orders;
pub use parse::ConfigError;
pub use persisted::PersistedQueries;
pub use query::QueryLimits;
pub use rate_limit::RateLimit;
pub use search::Search;
pub use storefront::{ORDER_ID_PLACEHOLDER, Storefront};
pub use subscriptions::Subscriptions;
pub use traces::{Sampler, Traces};
pub use websocket::WebSocket;

use parse::Env;

/// The JWT secret used when none is configured. Fine for development, and
/// refused in production.
pub const DEFAULT_JWT_SECRET: &str = "dev-secret-change-me";

/// The shortest `JWT_SECRET` production accepts.
const MIN_SECRET_CHARS: usize = 32;
/// The fewest different characters in it: a secret of one character
/// repeated, or two in turn, is guessed at once.
const MIN_SECRET_DISTINCT: usize = 10;

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
    /// `LISTEN_ADDR`: where the HTTP server listens.
    pub listen_addr: SocketAddr,
    /// `PUBLIC_BASE_URL`: the externally visible base URL (for `paymentUrl`);
    /// when unset, the address the server actually listens on (see
    /// [`Config::base_url`]).
    pub public_base_url: Option<String>,
    /// `JWT_SECRET`: the HS256 key that signs and verifies bearer tokens
    /// (`Debug` prints it as redacted).
    pub jwt_secret: SecretString,
    /// `REQUEST_TIMEOUT_MS`: the longest a GraphQL request (or an operation
    /// over a WebSocket) may run.
    pub request_timeout: Duration,
    /// `SEED_DEMO_DATA`: seed a demo catalog and coupon into an empty
    /// catalog; on by default in development only.
    pub seed_demo_data: bool,
    /// The database (every `DATABASE_` variable).
    pub database: Database,
    /// NATS and its stream (`NATS_` variables).
    pub nats: Nats,
    /// The outbox relay (`OUTBOX_` variables).
    pub outbox: Outbox,
    /// Orders' payment window, stock holds and expiry sweep (`ORDER_`
    /// variables).
    pub orders: Orders,
    /// Coupon issuing (`COUPON_SOLD_OUT_HOLDERS`).
    pub coupons: Coupons,
    /// How changes reach subscribers (`CHANGES_VIA_NATS`,
    /// `NATS_CHANGES_SUBJECT`, `SUBSCRIPTION_`, `COUPON_UPDATE_INTERVAL_MS`).
    pub subscriptions: Subscriptions,
    /// HTTP connections (`HTTP_` variables, `SHUTDOWN_GRACE_MS`).
    pub http: Http,
    /// What a document may ask (`QUERY_` variables, `RESPONSE_MAX_BYTES`,
    /// `FEDERATION`).
    pub query: QueryLimits,
    /// GraphQL WebSockets (`WS_` variables).
    pub websocket: WebSocket,
    /// The per-caller rate limit (`RATE_LIMIT_` variables).
    pub rate_limit: RateLimit,
    /// The catalog search (`SEARCH_` variables).
    pub search: Search,
    /// Which browser origins may call the API (`CORS_` variables).
    pub cors: Cors,
    /// Persisted queries and trusted documents (`PERSISTED_QUERIES_` and
    /// `TRUSTED_DOCUMENTS` variables).
    pub persisted: PersistedQueries,
    /// The reference storefront and the order form's address
    /// (`STOREFRONT`, `ORDER_FORM_URL`).
    pub storefront: Storefront,
    /// OpenTelemetry traces (the standard `OTEL_` variables).
    pub traces: Traces,
}

impl PartialEq for Config {
    /// Equal settings, the secret included.
    fn eq(&self, other: &Self) -> bool {
        self.app_env == other.app_env
            && self.listen_addr == other.listen_addr
            && self.public_base_url == other.public_base_url
            && self.jwt_secret.expose_secret() == other.jwt_secret.expose_secret()
            && self.request_timeout == other.request_timeout
            && self.seed_demo_data == other.seed_demo_data
            && self.database == other.database
            && self.nats == other.nats
            && self.outbox == other.outbox
            && self.orders == other.orders
            && self.coupons == other.coupons
            && self.subscriptions == other.subscriptions
            && self.http == other.http
            && self.query == other.query
            && self.websocket == other.websocket
            && self.rate_limit == other.rate_limit
            && self.search == other.search
            && self.cors == other.cors
            && self.persisted == other.persisted
            && self.storefront == other.storefront
            && self.traces == other.traces
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
        let env = Env::new(&get);
        let app_env = match env.optional("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") => AppEnv::Development,
            Some("production") | Some("prod") => AppEnv::Production,
            Some(other) => {
                return Err(ConfigError(format!(
                    "APP_ENV must be development or production, not {other:?}"
                )));
            }
        };
        let jwt_secret = env.text("JWT_SECRET", DEFAULT_JWT_SECRET);
        if app_env == AppEnv::Production && !strong_secret(&jwt_secret) {
            return Err(ConfigError(format!(
                "APP_ENV=production needs JWT_SECRET set to a secret of at least \
                 {MIN_SECRET_CHARS} characters, {MIN_SECRET_DISTINCT} of them different, with no \
                 space at either end (generate one: openssl rand -base64 48)"
            )));
        }
        let listen_addr: SocketAddr = env.parse("LISTEN_ADDR", "127.0.0.1:8080")?;
        if app_env == AppEnv::Development
            && jwt_secret == DEFAULT_JWT_SECRET
            && !listen_addr.ip().is_loopback()
        {
            return Err(ConfigError(format!(
                "JWT_SECRET is the published development default, which lets anyone mint tokens: \
                 it is only accepted on a loopback LISTEN_ADDR, not {listen_addr}"
            )));
        }
        let development = app_env == AppEnv::Development;
        let config = Self {
            app_env,
            listen_addr,
            public_base_url: env
                .optional("PUBLIC_BASE_URL")
                .map(|u| u.trim_end_matches('/').to_owned()),
            jwt_secret: SecretString::from(jwt_secret),
            request_timeout: env.millis("REQUEST_TIMEOUT_MS", "10000")?,
            seed_demo_data: env
                .parse("SEED_DEMO_DATA", if development { "true" } else { "false" })?,
            database: Database::from_env(&env)?,
            nats: Nats::from_env(&env)?,
            outbox: Outbox::from_env(&env)?,
            orders: Orders::from_env(&env)?,
            coupons: Coupons::from_env(&env)?,
            subscriptions: Subscriptions::from_env(&env)?,
            http: Http::from_env(&env)?,
            query: QueryLimits::from_env(&env)?,
            websocket: WebSocket::from_env(&env)?,
            rate_limit: RateLimit::from_env(&env, app_env)?,
            search: Search::from_env(&env)?,
            cors: Cors::from_env(&env, app_env)?,
            persisted: PersistedQueries::from_env(&env)?,
            storefront: Storefront::from_env(&env, app_env)?,
            traces: Traces::from_env(&env)?,
        };
        // The costliest request allowed (a full batch of operations each
        // holding the most mutations) must fit in a full bucket, or it
        // could never pass however long its caller waited.
        let costliest = config
            .query
            .max_batch
            .saturating_mul(config.query.max_mutations);
        if config.rate_limit.per_second > 0 && (config.rate_limit.burst as usize) < costliest {
            return Err(ConfigError(format!(
                "RATE_LIMIT_BURST must be at least QUERY_MAX_BATCH x QUERY_MAX_MUTATIONS ({costliest})"
            )));
        }
        Ok(config)
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The configuration of `vars` alone.
    pub(crate) fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
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
            c.database.url,
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
            (c.database.max_connections, c.database.min_connections),
            (16, 16)
        );
        let c = config(&[("DATABASE_MAX_CONNECTIONS", "8")]).unwrap();
        assert_eq!(c.database.min_connections, 8);
        let c = config(&[("DATABASE_MIN_CONNECTIONS", "2")]).unwrap();
        assert_eq!(
            (c.database.max_connections, c.database.min_connections),
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
        assert_eq!(config(&[]).unwrap().search.max_chars, 200);
        let c = config(&[("SEARCH_MAX_CHARS", "50")]).unwrap();
        assert_eq!(c.search.max_chars, 50);
        assert!(config(&[("SEARCH_MAX_CHARS", "0")]).is_err());
        assert!(config(&[("SEARCH_MAX_CHARS", "many")]).is_err());
    }

    #[test]
    fn orders_have_a_half_hour_window_and_hold_nothing_by_default() {
        let c = config(&[]).unwrap();
        assert_eq!(c.orders.payment_window, Some(Duration::from_secs(1800)));
        assert!(!c.orders.hold_stock);
        let off = config(&[("ORDER_PAYMENT_WINDOW_SECS", "0")]).unwrap();
        assert_eq!(off.orders.payment_window, None);
        // A hold needs an end, and a window longer than a year is a typo.
        let endless = config(&[
            ("ORDER_PAYMENT_WINDOW_SECS", "0"),
            ("ORDER_HOLD_STOCK", "true"),
        ]);
        assert!(endless.unwrap_err().0.contains("ORDER_HOLD_STOCK"));
        assert!(config(&[("ORDER_PAYMENT_WINDOW_SECS", "40000000")]).is_err());
        assert!(config(&[("ORDER_SWEEP_BATCH", "0")]).is_err());
        let holding = config(&[("ORDER_HOLD_STOCK", "true")]).unwrap();
        assert!(holding.orders.hold_stock);
    }

    #[test]
    fn a_read_replica_is_optional_and_sized_like_the_primary_by_default() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database.read_url, None);
        assert_eq!(c.database.read_max_lag, None);
        assert_eq!(c.database.read_lag_sample_interval, Duration::from_secs(1));
        let c = config(&[
            ("DATABASE_READ_URL", "postgres://replica/commerce"),
            ("DATABASE_MAX_CONNECTIONS", "8"),
            ("DATABASE_READ_MAX_LAG_MS", "500"),
        ])
        .unwrap();
        assert_eq!(
            c.database.read_url.as_deref(),
            Some("postgres://replica/commerce")
        );
        assert_eq!(c.database.read_max_connections, 8);
        assert_eq!(c.database.read_max_lag, Some(Duration::from_millis(500)));
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
                production.rate_limit.per_second,
                production.rate_limit.burst
            ),
            (20, 100)
        );
        assert_eq!(config(&[]).unwrap().rate_limit.per_second, 0);
        let on = config(&[("RATE_LIMIT_PER_SECOND", "5")]).unwrap();
        assert_eq!(on.rate_limit.per_second, 5);
        // A burst too small for the largest batch of mutations could never
        // let it through.
        let err =
            config(&[("RATE_LIMIT_PER_SECOND", "5"), ("RATE_LIMIT_BURST", "99")]).unwrap_err();
        assert!(err.0.contains("RATE_LIMIT_BURST"), "{}", err.0);
        assert!(config(&[("QUERY_MAX_NESTING", "0")]).is_err());
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
    }

    #[test]
    fn the_relay_timing_defaults_fit_a_cluster_election_and_are_checked() {
        let c = config(&[]).unwrap();
        assert_eq!(c.nats.stream_replicas, 1);
        assert_eq!(c.nats.ack_timeout, Duration::from_secs(2));
        assert_eq!(c.nats.connect_timeout, Duration::from_secs(2));
        assert_eq!(c.nats.reconnect_delay_max, Duration::from_secs(1));
        assert_eq!(c.outbox.round_timeout, Duration::from_secs(5));
        assert_eq!(
            (c.outbox.backoff_base, c.outbox.backoff_max),
            (Duration::from_millis(200), Duration::from_secs(5))
        );
        assert_eq!(c.outbox.probe_interval, Duration::from_millis(250));
        assert_eq!(c.nats.servers(), ["nats://127.0.0.1:4222"]);

        let c = config(&[
            ("NATS_URL", "nats://a:4222, nats://b:4222,nats://c:4222"),
            ("NATS_STREAM_REPLICAS", "3"),
            ("OUTBOX_BACKOFF_MAX_MS", "1000"),
        ])
        .unwrap();
        assert_eq!(
            c.nats.servers(),
            ["nats://a:4222", "nats://b:4222", "nats://c:4222"]
        );
        assert_eq!(c.nats.stream_replicas, 3);
        assert_eq!(c.outbox.backoff_max, Duration::from_secs(1));

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
    fn federation_is_on_and_its_representations_bounded_by_default() {
        let c = config(&[]).unwrap();
        assert!(c.query.federation);
        assert_eq!(c.query.max_representations, 100);
        let off = config(&[("FEDERATION", "false"), ("QUERY_MAX_REPRESENTATIONS", "10")]).unwrap();
        assert!(!off.query.federation);
        assert_eq!(off.query.max_representations, 10);
        assert!(config(&[("FEDERATION", "yes")]).is_err());
        assert!(config(&[("QUERY_MAX_REPRESENTATIONS", "0")]).is_err());
    }

    #[test]
    fn malformed_values_are_reported_by_name() {
        let err = config(&[("LISTEN_ADDR", "nowhere")]).unwrap_err();
        assert!(err.0.contains("LISTEN_ADDR"), "{}", err.0);
        assert!(config(&[("APP_ENV", "staging")]).is_err());
    }

    /// The variables `.env.example` sets (`NAME=value`) or shows commented
    /// out (`# NAME=value`, those without a default), from the file itself.
    fn env_example() -> Vec<(String, Option<String>)> {
        let text = include_str!("../../.env.example");
        text.lines()
            .filter_map(|line| {
                let (commented, line) = match line.strip_prefix('#') {
                    Some(rest) => (true, rest.trim_start()),
                    None => (false, line),
                };
                let (name, value) = line.split_once('=')?;
                let is_name = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                is_name.then(|| (name.to_owned(), (!commented).then(|| value.to_owned())))
            })
            .collect()
    }

    /// Every variable the configuration reads, in the order it reads them.
    fn variables_read() -> Vec<String> {
        let asked = std::cell::RefCell::new(Vec::new());
        Config::from_lookup(|name| {
            asked.borrow_mut().push(name.to_owned());
            None
        })
        .expect("the defaults parse");
        asked.into_inner()
    }

    #[test]
    fn env_example_shows_the_code_s_defaults_and_every_variable() {
        let example = env_example();
        let set: Vec<(&str, &str)> = example
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.as_deref()?)))
            .collect();
        // The values it shows are the defaults: the same configuration.
        assert_eq!(config(&set).unwrap(), config(&[]).unwrap());
        // It lists every variable the code reads, and nothing else.
        let read = variables_read();
        for name in &read {
            assert!(
                example.iter().any(|(n, _)| n == name),
                "{name} is read but not in .env.example"
            );
        }
        for (name, _) in &example {
            assert!(
                read.contains(name) || name == "RUST_LOG",
                "{name} is in .env.example but the code never reads it"
            );
        }
    }

    #[test]
    fn the_configuration_reference_lists_every_variable_with_its_default() {
        let reference = include_str!("../../docs/configuration.md");
        // `| `NAME` | `default` | meaning |`: the default when it is one literal.
        let rows: Vec<(&str, &str)> = reference
            .lines()
            .filter_map(|line| {
                let mut cells = line.split('|').map(str::trim).skip(1);
                let name = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
                Some((name, cells.next()?))
            })
            .collect();
        let example = env_example();
        for name in variables_read() {
            let (_, default) = rows
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| panic!("docs/configuration.md has no row for `{name}`"));
            // A literal, not another variable's name (`DATABASE_MAX_CONNECTIONS`).
            let literal = default
                .strip_prefix('`')
                .and_then(|d| d.strip_suffix('`'))
                .filter(|d| !d.contains('`') && !variables_read().iter().any(|n| n == d));
            let shown = example
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| v.as_deref());
            if let (Some(literal), Some(shown)) = (literal, shown) {
                assert_eq!(literal, shown, "the default of {name}");
            }
        }
    }

    #[test]
    fn the_operations_guide_explains_every_limit() {
        let guide = include_str!("../../docs/operations.md");
        let limits = [
            "HTTP_",
            "SHUTDOWN_",
            "QUERY_",
            "RESPONSE_",
            "WS_",
            "RATE_LIMIT_",
            "SEARCH_",
            "PERSISTED_QUERIES_",
            "REQUEST_TIMEOUT_",
        ];
        for name in variables_read() {
            if limits.iter().any(|prefix| name.starts_with(prefix)) {
                assert!(
                    guide.contains(&format!("`{name}`")),
                    "docs/operations.md does not explain the limit `{name}`"
                );
            }
        }
    }
}
