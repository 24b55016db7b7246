//! The per-caller rate limit: a real user's burst passes, a script
//! hammering the server gets 429 with `Retry-After`, and a refused request
//! changes nothing.

use std::sync::Arc;

use async_graphql::futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{Options, TestApp, spawn_app_with};

async fn limited_app(per_second: &str, burst: &str) -> Arc<TestApp> {
    Arc::new(
        spawn_app_with(Options {
            env: vec![
                ("RATE_LIMIT_PER_SECOND", per_second.into()),
                ("RATE_LIMIT_BURST", burst.into()),
            ],
            ..Default::default()
        })
        .await,
    )
}

const CHARGE: &str =
    "mutation { chargeBalance(input: { amount: \"1\" }) { user { balance } userErrors { code } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_fifty_passes_and_a_flood_is_turned_away() {
    let app = limited_app("5", "100").await;
    let token = app.token("ann");
    let charges = |n: usize| {
        join_all((0..n).map(|_| {
            let (app, token) = (app.clone(), token.clone());
            async move { app.gql(Some(&token), CHARGE, json!({})).await }
        }))
    };
    // A real user's burst: 50 racing mutations, all served.
    let burst = charges(50).await;
    assert!(
        burst
            .iter()
            .all(|r| r.status == 200 && r.body["errors"].is_null())
    );
    // A flood: what is left of the bucket passes, the rest is refused.
    let flood = charges(300).await;
    let refused: Vec<_> = flood.iter().filter(|r| r.status == 429).collect();
    let served = flood.len() - refused.len();
    assert!(!refused.is_empty(), "the flood was not limited");
    assert!(served <= 60, "{served} served beyond the burst");
    for r in &refused {
        assert_eq!(r.error_code(), "RATE_LIMITED", "{}", r.body);
    }
    // Each refused request changed nothing: one ledger entry per served one.
    let (balance, ledger) = app.balance_and_ledger("ann").await;
    assert_eq!(
        (balance, ledger),
        ((50 + served) as i64, (50 + served) as i64)
    );
    // Another user has a bucket of their own.
    let r = app.gql(Some(&app.token("bob")), CHARGE, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn a_refusal_says_when_to_retry() {
    let app = limited_app("1", "100").await;
    let client = reqwest::Client::new();
    let send = || {
        client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(app.token("ann"))
            .json(&json!({ "query": CHARGE }))
            .send()
    };
    // A batch of 10 operations, each of 10 mutation fields, takes 100.
    let fields: String = (0..10)
        .map(|i| {
            format!("c{i}: chargeBalance(input: {{ amount: \"1\" }}) {{ userErrors {{ code }} }} ")
        })
        .collect();
    let batch: Vec<_> = (0..10)
        .map(|_| json!({ "query": format!("mutation {{ {fields} }}") }))
        .collect();
    let r = app.post_json(Some(&app.token("ann")), &json!(batch)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The bucket is empty now; it refills by one a second, however long the
    // batch took to run, so of twenty requests at once some are refused.
    let mut served = 0;
    let mut retry_after = None;
    for _ in 0..20 {
        let answer = send().await.unwrap();
        match answer.status().as_u16() {
            200 => served += 1,
            429 => {
                retry_after = Some(
                    answer.headers()["retry-after"]
                        .to_str()
                        .unwrap()
                        .parse::<u64>()
                        .unwrap(),
                )
            }
            other => panic!("status {other}"),
        }
    }
    let retry_after = retry_after.expect("refused once the bucket was empty");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    tokio::time::sleep(std::time::Duration::from_secs(retry_after)).await;
    assert_eq!(send().await.unwrap().status(), 200, "served again");
    assert_eq!(app.balance_and_ledger("ann").await.0, 100 + served + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn callers_without_a_token_are_limited_by_their_address() {
    let app = limited_app("1", "100").await;
    let queries = join_all((0..150).map(|_| {
        let app = app.clone();
        async move {
            app.gql(None, "{ products { totalCount } }", json!({}))
                .await
                .status
        }
    }))
    .await;
    let refused = queries.iter().filter(|&&s| s == 429).count();
    assert!((40..=50).contains(&refused), "{refused} of 150 refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_requests_draw_on_the_bucket_too() {
    let app = limited_app("1", "100").await;
    // Each kind of refusal, 150 times from one anonymous client: the
    // bucket of 100 runs dry whatever the refusal.
    let unknown_hash = json!({ "extensions": { "persistedQuery": { "version": 1,
        "sha256Hash": "0".repeat(64) } } });
    let deep = format!("{{ a{} }}", " { a".repeat(40) + &" }".repeat(40));
    let bodies = [
        json!({ "query": "{ products(" }),
        json!({ "query": deep }),
        unknown_hash,
    ];
    for body in bodies {
        let app = limited_app("1", "100").await;
        let statuses = join_all((0..150).map(|_| {
            let (app, body) = (app.clone(), body.clone());
            async move { app.post_json(None, &body).await.status }
        }))
        .await;
        let limited = statuses.iter().filter(|&&s| s == 429).count();
        assert!(limited >= 40, "{body}: {limited} of 150 limited");
    }
    // A bad token is refused with 401, and costs its address all the same.
    let statuses = join_all((0..150).map(|_| {
        let app = app.clone();
        async move {
            app.gql(Some("not.a.token"), "{ __typename }", json!({}))
                .await
                .status
        }
    }))
    .await;
    let limited = statuses.iter().filter(|&&s| s == 429).count();
    assert!(limited >= 40, "{limited} of 150 bad tokens limited");
}

#[tokio::test]
async fn an_empty_bucket_answers_before_the_document_is_read() {
    let app = limited_app("1", "100").await;
    for _ in 0..100 {
        let r = app.gql(None, "{ __typename }", json!({})).await;
        assert_eq!(r.status, 200);
    }
    // A document that would not even parse: the 429 comes first.
    let r = app.gql(None, "{ products(", json!({})).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.error_code(), "RATE_LIMITED");
}
