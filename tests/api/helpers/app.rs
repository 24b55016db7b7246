//! The app under test: [`spawn_app`] runs the real server in the test's
//! runtime, on port 0, against a fresh PostgreSQL database of its own (a
//! copy of a migrated template: [`super::database::create_migrated`];
//! [`Options`] for anything else), and [`TestApp`] talks to it over HTTP as
//! a given user, and to its database in SQL.

use std::sync::Arc;

use commerce::auth::Authenticator;
use commerce::config::Config;
use commerce::startup::{AppState, Application};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::oneshot;

use super::database::{create_migrated, drop_database, postgres_base_url, set_database};
use super::gql::Gql;

/// The `JWT_SECRET` the test apps sign their tokens with.
pub const TEST_SECRET: &str = "test-secret";

/// A token for `sub`, signed with [`TEST_SECRET`], that expired long ago
/// (well beyond the verification's leeway).
pub fn expired_token(sub: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({ "sub": sub, "exp": 1000 }),
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .expect("a token")
}

/// A `JWT_SECRET` that production accepts.
pub const PRODUCTION_SECRET: &str = "a-production-secret-of-32-characters!";

/// A running app on a fresh database.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// A pool on the test's database, for checking invariants in SQL.
    pub pool: PgPool,
    /// The app's shared state (metrics, services).
    pub state: AppState,
    /// The database's name.
    pub db_name: String,
    auth: Arc<Authenticator>,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
    owns_database: bool,
}

/// Options for [`spawn_app_with`].
#[derive(Default)]
pub struct Options {
    /// Seed the demo catalog (off by default so tests start empty).
    pub seed: bool,
    /// Reuse this database instead of a fresh one (several instances, one database).
    pub database: Option<String>,
    /// Relay the outbox to the NATS server at this URL (a test's own
    /// [`super::nats::NatsServer`]); without it the relay is off, so
    /// that tests never publish to the machine's shared NATS.
    pub nats: Option<String>,
    /// Reach PostgreSQL through this local port (a test's
    /// [`super::tcp_proxy::TcpProxy`]) instead of directly.
    pub database_proxy: Option<u16>,
    /// Another PostgreSQL server than [`postgres_base_url`]'s
    /// (`postgres://user@host:port`, a test's own).
    pub postgres: Option<String>,
    /// Extra or overriding environment variables.
    pub env: Vec<(&'static str, String)>,
    /// Settings of the fresh database (`ALTER DATABASE .. SET`), in force
    /// for every session the app opens.
    pub database_settings: Vec<(&'static str, &'static str)>,
}

impl Options {
    /// The defaults, with these environment variables set (or overridden).
    pub fn with_env(env: &[(&'static str, &str)]) -> Self {
        Self {
            env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            ..Default::default()
        }
    }
}

/// Spawns the app on a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

/// Spawns the app with options.
pub async fn spawn_app_with(options: Options) -> TestApp {
    let owns_database = options.database.is_none();
    let db_name = options
        .database
        .clone()
        .unwrap_or_else(|| format!("test_{}", uuid::Uuid::new_v4().simple()));
    if owns_database && options.postgres.is_none() {
        create_migrated(&db_name).await;
        set_database(&db_name, &options.database_settings).await;
    }
    let postgres = options.postgres.clone().unwrap_or_else(postgres_base_url);
    let database_url = format!("{postgres}/{db_name}");
    let app_database_url = match options.database_proxy {
        Some(port) => format!("postgres://postgres@127.0.0.1:{port}/{db_name}"),
        None => database_url.clone(),
    };
    let mut vars: Vec<(&'static str, String)> = vec![
        ("DATABASE_URL", app_database_url),
        ("LISTEN_ADDR", "127.0.0.1:0".into()),
        ("JWT_SECRET", TEST_SECRET.into()),
        ("SEED_DEMO_DATA", options.seed.to_string()),
        ("OUTBOX_RELAY", options.nats.is_some().to_string()),
        ("CHANGES_VIA_NATS", options.nats.is_some().to_string()),
        // Connections as needed, not a fixed pool per test app: many apps
        // share the machine's PostgreSQL (a test may set it, see startup.rs).
        ("DATABASE_MIN_CONNECTIONS", "0".into()),
        // A test's many clients all come from 127.0.0.1; the tests of the
        // per-client caps set their own.
        ("HTTP_MAX_CONNECTIONS_PER_CLIENT", "1024".into()),
        ("WS_MAX_CONNECTIONS_PER_CLIENT", "10000".into()),
        // No background sweep: its statements would land in the counts of
        // the thread's other tests (see logs.rs); the tests of expiry set
        // their own interval or sweep by hand.
        ("ORDER_SWEEP_INTERVAL_MS", "0".into()),
    ];
    if let Some(url) = options.nats {
        vars.push(("NATS_URL", url));
    }
    vars.extend(options.env);
    let config = Config::from_lookup(|k| {
        vars.iter()
            .rev()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
    })
    .expect("test config");
    let secret = config.jwt_secret.expose_secret().to_owned();
    let app = Application::build(config).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let (tx, rx) = oneshot::channel::<()>();
    let served = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    let pool = PgPool::connect(&database_url).await.expect("test pool");
    TestApp {
        address,
        pool,
        state,
        db_name,
        auth: Arc::new(Authenticator::new(&secret)),
        client: reqwest::Client::new(),
        shutdown: Some(tx),
        served: Some(served),
        owns_database,
    }
}

impl TestApp {
    /// Shuts the app down gracefully and waits until it has stopped.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.expect("the app stopped without panicking");
        }
    }

    /// A token for `sub`.
    pub fn token(&self, sub: &str) -> String {
        self.auth.issue(sub, false, 3600).expect("token")
    }

    /// An admin token for `sub`.
    pub fn admin_token(&self, sub: &str) -> String {
        self.auth.issue(sub, true, 3600).expect("token")
    }

    /// Posts one GraphQL operation with an optional bearer token.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        self.post_json(token, &json!({ "query": query, "variables": variables }))
            .await
    }

    /// Posts any JSON body to `/graphql`.
    pub async fn post_json(&self, token: Option<&str>, body: &Value) -> Gql {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Gql { status, body }
    }

    /// Runs an operation as user `sub`.
    pub async fn as_user(&self, sub: &str, query: &str, variables: Value) -> Gql {
        self.gql(Some(&self.token(sub)), query, variables).await
    }

    /// Runs an operation as an admin.
    pub async fn as_admin(&self, query: &str, variables: Value) -> Gql {
        self.gql(Some(&self.admin_token("admin")), query, variables)
            .await
    }

    /// A raw GET on `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent")
    }

    /// A GET on `/graphql` with `params` in the query string, as `token`.
    pub async fn get_graphql(&self, token: &str, params: &[(&str, &str)]) -> reqwest::Response {
        let url = reqwest::Url::parse_with_params(&format!("{}/graphql", self.address), params)
            .expect("a valid url");
        self.client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// Fails the test if any cross-table invariant is broken.
    pub async fn assert_invariants(&self) {
        let violations = commerce::domain::audit::check(&self.pool)
            .await
            .expect("audit runs");
        assert!(violations.is_empty(), "broken invariants: {violations:#?}");
    }

    /// A count of rows (`sql` selects `count(*)`).
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    /// A database id out of a global id.
    pub fn db_id(global: &str) -> i64 {
        commerce::global_id::decode_any(global)
            .expect("global id")
            .1
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if self.owns_database {
            drop_database(&self.db_name);
        }
    }
}
