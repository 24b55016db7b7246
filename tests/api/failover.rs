//! PostgreSQL failover: the primary of a Patroni cluster crashes in the
//! middle of a payment and coupon rush, and the standby takes over.
//!
//! Needs the cluster `.ci/failover` starts (`tests/failover/cluster`: etcd,
//! two Patroni nodes in `synchronous_mode`, HAProxy routing to the primary),
//! so it is `#[ignore]`d in a plain `cargo test`; `.ci/failover` runs it with
//! `TEST_POSTGRES_URL` pointing at HAProxy and `FAILOVER_CLUSTER_DIR` naming
//! the cluster, which it kills the primary of.
//!
//! What it proves: every payment answered PAID is PAID after the failover,
//! with its payment and ledger rows; nothing is applied twice; requests
//! during the failover answer `SERVICE_UNAVAILABLE` (never an internal
//! error, never a dropped connection); clients that retry (as that code
//! says they may) all end with a definite answer; coupons are never
//! over-issued; `commerce audit` holds; and the server recovers by itself.

use std::collections::{BTreeMap, HashSet};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_graphql::futures_util::{StreamExt, stream};
use serde_json::json;
use tokio::sync::Mutex;

use crate::helpers::races::outcome_of_response;
use crate::helpers::wait::eventually;
use crate::helpers::{Options, PAY_ORDER, TestApp, buyers, postgres_base_url, spawn_app_with};

const ISSUE_COUPON: &str = "mutation($i: IssueCouponInput!) { issueCoupon(input: $i) {
    userCoupon { id } userErrors { code } } }";

/// The cluster's control script.
const CLUSTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/failover/cluster");

/// One request of the rush: a payment of an order, or a coupon claim.
#[derive(Clone)]
enum Task {
    Pay { buyer: String, order: String },
    Claim { user: String },
}

/// One attempt at a task, as the client saw it.
struct Attempt {
    task: usize,
    sent: Instant,
    outcome: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the Patroni cluster that .ci/failover starts"]
async fn a_primary_crash_mid_rush_loses_no_confirmed_payment_and_the_server_recovers_by_itself() {
    const PAYERS: usize = 300;
    const CLAIMERS: usize = 300;
    const COUPONS: i32 = 120;
    const STOCK: i32 = 100_000;
    /// Payments answered before the primary is killed.
    const KILL_AFTER: usize = 60;
    let cluster = std::env::var("FAILOVER_CLUSTER_DIR")
        .expect("FAILOVER_CLUSTER_DIR names the cluster (run .ci/failover)");
    // The server's warnings and errors (what it logs of each failure) are
    // part of the test's output. A process-wide subscriber, which the
    // statement-counting tests would refuse: .ci/failover runs this test
    // alone.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn,sqlx=error")
        .with_test_writer()
        .try_init();
    println!("PostgreSQL through HAProxy at {}", postgres_base_url());

    let app = Arc::new(spawn_app_with(Options::default()).await);
    let product = app.create_product("Failover kettle", 100, STOCK).await;
    let campaign = app
        .create_campaign("FIXED_AMOUNT", 10, COUPONS, (-1, None))
        .await;
    let coupon = commerce::global_id::encode(commerce::global_id::types::COUPON, campaign);
    let payers = buyers(&app, &product, PAYERS, "payer", 10_000, 1).await;
    let mut tasks: Vec<Task> = Vec::new();
    for (i, (buyer, order)) in payers.iter().enumerate() {
        tasks.push(Task::Pay {
            buyer: buyer.clone(),
            order: order.clone(),
        });
        if i < CLAIMERS {
            tasks.push(Task::Claim {
                user: format!("claimer-{i}"),
            });
        }
    }

    let client = reqwest::Client::new();
    let url = format!("{}/graphql", app.address);
    let paid = Arc::new(AtomicUsize::new(0));
    let attempts = Arc::new(Mutex::new(Vec::<Attempt>::new()));
    let killed_at = Arc::new(std::sync::OnceLock::<Instant>::new());
    let rush = tasks.iter().cloned().enumerate().map(|(index, task)| {
        let (client, url, app) = (client.clone(), url.clone(), app.clone());
        let (paid, attempts) = (paid.clone(), attempts.clone());
        let coupon = coupon.clone();
        async move {
            let (token, body, mutation) = match &task {
                Task::Pay { buyer, order } => (
                    app.token(buyer),
                    json!({ "query": PAY_ORDER, "variables": { "i": { "orderId": order } } }),
                    "payOrder",
                ),
                Task::Claim { user } => (
                    app.token(user),
                    json!({ "query": ISSUE_COUPON, "variables": { "i": { "couponId": coupon } } }),
                    "issueCoupon",
                ),
            };
            // A client that retries what SERVICE_UNAVAILABLE says is safe
            // to retry, until it gets a definite answer (a request that
            // never ends, or retries that never do, fail the hang guard).
            let definite = format!("a definite answer to {mutation} #{index}");
            eventually(&definite, async {
                loop {
                    let sent = Instant::now();
                    let answer = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await;
                    let outcome = outcome_of_response(answer, mutation).await;
                    let retry = outcome == "SERVICE_UNAVAILABLE";
                    if mutation == "payOrder" && !retry {
                        paid.fetch_add(1, Ordering::SeqCst);
                    }
                    attempts.lock().await.push(Attempt {
                        task: index,
                        sent,
                        outcome,
                    });
                    if !retry {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
            .await;
            // Paced a little, so that the rush is still on when the
            // primary dies (64 clients at once keep commits in flight).
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let killer = {
        let (paid, killed_at, cluster) = (paid.clone(), killed_at.clone(), cluster.clone());
        async move {
            while paid.load(Ordering::SeqCst) < KILL_AFTER {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let output = Command::new(CLUSTER)
                .args(["kill-primary", &cluster])
                .output()
                .expect("the cluster script runs");
            let _ = killed_at.set(Instant::now());
            let victim = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            assert!(
                output.status.success(),
                "kill-primary failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            // When the cluster had a new primary (Patroni's own view).
            let promoted = eventually("a new primary", async {
                loop {
                    let now = Command::new(CLUSTER)
                        .args(["primary", &cluster])
                        .output()
                        .expect("the cluster script runs");
                    let primary = String::from_utf8_lossy(&now.stdout).trim().to_owned();
                    if !primary.is_empty() && primary != victim {
                        return primary;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
            .await;
            (victim, promoted, Instant::now())
        }
    };
    let started = Instant::now();
    let ((), (victim, promoted, promoted_at)) = tokio::join!(
        stream::iter(rush).buffer_unordered(64).collect::<()>(),
        killer
    );
    let killed_at = *killed_at.get().expect("the primary was killed");
    println!(
        "rush of {} requests over {:?}; killed {victim}, {promoted} primary after {:?}",
        tasks.len(),
        started.elapsed(),
        promoted_at - killed_at
    );

    let attempts = attempts.lock().await;
    let mut tally: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for a in attempts.iter() {
        let kind = match tasks[a.task] {
            Task::Pay { .. } => "payOrder",
            Task::Claim { .. } => "issueCoupon",
        };
        *tally.entry((kind, a.outcome.as_str())).or_default() += 1;
    }
    println!("outcomes (every attempt): {tally:?}");
    // Only definite answers, and SERVICE_UNAVAILABLE while the cluster fails
    // over: no internal error, no 5xx, no dropped request.
    for ((kind, outcome), n) in &tally {
        let expected: &[&str] = match *kind {
            "payOrder" => &["ok", "ORDER_ALREADY_PAID", "SERVICE_UNAVAILABLE"],
            _ => &[
                "ok",
                "COUPON_OUT_OF_STOCK",
                "COUPON_ALREADY_ISSUED",
                "SERVICE_UNAVAILABLE",
            ],
        };
        assert!(
            expected.contains(outcome),
            "{n} {kind} answered {outcome}: {tally:?}"
        );
    }
    assert!(
        tally.contains_key(&("payOrder", "SERVICE_UNAVAILABLE")),
        "the kill landed mid-rush: {tally:?}"
    );
    let recovered = attempts
        .iter()
        .filter(|a| a.sent > killed_at && a.outcome == "ok")
        .filter(|a| matches!(tasks[a.task], Task::Pay { .. }))
        .map(|a| a.sent)
        .min()
        .expect("a payment succeeded after the kill: the server recovered by itself");
    let unavailable_after = attempts
        .iter()
        .filter(|a| a.outcome == "SERVICE_UNAVAILABLE")
        .map(|a| a.sent)
        .max()
        .unwrap_or(killed_at);
    println!(
        "kill -> first successful payment: {:?} (new primary after {:?}, so the server \
         recovered {:?} after it); last SERVICE_UNAVAILABLE sent {:?} after the kill",
        recovered - killed_at,
        promoted_at - killed_at,
        recovered.saturating_duration_since(promoted_at),
        unavailable_after.saturating_duration_since(killed_at),
    );

    // Every task ended with a definite answer.
    let mut last: BTreeMap<usize, &str> = BTreeMap::new();
    for a in attempts.iter() {
        last.insert(a.task, &a.outcome);
    }
    assert!(
        last.values().all(|o| *o != "SERVICE_UNAVAILABLE"),
        "every retrying client got a definite answer"
    );
    // A payment answered PAID (or ORDER_ALREADY_PAID on a retry of an
    // attempt whose commit had gone through) is PAID, once, with its ledger
    // entry: nothing confirmed was lost in the failover.
    let confirmed: HashSet<i64> = attempts
        .iter()
        .filter(|a| a.outcome == "ok")
        .filter_map(|a| match &tasks[a.task] {
            Task::Pay { order, .. } => Some(TestApp::db_id(order)),
            Task::Claim { .. } => None,
        })
        .collect();
    let rows: Vec<(i64, String, i64, i64)> = sqlx::query_as(
        "SELECT o.id, o.status,
                (SELECT count(*) FROM payments p WHERE p.order_id = o.id),
                (SELECT count(*) FROM balance_ledger l WHERE l.order_id = o.id AND l.kind = 'PAYMENT')
         FROM orders o",
    )
    .fetch_all(&app.pool)
    .await
    .expect("the orders after the failover");
    assert_eq!(rows.len(), PAYERS);
    for (id, status, payments, ledger) in &rows {
        assert_eq!(
            (status.as_str(), *payments, *ledger),
            ("PAID", 1, 1),
            "order {id} (confirmed: {})",
            confirmed.contains(id)
        );
    }
    let replayed = confirmed.len().abs_diff(PAYERS);
    println!(
        "{} payments answered PAID, {replayed} more committed while their client saw \
         SERVICE_UNAVAILABLE (the retry answered ORDER_ALREADY_PAID); all {PAYERS} PAID once",
        confirmed.len()
    );
    let sold: i64 = app
        .count("SELECT COALESCE(sum(i.quantity), 0)::BIGINT FROM order_items i")
        .await;
    let stock: i64 = app.count("SELECT sum(stock)::BIGINT FROM products").await;
    assert_eq!(stock + sold, i64::from(STOCK), "stock + sold = initial");

    // Coupons: never over-issued, and every claim answered ok holds one.
    let claimed: HashSet<String> = attempts
        .iter()
        .filter(|a| a.outcome == "ok")
        .filter_map(|a| match &tasks[a.task] {
            Task::Claim { user } => Some(user.clone()),
            Task::Pay { .. } => None,
        })
        .collect();
    let holders: Vec<String> = sqlx::query_scalar(
        "SELECT u.subject FROM user_coupons c JOIN users u ON u.id = c.user_id WHERE c.coupon_id = $1",
    )
    .bind(campaign)
    .fetch_all(&app.pool)
    .await
    .expect("the coupons issued");
    let issued: i64 = app
        .count(&format!(
            "SELECT issued_quantity::BIGINT FROM coupons WHERE id = {campaign}"
        ))
        .await;
    println!(
        "coupons: {} of {COUPONS} issued, {} claims answered ok",
        holders.len(),
        claimed.len()
    );
    assert_eq!(issued, holders.len() as i64);
    assert!(issued <= i64::from(COUPONS), "never over-issued");
    let holders: HashSet<String> = holders.into_iter().collect();
    assert!(claimed.is_subset(&holders), "no confirmed coupon lost");
    app.assert_invariants().await;
    let audit = Command::new(env!("CARGO_BIN_EXE_commerce"))
        .arg("audit")
        .env(
            "DATABASE_URL",
            format!("{}/{}", postgres_base_url(), app.db_name),
        )
        .env("RUST_LOG", "error")
        .output()
        .expect("commerce audit runs");
    assert!(
        audit.status.success(),
        "commerce audit: {}{}",
        String::from_utf8_lossy(&audit.stdout),
        String::from_utf8_lossy(&audit.stderr)
    );
    assert_eq!(app.get("/readyz").await.status(), 200);
}
