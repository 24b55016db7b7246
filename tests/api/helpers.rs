//! The test harness: every test spawns the real app on port 0 against its
//! own fresh PostgreSQL database, and talks to it over HTTP as a given user.

use std::sync::Arc;

use commerce::auth::Authenticator;
use commerce::config::Config;
use commerce::startup::{AppState, Application};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::oneshot;

/// The PostgreSQL server the tests use (each test creates its own database).
pub fn postgres_base_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

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
    owns_database: bool,
}

/// Options for [`spawn_app_with`].
#[derive(Default)]
pub struct Options {
    /// Seed the demo catalog (off by default so tests start empty).
    pub seed: bool,
    /// Reuse this database instead of a fresh one (several instances, one database).
    pub database: Option<String>,
    /// Extra or overriding environment variables.
    pub env: Vec<(&'static str, String)>,
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
    let database_url = format!("{}/{db_name}", postgres_base_url());
    let mut vars: Vec<(&'static str, String)> = vec![
        ("DATABASE_URL", database_url.clone()),
        ("LISTEN_ADDR", "127.0.0.1:0".into()),
        ("JWT_SECRET", "test-secret".into()),
        ("SEED_DEMO_DATA", options.seed.to_string()),
    ];
    vars.extend(options.env);
    let config = Config::from_lookup(|k| {
        vars.iter()
            .rev()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
    })
    .expect("test config");
    let secret = config.jwt_secret.clone();
    let app = Application::build(config).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
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
        owns_database,
    }
}

/// A GraphQL response, split for assertions.
#[derive(Debug, Clone)]
pub struct Gql {
    /// The HTTP status.
    pub status: u16,
    /// The whole JSON body.
    pub body: Value,
}

impl Gql {
    /// `data`, asserting there were no top-level errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        &self.body["data"]
    }

    /// The `extensions.code` of each top-level error.
    pub fn error_codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        e["extensions"]["code"]
                            .as_str()
                            .unwrap_or("<none>")
                            .to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The one top-level error code, asserting there is exactly one.
    pub fn error_code(&self) -> String {
        let codes = self.error_codes();
        assert_eq!(codes.len(), 1, "expected one error: {}", self.body);
        codes[0].clone()
    }

    /// The `userErrors` codes of mutation `name`.
    pub fn user_error_codes(&self, name: &str) -> Vec<String> {
        self.data()[name]["userErrors"]
            .as_array()
            .expect("userErrors")
            .iter()
            .map(|e| e["code"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The `userErrors` fields of mutation `name`, joined with dots.
    pub fn user_error_fields(&self, name: &str) -> Vec<String> {
        self.data()[name]["userErrors"]
            .as_array()
            .expect("userErrors")
            .iter()
            .map(|e| {
                e["field"]
                    .as_array()
                    .map(|f| {
                        f.iter()
                            .map(|p| p.as_str().unwrap_or_default())
                            .collect::<Vec<_>>()
                            .join(".")
                    })
                    .unwrap_or_default()
            })
            .collect()
    }
}

impl TestApp {
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

    /// Creates a product as an admin; returns its global id.
    pub async fn create_product(&self, name: &str, price: i64, stock: i32) -> String {
        let r = self
            .as_admin(
                "mutation($i: CreateProductInput!) { createProduct(input: $i) { product { id } userErrors { code } } }",
                json!({ "i": { "name": name, "price": price.to_string(), "stock": stock } }),
            )
            .await;
        r.data()["createProduct"]["product"]["id"]
            .as_str()
            .expect("product created")
            .to_owned()
    }

    /// Charges `amount` to `sub`'s balance.
    pub async fn charge(&self, sub: &str, amount: i64) -> Gql {
        self.as_user(
            sub,
            "mutation($i: ChargeBalanceInput!) { chargeBalance(input: $i) { user { balance } userErrors { code field message } } }",
            json!({ "i": { "amount": amount.to_string() } }),
        )
        .await
    }

    /// The balance of `sub` as stored, and the sum of their ledger.
    pub async fn balance_and_ledger(&self, sub: &str) -> (i64, i64) {
        sqlx::query_as(
            "SELECT u.balance, COALESCE((SELECT sum(amount) FROM balance_ledger l WHERE l.user_id = u.id), 0)::BIGINT
             FROM users u WHERE u.subject = $1",
        )
        .bind(sub)
        .fetch_one(&self.pool)
        .await
        .expect("user exists")
    }

    /// A database id out of a global id.
    pub fn db_id(global: &str) -> i64 {
        commerce::graphql::ids::decode_any(global)
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
            // Drop is synchronous and runs inside the test's runtime, so the
            // cleanup gets a runtime of its own on a plain thread.
            let name = self.db_name.clone();
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    if let Ok(pool) =
                        PgPool::connect(&format!("{}/postgres", postgres_base_url())).await
                    {
                        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await;
                        pool.close().await;
                    }
                });
            })
            .join();
        }
    }
}
