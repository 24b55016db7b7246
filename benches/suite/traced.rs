//! The tracing A/B (`cargo bench --bench suite -- tracing`, not in the
//! default run): the coupon rush, the hot-product payments and the nested
//! read, on a server with traces off and on a server exporting one trace in
//! ten (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`, `0.1`) to an OTLP
//! receiver of the bench's own, in alternating rounds (off, on, off, on),
//! each round on a fresh server and database seeded alike. Each scenario's
//! ratio is against its own run's pgbench baseline, so the machine's drift
//! between rounds stays out of it; the target is the median ratio with
//! traces within 5 % of the median without.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use commerce::auth::Authenticator;
use sqlx::PgPool;

use crate::cleanup;
use crate::scenarios::{Bench, Report};
use crate::server::{self, Server};

/// Rounds per side.
const ROUNDS: usize = 2;
/// The least share of the untraced median ratio the traced one must keep.
const TARGET: f64 = 0.95;

/// An OTLP/HTTP endpoint that takes every export and counts it, as a
/// collector would (without decoding: its cost is not the server's).
struct Receiver {
    url: String,
    exports: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
}

impl Receiver {
    async fn start() -> Self {
        type Counters = (Arc<AtomicU64>, Arc<AtomicU64>);
        async fn export(State((exports, bytes)): State<Counters>, body: Bytes) -> Vec<u8> {
            exports.fetch_add(1, Ordering::Relaxed);
            bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
            Vec::new()
        }
        let (exports, bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let router = Router::new()
            .route("/v1/traces", post(export))
            .with_state((exports.clone(), bytes.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the receiver");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            url,
            exports,
            bytes,
        }
    }
}

/// One round's ratios: coupon rush, hot-product payments, nested read.
type Ratios = [f64; 3];
const NAMES: [&str; 3] = ["coupon rush", "hot-product payments", "nested read"];

/// Runs the A/B and prints it; whether the target was met.
pub async fn run(auth: &Authenticator, stamp: &str, pool_size: u32) -> bool {
    let receiver = Receiver::start().await;
    println!(
        "\n== tracing: traces off against one in ten exported (OTLP to {}), {ROUNDS} rounds each, alternating",
        receiver.url
    );
    let traced = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url.as_str()),
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
    ];
    let (mut off, mut on): (Vec<Ratios>, Vec<Ratios>) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for (side, env) in [("off", &traced[..0]), ("on", &traced[..])] {
            let ratios = one_round(auth, &format!("{stamp}_t{round}{side}"), pool_size, env).await;
            println!(
                "tracing : round {} {side:>3}: {}",
                round + 1,
                NAMES
                    .iter()
                    .zip(ratios)
                    .map(|(n, r)| format!("{n} {r:.2}x"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if side == "off" {
                off.push(ratios);
            } else {
                on.push(ratios);
            }
        }
    }
    println!(
        "tracing : the receiver took {} exports, {} KiB",
        receiver.exports.load(Ordering::Relaxed),
        receiver.bytes.load(Ordering::Relaxed) / 1024
    );
    println!(
        "\n| scenario | ratio, traces off (median) | ratio, 1 in 10 traced (median) | on/off | target | met |"
    );
    println!("| --- | ---: | ---: | ---: | --- | --- |");
    let mut met = true;
    for (i, name) in NAMES.iter().enumerate() {
        let (a, b) = (
            median(off.iter().map(|r| r[i])),
            median(on.iter().map(|r| r[i])),
        );
        let share = b / a;
        let ok = share >= TARGET;
        met &= ok;
        println!(
            "| {name} | {a:.2}x | {b:.2}x | {share:.3} | >= {TARGET} | {} |",
            if ok { "yes" } else { "**no**" }
        );
    }
    met
}

/// One round on a fresh database and server with `env`: each scenario's
/// ratio against its own pgbench run.
async fn one_round(
    auth: &Authenticator,
    name: &str,
    pool_size: u32,
    env: &[(&str, &str)],
) -> Ratios {
    let database = format!("bench_{name}");
    let stream = format!("BENCH_{}", name.to_uppercase());
    let url = format!("{}/{database}", server::postgres());
    let ratios = {
        let server = Server::start_with(&url, &stream, pool_size, env).await;
        let pool = PgPool::connect(&url).await.expect("the round's pool");
        let bench = Bench {
            server: &server,
            pool: &pool,
            auth,
            database: &database,
            pool_size,
        };
        let reports: [Report; 3] = [
            bench.coupon_rush().await,
            bench.hot_payments().await,
            bench.nested_read().await,
        ];
        // The checks mix invariants and targets of their own (the rush's
        // ceiling): shown, the A/B compares ratios only.
        for report in &reports {
            for (check, _) in report.checks.iter().filter(|(_, held)| !held) {
                println!("tracing : {name}: {}: did not hold: {check}", report.name);
            }
        }
        pool.close().await;
        reports.map(|r| r.ratio())
    };
    cleanup(&database, &stream).await;
    ratios
}

/// The median (of an even count, the mean of the middle two).
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut sorted: Vec<f64> = values.collect();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}
