//! The test harness: every test spawns the real app on port 0 against its
//! own fresh PostgreSQL database, and talks to it over HTTP as a given user.

use std::sync::Arc;

use commerce::auth::Authenticator;
use commerce::config::Config;
use commerce::startup::{AppState, Application};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::oneshot;

/// `createOrder`, with everything the tests look at.
pub const CREATE_ORDER: &str = "mutation($i: CreateOrderInput!) { createOrder(input: $i) {
    order { id status totalAmount discountAmount payableAmount paymentUrl createdAt paidAt
            items { product { id name } quantity unitPrice lineTotal } }
    userErrors { code field message } } }";

/// `payOrder`, with everything the tests look at.
pub const PAY_ORDER: &str = "mutation($i: PayOrderInput!) { payOrder(input: $i) {
    order { id status totalAmount discountAmount payableAmount paidAt coupon { id status } }
    payment { id amount paidAt order { id } }
    userErrors { code field message } } }";

/// A `JWT_SECRET` that production accepts.
pub const PRODUCTION_SECRET: &str = "a-production-secret-of-32-characters!";

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
    /// [`crate::nats_server::NatsServer`]); without it the relay is off, so
    /// that tests never publish to the machine's shared NATS.
    pub nats: Option<String>,
    /// Reach PostgreSQL through this local port (a test's
    /// [`crate::tcp_proxy::TcpProxy`]) instead of directly.
    pub database_proxy: Option<u16>,
    /// Another PostgreSQL server than [`postgres_base_url`]'s
    /// (`postgres://user@host:port`, a test's own).
    pub postgres: Option<String>,
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
    let postgres = options.postgres.clone().unwrap_or_else(postgres_base_url);
    let database_url = format!("{postgres}/{db_name}");
    let app_database_url = match options.database_proxy {
        Some(port) => format!("postgres://postgres@127.0.0.1:{port}/{db_name}"),
        None => database_url.clone(),
    };
    let mut vars: Vec<(&'static str, String)> = vec![
        ("DATABASE_URL", app_database_url),
        ("LISTEN_ADDR", "127.0.0.1:0".into()),
        ("JWT_SECRET", "test-secret".into()),
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

/// `count` users named `<prefix>-<i>`, each charged `balance` and holding
/// one PENDING order for `quantity` units of `product`, set up 50 at a
/// time; returns (user, order id) pairs.
pub async fn buyers(
    app: &Arc<TestApp>,
    product: &str,
    count: usize,
    prefix: &str,
    balance: i64,
    quantity: i32,
) -> Vec<(String, String)> {
    use async_graphql::futures_util::{StreamExt, stream};
    let setups = (0..count).map(|i| {
        let (app, product) = (app.clone(), product.to_owned());
        let user = format!("{prefix}-{i}");
        async move {
            app.charge(&user, balance).await;
            let order = app.create_order(&user, &[(&product, quantity)]).await;
            (user, order)
        }
    });
    stream::iter(setups).buffer_unordered(50).collect().await
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

    /// Creates an order for `sub` from (product id, quantity) lines; returns its id.
    pub async fn create_order(&self, sub: &str, lines: &[(&str, i32)]) -> String {
        let items: Vec<Value> = lines
            .iter()
            .map(|(id, q)| json!({ "productId": id, "quantity": q }))
            .collect();
        let r = self
            .as_user(sub, CREATE_ORDER, json!({ "i": { "items": items } }))
            .await;
        r.data()["createOrder"]["order"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("order created: {}", r.body))
            .to_owned()
    }

    /// `sub` pays `order`, with a coupon if given.
    pub async fn pay(&self, sub: &str, order: &str, coupon: Option<&str>) -> Gql {
        self.as_user(
            sub,
            PAY_ORDER,
            json!({ "i": { "orderId": order, "userCouponId": coupon } }),
        )
        .await
    }

    /// A coupon campaign, written directly (the coupon API is tested on its
    /// own); `valid` is its window in hours from now.
    pub async fn create_campaign(
        &self,
        discount_type: &str,
        value: i32,
        total: i32,
        valid: (i64, Option<i64>),
    ) -> i64 {
        sqlx::query_scalar(
            "INSERT INTO coupons (name, discount_type, discount_value, total_quantity, valid_from, valid_until)
             VALUES ('test', $1, $2, $3, now() + make_interval(hours => $4::INT),
                     now() + make_interval(hours => $5::INT))
             RETURNING id",
        )
        .bind(discount_type)
        .bind(value)
        .bind(total)
        .bind(valid.0)
        .bind(valid.1)
        .fetch_one(&self.pool)
        .await
        .expect("campaign")
    }

    /// Issues a coupon of `campaign` to `sub` directly; returns its global id.
    pub async fn grant_coupon(&self, sub: &str, campaign: i64) -> String {
        self.user_id(sub).await;
        let id: i64 = sqlx::query_scalar(
            "WITH c AS (UPDATE coupons SET issued_quantity = issued_quantity + 1 WHERE id = $2)
             INSERT INTO user_coupons (user_id, coupon_id)
             SELECT id, $2 FROM users WHERE subject = $1 RETURNING id",
        )
        .bind(sub)
        .bind(campaign)
        .fetch_one(&self.pool)
        .await
        .expect("coupon granted");
        commerce::global_id::encode(commerce::global_id::types::USER_COUPON, id)
    }

    /// The database id of `sub`, creating the user as their first request would.
    pub async fn user_id(&self, sub: &str) -> i64 {
        let r = self.as_user(sub, "{ viewer { id } }", json!({})).await;
        Self::db_id(r.data()["viewer"]["id"].as_str().expect("viewer id"))
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

thread_local! {
    /// The statements counted on this thread (see [`count_statements`]).
    static STATEMENTS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// The WARN and ERROR events logged on this thread (see [`warnings`]).
    static WARNINGS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Installs, once, the process-wide subscriber that counts statements and
/// records warnings into counters of the thread that logs them; a
/// `#[tokio::test]` (current-thread) runs the app on the test's own thread,
/// so what a test reads is its own alone. (A subscriber scoped to the
/// thread would be simpler, but `tracing` caches its interest in a callsite
/// globally, and tests starting and ending such subscribers in parallel
/// lose events.)
fn install_recorder() {
    use std::sync::Once;
    use tracing_subscriber::layer::SubscriberExt;

    /// Writes an event's fields as `target: message field=value ...`.
    struct Line(String);
    impl tracing::field::Visit for Line {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.0.push_str(&format!(" {value:?}"));
            } else {
                self.0.push_str(&format!(" {}={value:?}", field.name()));
            }
        }
    }
    struct Recorder;
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorder {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let meta = event.metadata();
            if meta.target() == "sqlx::query" {
                STATEMENTS.with(|n| n.set(n.get() + 1));
            }
            if *meta.level() <= tracing::Level::WARN {
                let mut line = Line(format!("{} {}:", meta.level(), meta.target()));
                event.record(&mut line);
                WARNINGS.with(|w| w.borrow_mut().push(line.0));
            }
        }
    }
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(Recorder);
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
    });
}

/// Counts the SQL statements the app runs while `work` runs (sqlx reports
/// every statement it executes as a `tracing` event); run it in a
/// current-thread test (see [`install_recorder`]).
pub async fn count_statements<F: std::future::Future>(work: F) -> (F::Output, usize) {
    install_recorder();
    STATEMENTS.with(|n| n.set(0));
    let output = work.await;
    (output, STATEMENTS.with(std::cell::Cell::get))
}

/// The WARN and ERROR log lines of the app (and of sqlx) while `work`
/// runs, each as `LEVEL target: message fields`; run it in a
/// current-thread test (see [`install_recorder`]).
pub async fn warnings<F: std::future::Future>(work: F) -> (F::Output, Vec<String>) {
    install_recorder();
    WARNINGS.with(|w| w.borrow_mut().clear());
    let output = work.await;
    (output, WARNINGS.with(|w| w.take()))
}
