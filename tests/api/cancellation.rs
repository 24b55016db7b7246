//! Requests abandoned half way: a client that hangs up, or the request
//! timeout firing, at any point of a write's transaction. None may leave a
//! pooled connection inside a transaction, where it would serve stale
//! snapshots to the requests after it.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::futures_util::future::join_all;
use serde_json::json;

use crate::helpers::wait::wait_until;
use crate::helpers::{Options, TestApp, spawn_app_with};

const CHARGE: &str = "mutation { chargeBalance(input: { amount: \"1\" }) { user { balance } } }";

/// Connections of the app's pool that sit in a transaction, doing nothing.
async fn idle_in_transaction(app: &TestApp) -> i64 {
    app.count(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'commerce'
            AND state LIKE 'idle in transaction%'",
    )
    .await
}

/// Waits until no connection of the app is idle in a transaction: the
/// transactions still running when the load stopped finish, an abandoned
/// one never does (PostgreSQL's own backstop is ten minutes away).
async fn assert_none_left_in_a_transaction(app: &TestApp) {
    wait_until(
        "no pooled connection to be left in a transaction",
        async || idle_in_transaction(app).await == 0,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn abandoned_writes_leave_no_connection_in_a_transaction() {
    // PostgreSQL's own backstop is pushed out of the way: the server must
    // not need it.
    let env = |extra: &[(&'static str, &str)]| {
        let mut env: Vec<(&'static str, String)> = vec![
            ("DATABASE_MAX_CONNECTIONS", "8".into()),
            ("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS", "600000".into()),
        ];
        env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        env
    };
    let a = Arc::new(
        spawn_app_with(Options {
            env: env(&[]),
            ..Default::default()
        })
        .await,
    );
    let shared = |extra: &[(&'static str, &str)]| Options {
        database: Some(a.db_name.clone()),
        env: env(extra),
        ..Default::default()
    };
    let b = spawn_app_with(shared(&[])).await;
    // An instance whose request timeout fires in the middle of everything.
    let hasty = spawn_app_with(shared(&[("REQUEST_TIMEOUT_MS", "2")])).await;

    // Clients that hang up 0.2 to 4 ms into their request, many at once.
    let client = reqwest::Client::new();
    for round in 0..4 {
        let hang_ups = (0..100).map(|i| {
            let (a, client) = (a.clone(), client.clone());
            let token = a.token(&format!("ann-{round}-{}", i % 10));
            let patience = Duration::from_micros(200 + fastrand::u64(0..3_800));
            async move {
                let _ = client
                    .post(format!("{}/graphql", a.address))
                    .bearer_auth(token)
                    .json(&json!({ "query": CHARGE }))
                    .timeout(patience)
                    .send()
                    .await;
            }
        });
        let timeouts = (0..50).map(|i| {
            let hasty = &hasty;
            async move {
                hasty
                    .as_user(&format!("bea-{}", i % 10), CHARGE, json!({}))
                    .await
            }
        });
        tokio::join!(join_all(hang_ups), join_all(timeouts));
    }
    assert_none_left_in_a_transaction(&a).await;

    // Reads after a write see it, whichever pooled connection serves them.
    for expected in 1..=40 {
        let r = b.charge("reader", 1).await;
        assert!(r.body["errors"].is_null(), "{}", r.body);
        let r = a
            .as_user("reader", "{ viewer { balance } }", json!({}))
            .await;
        assert_eq!(r.data()["viewer"]["balance"], expected.to_string());
    }
    let r = a.charge("reader", 1).await;
    assert_eq!(r.data()["chargeBalance"]["user"]["balance"], "41");
    a.assert_invariants().await;
}
