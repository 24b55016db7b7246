//! Observability: per-operation request metrics with bounded labels, a
//! request id on every response, and JSON logs in production that carry the
//! request id and the operation name.

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::helpers::database::Throwaway;
use crate::helpers::metrics::series;
use crate::helpers::net::free_port;
use crate::helpers::process::{Spawned, wait_until_serving};
use crate::helpers::wait::eventually;
use crate::helpers::{PRODUCTION_SECRET, postgres_base_url, spawn_app};

#[tokio::test]
async fn each_operation_is_counted_and_timed_under_its_name() {
    let app = spawn_app().await;
    for _ in 0..2 {
        app.gql(None, "query Catalog { products { totalCount } }", json!({}))
            .await;
    }
    app.as_user(
        "ann",
        "{ viewer { id } products { totalCount } }",
        json!({}),
    )
    .await;
    app.gql(None, "{ products { nope } }", json!({})).await;
    app.gql(None, "{ products {", json!({})).await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let count = |labels: &str| series(&metrics, &format!("graphql_requests_total{{{labels}}}"));
    assert_eq!(
        count(r#"operation="Catalog",outcome="ok""#),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        count(r#"operation="products,viewer",outcome="ok""#),
        Some(1.0)
    );
    assert_eq!(count(r#"operation="invalid",outcome="error""#), Some(2.0));
    assert_eq!(
        series(
            &metrics,
            r#"graphql_request_duration_seconds_count{operation="Catalog"}"#
        ),
        Some(2.0)
    );
    assert!(
        metrics.contains(
            r#"graphql_request_duration_seconds_bucket{operation="Catalog",le="+Inf"} 2"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn client_chosen_operation_names_cannot_grow_the_metrics_without_bound() {
    let app = spawn_app().await;
    for i in 0..300 {
        let query = format!("query Op{i} {{ products {{ totalCount }} }}");
        app.gql(None, &query, json!({})).await;
    }
    let long = format!("query {} {{ products {{ totalCount }} }}", "L".repeat(500));
    app.gql(None, &long, json!({})).await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let labels = metrics
        .lines()
        .filter(|l| l.starts_with("graphql_requests_total{"))
        .count();
    assert!(labels <= 257, "{labels} series");
    let other = series(
        &metrics,
        r#"graphql_requests_total{operation="other",outcome="ok"}"#,
    );
    assert_eq!(other, Some(300.0 + 1.0 - 256.0));
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let r = app.get("/healthz").await;
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let r = reqwest::Client::new()
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["x-request-id"],
        "trace-me-42",
        "the caller's id is kept"
    );
}

#[tokio::test]
async fn production_logs_are_json_with_the_request_id_and_operation() {
    let port = free_port();
    let database = Throwaway(format!("logs_{}", uuid::Uuid::new_v4().simple()));
    let mut server = Spawned::spawn(
        Command::new(env!("CARGO_BIN_EXE_commerce"))
            .env("APP_ENV", "production")
            .env("JWT_SECRET", PRODUCTION_SECRET)
            .env(
                "DATABASE_URL",
                format!("{}/{}", postgres_base_url(), database.0),
            )
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("OUTBOX_RELAY", "false")
            .env("RUST_LOG", "info,tower_http=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut lines = server.output_lines();
    let url = format!("http://127.0.0.1:{port}");
    wait_until_serving(&url).await;
    reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .header("x-request-id", "req-abc-123")
        .json(&json!({ "query": "query Probe { products { totalCount } }" }))
        .send()
        .await
        .unwrap();

    let found = eventually("the request's last log line", async {
        while let Some(line) = lines.recv().await {
            let parsed: Value = serde_json::from_str(&line)
                .unwrap_or_else(|_| panic!("a log line that is not JSON: {line}"));
            // The line written when the response is done, after the
            // operation became known.
            if parsed["span"]["request_id"] == "req-abc-123"
                && parsed["fields"]["message"] == "finished processing request"
            {
                return Some(parsed);
            }
        }
        None
    })
    .await;
    drop((server, database));
    let line = found.expect("a log line of the request");
    assert_eq!(line["span"]["operation"], "Probe", "{line}");
    assert_eq!(line["span"]["path"], "/graphql");
}

#[tokio::test]
async fn a_timed_out_batch_answers_each_operation_and_is_counted() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        env: vec![("REQUEST_TIMEOUT_MS", "300".into())],
        ..Default::default()
    })
    .await;
    let mut blocker = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let batch = json!([
        { "query": "query Slow { products { totalCount } }" },
        { "query": "query Slow { products { totalCount } }" },
    ]);
    let r = app.post_json(None, &batch).await;
    blocker.rollback().await.unwrap();
    let answers = r.body.as_array().expect("one answer per operation");
    assert_eq!(answers.len(), 2);
    for answer in answers {
        assert_eq!(
            answer["errors"][0]["extensions"]["code"],
            "SERVICE_UNAVAILABLE"
        );
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(
        series(
            &metrics,
            r#"graphql_requests_total{operation="Slow",outcome="cancelled"}"#
        ),
        Some(2.0),
        "{metrics}"
    );
}
