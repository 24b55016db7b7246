//! The load generator: GraphQL requests over real HTTP at a fixed
//! concurrency, each timed, with the outcomes tallied.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::futures_util::{StreamExt, stream};
use serde_json::Value;

/// One request: a bearer token and a JSON body.
#[derive(Clone)]
pub struct Call {
    pub token: String,
    pub body: Value,
}

/// What a run measured.
pub struct Run {
    pub requests: usize,
    pub wall: Duration,
    pub latencies: Vec<Duration>,
    pub outcomes: BTreeMap<String, usize>,
}

impl Run {
    /// Requests per second over the run.
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.wall.as_secs_f64()
    }

    /// Adds `other`'s requests to this run, as if they had run back to back.
    pub fn absorb(&mut self, other: Run) {
        self.requests += other.requests;
        self.wall += other.wall;
        self.latencies.extend(other.latencies);
        for (name, count) in other.outcomes {
            *self.outcomes.entry(name).or_default() += count;
        }
    }

    /// The latency at quantile `q` (0..=1), in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        sorted[index].as_secs_f64() * 1e3
    }
}

/// A client with enough connections for `concurrency`.
pub fn client(concurrency: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("an HTTP client")
}

/// Sends every call at `concurrency`; `outcome` names each answer.
pub async fn run(
    client: &reqwest::Client,
    url: &str,
    calls: Vec<Call>,
    concurrency: usize,
    outcome: fn(&[u8]) -> String,
) -> Run {
    let requests = calls.len();
    let url: Arc<str> = url.into();
    let started = Instant::now();
    let results: Vec<(Duration, String)> = stream::iter(calls.into_iter().map(|call| {
        let (client, url) = (client.clone(), url.clone());
        async move { send(&client, &url, &call, outcome).await }
    }))
    .buffer_unordered(concurrency)
    .collect()
    .await;
    let wall = started.elapsed();
    let mut outcomes = BTreeMap::new();
    let mut latencies = Vec::with_capacity(results.len());
    for (latency, name) in results {
        latencies.push(latency);
        *outcomes.entry(name).or_default() += 1;
    }
    Run {
        requests,
        wall,
        latencies,
        outcomes,
    }
}

/// Sends calls made by `make` from `workers` loops for `duration`.
pub async fn run_for(
    client: &reqwest::Client,
    url: &str,
    workers: usize,
    duration: Duration,
    make: impl Fn(usize) -> Call + Send + Sync + 'static,
    outcome: fn(&[u8]) -> String,
) -> Run {
    let make = Arc::new(make);
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|worker| {
            let (client, url, make) = (client.clone(), url.to_owned(), make.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut i = worker;
                while started.elapsed() < duration {
                    let call = make(i);
                    i += workers;
                    seen.push(send(&client, &url, &call, outcome).await);
                }
                seen
            })
        })
        .collect();
    let mut outcomes = BTreeMap::new();
    let mut latencies = Vec::new();
    for task in tasks {
        for (latency, name) in task.await.expect("a load worker") {
            latencies.push(latency);
            *outcomes.entry(name).or_default() += 1;
        }
    }
    Run {
        requests: latencies.len(),
        wall: started.elapsed(),
        latencies,
        outcomes,
    }
}

/// Sends one call; returns its latency and the name of its outcome.
async fn send(
    client: &reqwest::Client,
    url: &str,
    call: &Call,
    outcome: fn(&[u8]) -> String,
) -> (Duration, String) {
    let sent = Instant::now();
    let answer = client
        .post(url)
        .bearer_auth(&call.token)
        .json(&call.body)
        .send()
        .await;
    let name = match answer {
        Ok(response) => match response.bytes().await {
            Ok(body) => outcome(&body),
            Err(_) => "unreadable".into(),
        },
        Err(_) => "transport error".into(),
    };
    (sent.elapsed(), name)
}

/// A mutation's outcome: "ok", its first userError code, or "error" and the
/// top-level error code.
pub fn mutation_outcome(field: &str, body: &[u8]) -> String {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return "unreadable".into();
    };
    if let Some(code) = body["errors"][0]["extensions"]["code"].as_str() {
        return format!("error {code}");
    }
    match body["data"][field]["userErrors"][0]["code"].as_str() {
        Some(code) => code.to_owned(),
        None => "ok".into(),
    }
}
