//! Bad days in the data centre: PostgreSQL going away and coming back, and
//! an app instance SIGKILLed in the middle of a payment rush.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_graphql::futures_util::{StreamExt, stream};
use serde_json::{Value, json};

use crate::helpers::net::free_port;
use crate::helpers::process::{Spawned, wait_until_serving};
use crate::helpers::races::outcome_of_response;
use crate::helpers::tcp_proxy::TcpProxy;
use crate::helpers::wait::{eventually, wait_until};
use crate::helpers::{
    Options, PAY_ORDER, TEST_SECRET, TestApp, buyers, postgres_base_url, spawn_app, spawn_app_with,
};

/// Where the machine's PostgreSQL listens (`host:port` of the test URL).
fn postgres_addr() -> String {
    let url = postgres_base_url();
    let host = url.rsplit('@').next().unwrap_or("127.0.0.1:5432");
    host.trim_end_matches('/').to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_rides_out_a_database_outage_and_recovers_by_itself() {
    let proxy = TcpProxy::start(&postgres_addr()).await;
    let app = spawn_app_with(Options {
        database_proxy: Some(proxy.port()),
        env: vec![("DATABASE_ACQUIRE_TIMEOUT_MS", "500".into())],
        ..Default::default()
    })
    .await;
    app.create_product("Kettle", 3_000, 5).await;
    assert_eq!(
        app.charge("ann", 100).await.error_codes(),
        Vec::<String>::new()
    );
    assert_eq!(app.get("/readyz").await.status(), 200);

    proxy.cut();
    // Answers come while the database is still away: refusals within the
    // timeouts, never a hang.
    eventually("answers while the database is away", async {
        assert_eq!(app.get("/readyz").await.status(), 503);
        let r = app
            .gql(None, "{ products { totalCount } }", json!({}))
            .await;
        assert_eq!(r.error_code(), "SERVICE_UNAVAILABLE", "{}", r.body);
        let r = app.charge("ann", 100).await;
        assert_eq!(r.error_code(), "SERVICE_UNAVAILABLE", "{}", r.body);
        assert_eq!(
            app.get("/healthz").await.status(),
            200,
            "alive all the same"
        );
    })
    .await;

    proxy.restore().await;
    wait_until("the server to be ready again", async || {
        app.get("/readyz").await.status() == 200
    })
    .await;
    let r = app
        .gql(None, "{ products { totalCount } }", json!({}))
        .await;
    assert_eq!(r.data()["products"]["totalCount"], 1);
    assert_eq!(
        app.charge("ann", 100).await.error_codes(),
        Vec::<String>::new()
    );
    // The charge refused during the outage left nothing behind.
    assert_eq!(app.balance_and_ledger("ann").await, (200, 200));
    app.assert_invariants().await;
}

/// A second instance of the app as a real process, on the test app's
/// database, so that it can be SIGKILLed or SIGTERMed.
struct Process {
    server: Spawned,
    address: String,
}

impl Process {
    async fn start(app: &TestApp) -> Self {
        let port = free_port();
        let server = Spawned::spawn(
            Command::new(env!("CARGO_BIN_EXE_commerce"))
                .env(
                    "DATABASE_URL",
                    format!("{}/{}", postgres_base_url(), app.db_name),
                )
                .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
                .env("JWT_SECRET", TEST_SECRET)
                .env("OUTBOX_RELAY", "false")
                .env("SEED_DEMO_DATA", "false")
                .env("RUST_LOG", "error")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let address = format!("http://127.0.0.1:{port}");
        wait_until_serving(&address).await;
        Self { server, address }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_killed_mid_rush_leaves_every_invariant_intact() {
    const STOCK: i32 = 150;
    let app = Arc::new(spawn_app().await);
    let victim = Process::start(&app).await;
    let product = app.create_product("Console", 1_000, STOCK).await;
    let buyers = buyers(&app, &product, 300, "rushing", 10_000, 1).await;

    // Half the rush goes to the instance that dies once 5 payments are answered.
    let answered = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::new();
    let victim_url = format!("{}/graphql", victim.address);
    let rush = buyers.iter().enumerate().map(|(i, (buyer, order))| {
        let url = if i % 2 == 0 {
            format!("{}/graphql", app.address)
        } else {
            victim_url.clone()
        };
        let token = app.token(buyer);
        let (client, answered) = (client.clone(), answered.clone());
        let body = json!({ "query": PAY_ORDER, "variables": { "i": { "orderId": order } } });
        async move {
            let sent = client.post(url).bearer_auth(token).json(&body).send().await;
            let outcome = outcome_of_response(sent, "payOrder").await;
            answered.fetch_add(1, Ordering::SeqCst);
            (i, outcome)
        }
    });
    let mut victim = victim;
    let killer = {
        let answered = answered.clone();
        async move {
            while answered.load(Ordering::SeqCst) < 5 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let _ = victim.server.child.kill(); // SIGKILL
            let _ = victim.server.child.wait();
        }
    };
    let (outcomes, ()) = tokio::join!(
        stream::iter(rush).buffer_unordered(100).collect::<Vec<_>>(),
        killer
    );
    let mut tally: HashMap<String, usize> = HashMap::new();
    for (_, o) in &outcomes {
        *tally.entry(o.clone()).or_default() += 1;
    }
    println!("outcomes with one instance killed: {tally:?}");
    assert!(
        tally.contains_key("lost"),
        "the kill landed mid-rush: {tally:?}"
    );

    let check = |app: Arc<TestApp>| async move {
        app.assert_invariants().await;
        let (stock, sold): (i32, i64) = sqlx::query_as(
            "SELECT p.stock, COALESCE((SELECT sum(i.quantity) FROM order_items i
                 JOIN orders o ON o.id = i.order_id AND o.status = 'PAID'
                 WHERE i.product_id = p.id), 0)
             FROM products p",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(
            i64::from(stock) + sold,
            i64::from(STOCK),
            "stock + sold = initial"
        );
        sold
    };
    check(app.clone()).await;

    // Every payment that got no answer is retried on the survivor: it was
    // either settled before the kill (ORDER_ALREADY_PAID) or not at all.
    for (i, outcome) in &outcomes {
        if outcome == "lost" {
            let (buyer, order) = &buyers[*i];
            let r = app.pay(buyer, order, None).await;
            let codes = r.user_error_codes("payOrder");
            assert!(
                codes.is_empty()
                    || codes == ["ORDER_ALREADY_PAID"]
                    || codes == ["PRODUCT_OUT_OF_STOCK"],
                "{}",
                r.body
            );
        }
    }
    assert_eq!(
        check(app.clone()).await,
        i64::from(STOCK),
        "all units sold in the end"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_exhausted_server_answers_service_unavailable_and_never_hangs() {
    let app = Arc::new(
        spawn_app_with(Options {
            env: vec![
                ("DATABASE_MAX_CONNECTIONS", "2".into()),
                ("DATABASE_ACQUIRE_TIMEOUT_MS", "300".into()),
                ("DATABASE_STATEMENT_TIMEOUT_MS", "1000".into()),
                ("REQUEST_TIMEOUT_MS", "3000".into()),
            ],
            ..Default::default()
        })
        .await,
    );
    app.create_product("Lamp", 2_000, 3).await;
    // Another client holds the catalog locked, so every read blocks.
    let mut blocker = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let reads = (0..8).map(|_| {
        let app = app.clone();
        async move {
            app.gql(None, "{ products { nodes { name } } }", json!({}))
                .await
                .error_code()
        }
    });
    // Answered while the lock is still held: within the timeouts, never
    // waiting for the lock.
    let codes = eventually(
        "answers while the catalog is locked",
        async_graphql::futures_util::future::join_all(reads),
    )
    .await;
    assert!(
        codes.iter().all(|c| c == "SERVICE_UNAVAILABLE"),
        "{codes:?}"
    );
    blocker.rollback().await.unwrap();
    let r = app
        .gql(None, "{ products { totalCount } }", json!({}))
        .await;
    assert_eq!(r.data()["products"]["totalCount"], 1, "serving again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_lets_the_request_in_flight_finish_then_exits() {
    let app = spawn_app().await;
    app.create_product("Clock", 4_000, 2).await;
    let server = Process::start(&app).await;
    let mut blocker = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    // A request that is in flight (waiting on the lock) when SIGTERM comes.
    let in_flight = tokio::spawn({
        let url = format!("{}/graphql", server.address);
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({ "query": "{ products { totalCount } }" }))
                .send()
                .await?
                .json::<Value>()
                .await
        }
    });
    wait_until("the request to wait on the lock", async || {
        app.queries_waiting_on_a_lock().await > 0
    })
    .await;
    let pid = server.server.child.id().to_string();
    let signalled = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(signalled.success());
    // New connections are refused while the request in flight still runs.
    let healthz = format!("{}/healthz", server.address);
    wait_until("the server to refuse new connections", async || {
        reqwest::get(&healthz).await.is_err()
    })
    .await;
    assert!(!in_flight.is_finished(), "the request in flight still runs");
    blocker.rollback().await.unwrap();
    let body = in_flight
        .await
        .unwrap()
        .expect("the request in flight was answered");
    assert_eq!(body["data"]["products"]["totalCount"], 1, "{body}");
    let mut server = server;
    let status = server.server.exited().await;
    assert!(status.success(), "a clean exit: {status:?}");
}
