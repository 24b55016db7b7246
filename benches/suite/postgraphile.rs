//! The nested read beside PostGraphile: the same data, the same shape of
//! answer (a user's 20 newest orders, each with its lines and their
//! products), served by this server and by PostGraphile 4 (a GraphQL API
//! generated from the same tables, one SQL query per request), at the same
//! concurrency, in alternating rounds. PostGraphile is installed from
//! `benches/postgraphile/package-lock.json` (`npm ci`) when it is missing.
//!
//! PostGraphile has no notion of the caller, so its query names the user
//! (`allOrders(condition: {userId})`) where this server's reads its
//! `viewer`; each side does the rest of the work in full.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::load::{self, Call, Run};
use crate::scenarios::Bench;
use crate::seed;

/// This server's nested read.
const NESTED_READ: &str = "{ viewer { orders(first: 20) { nodes { status totalAmount items { quantity unitPrice product { name price } } } } } }";

/// The same read, from PostGraphile's generated schema.
const POSTGRAPHILE_READ: &str = "query($u: BigInt!) { allOrders(condition: {userId: $u}, first: 20, orderBy: ID_DESC) { nodes { status totalAmount orderItemsByOrderId { nodes { quantity unitPrice productByProductId { name price } } } } } }";

/// The outcome of both reads: "ok" with 20 orders.
fn twenty_orders(body: &[u8]) -> String {
    let count = |needle: &[u8]| body.windows(needle.len()).filter(|w| w == &needle).count();
    if count(b"\"errors\"") > 0 {
        return "error".into();
    }
    match count(b"\"totalAmount\"") {
        20 => "ok".into(),
        n => format!("{n} orders"),
    }
}

/// What the comparison measured.
pub struct Comparison {
    pub server: Run,
    pub postgraphile: Run,
    /// Each round's ratio, this server's throughput over PostGraphile's.
    pub rounds: Vec<f64>,
}

impl Comparison {
    /// The median of the rounds' ratios.
    pub fn ratio(&self) -> f64 {
        let mut sorted = self.rounds.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
    }
}

/// PostGraphile, serving `database_url` on a port of its own.
struct PostGraphile {
    child: Child,
    url: String,
}

impl PostGraphile {
    /// Starts it (installing it first if needed); `None` without Node.js.
    async fn start(database_url: &str, pool_size: u32) -> Option<Self> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/postgraphile");
        if !std::path::Path::new(dir)
            .join("node_modules/postgraphile")
            .exists()
        {
            let installed = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(dir)
                .status()
                .ok()?;
            if !installed.success() {
                return None;
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()?
            .port();
        let child = Command::new("node")
            .arg("node_modules/postgraphile/cli.js")
            .args(["-c", database_url, "-s", "public", "-n", "127.0.0.1"])
            .args(["-p", &port.to_string()])
            .args(["--max-pool-size", &pool_size.to_string()])
            .args(["--disable-graphiql", "--disable-query-log"])
            .env("NODE_ENV", "production")
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .ok()?;
        let url = format!("http://127.0.0.1:{port}/graphql");
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::Client::new();
        loop {
            let probe = client
                .post(&url)
                .json(&json!({ "query": "{ __typename }" }))
                .send()
                .await;
            if probe.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(Instant::now() < deadline, "PostGraphile did not start");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Some(Self { child, url })
    }
}

impl Drop for PostGraphile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Bench<'_> {
    /// The nested read against PostGraphile; `None` when Node.js or npm is
    /// missing.
    pub async fn postgraphile(&self, database_url: &str) -> Option<Comparison> {
        const READERS: i64 = 1_000;
        const ROUNDS: usize = 3;
        const SECONDS: u64 = 5;
        let products = seed::products(self.pool, "Graph", 200, 1_500, 1_000).await;
        let users = seed::users(self.pool, "graph", READERS, 0).await;
        seed::three_line_orders(self.pool, users, products, 20).await;
        sqlx::query("ANALYZE")
            .execute(self.pool)
            .await
            .expect("analyze");
        let postgraphile = PostGraphile::start(database_url, self.pool_size).await?;
        let tokens: Arc<Vec<String>> = Arc::new(
            (1..=READERS)
                .map(|n| self.token(&format!("graph-{n}")))
                .collect(),
        );
        let client = load::client(20);
        let ours = {
            let tokens = tokens.clone();
            move |_: usize| Call {
                token: tokens[fastrand::usize(..tokens.len())].clone(),
                body: json!({ "query": NESTED_READ }),
            }
        };
        let first = users.first;
        let theirs = move |_: usize| Call {
            token: String::new(),
            body: json!({ "query": POSTGRAPHILE_READ,
                          "variables": { "u": (first + fastrand::i64(0..READERS)).to_string() } }),
        };
        // Both warm up first: caches, JIT, prepared statements.
        let warm = Duration::from_secs(2);
        load::run_for(
            &client,
            &self.graphql_url(),
            20,
            warm,
            ours.clone(),
            twenty_orders,
        )
        .await;
        load::run_for(&client, &postgraphile.url, 20, warm, theirs, twenty_orders).await;
        let mut server: Option<Run> = None;
        let mut other: Option<Run> = None;
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            self.settle().await;
            let a = load::run_for(
                &client,
                &self.graphql_url(),
                20,
                Duration::from_secs(SECONDS),
                ours.clone(),
                twenty_orders,
            )
            .await;
            self.settle().await;
            let b = load::run_for(
                &client,
                &postgraphile.url,
                20,
                Duration::from_secs(SECONDS),
                theirs,
                twenty_orders,
            )
            .await;
            rounds.push(a.throughput() / b.throughput().max(f64::MIN_POSITIVE));
            for (all, run) in [(&mut server, a), (&mut other, b)] {
                match all {
                    Some(all) => all.absorb(run),
                    None => *all = Some(run),
                }
            }
        }
        Some(Comparison {
            server: server?,
            postgraphile: other?,
            rounds,
        })
    }
}
