//! Requests that race: two app instances on one database (so that one
//! instance's in-process batching cannot hide a race the database must
//! settle), the outcome of each racing request in one word, and a tally of
//! outcomes.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::futures_util::future::join_all;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::app::{Options, TestApp, spawn_app, spawn_app_with};
use super::gql::Gql;

/// Two instances of the app sharing one fresh database.
pub async fn two_instances() -> (Arc<TestApp>, Arc<TestApp>) {
    let first = spawn_app().await;
    let second = spawn_app_with(Options {
        database: Some(first.db_name.clone()),
        ..Default::default()
    })
    .await;
    (Arc::new(first), Arc::new(second))
}

/// The outcome of mutation `mutation` in one word: "ok", its `userErrors`
/// codes joined with commas, or, when the request failed as a whole, the
/// first top-level error's `extensions.code`; so that a tally shows every
/// outcome, and an unexpected one fails an assertion on the tally.
pub fn outcome(r: &Gql, mutation: &str) -> String {
    if let Some(error) = r.body["errors"].get(0) {
        return error["extensions"]["code"]
            .as_str()
            .unwrap_or("<no code>")
            .to_owned();
    }
    let codes = r.user_error_codes(mutation);
    if codes.is_empty() {
        "ok".into()
    } else {
        codes.join(",")
    }
}

/// [`outcome`] of a request sent with a client of the test's own: also
/// `http <status>` for a status other than 200, and `lost` when no answer
/// (or no JSON) came at all.
pub async fn outcome_of_response(
    sent: Result<reqwest::Response, reqwest::Error>,
    mutation: &str,
) -> String {
    let Ok(response) = sent else {
        return "lost".into();
    };
    let status = response.status().as_u16();
    if status != 200 {
        return format!("http {status}");
    }
    match response.json::<Value>().await {
        Ok(body) => outcome(&Gql { status, body }, mutation),
        Err(_) => "lost".into(),
    }
}

/// The output of every task, failing the test if one panicked.
pub async fn joined<T>(tasks: impl IntoIterator<Item = JoinHandle<T>>) -> Vec<T> {
    join_all(tasks)
        .await
        .into_iter()
        .map(|task| task.expect("the task ran to its end"))
        .collect()
}

/// How many times each outcome came.
pub fn tally(outcomes: &[String]) -> HashMap<&str, usize> {
    let mut tally = HashMap::new();
    for o in outcomes {
        *tally.entry(o.as_str()).or_default() += 1;
    }
    tally
}
