#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly
//! The benchmark suite: `cargo bench --bench suite`.
//!
//! In one run, on a release build and a fresh database, it starts the server
//! as a process of its own, seeds each scenario, drives it over real HTTP
//! with many connections, checks the outcomes and the invariants in SQL,
//! and runs the naive equivalent with pgbench on the same database (one
//! SERIALIZABLE transaction per request, `benches/pgbench/*.sql`). It prints
//! throughput, p50/p99 latency, outcomes, retries, give-ups and the server's
//! peak RSS per scenario, and each ratio against its baseline. The machine
//! is shared and noisy: compare ratios from one run, not absolute figures
//! across runs. Exits non-zero when a target is missed.

mod holds;
mod load;
mod mixed;
mod pgbench;
mod plans;
mod postgraphile;
mod realtime;
mod scale;
mod scale_seed;
mod scenarios;
mod seed;
mod server;
mod traced;

use std::process::ExitCode;

use commerce::auth::Authenticator;
use sqlx::PgPool;

use scenarios::{Bench, Report};
use server::{SECRET, Server};

/// The server's pool size, and so pgbench's client count.
const POOL_SIZE: u32 = 16;

#[tokio::main]
async fn main() -> ExitCode {
    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    let database = format!("bench_{stamp}");
    let url = format!("{}/{database}", server::postgres());
    let stream = format!("BENCH_{stamp}");
    println!(
        "commerce benchmark suite: database {database}, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let auth = Authenticator::new(SECRET);
    // `cargo bench --bench suite -- read` runs only the scenarios whose
    // name contains one of the words given.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|w| name.contains(w.as_str()));
    // Only when asked for by name: its first run seeds a year of a shop
    // (minutes) and every run copies it (docs/benchmarks.md, "Scale"). It
    // runs its own servers and databases, first, so that this run's server
    // holds no connections meanwhile.
    let scale_met = if !only.is_empty() && wanted("scale") {
        Some(scale::run(&auth, &stamp, POOL_SIZE).await)
    } else {
        None
    };

    // Likewise only when asked for: its own servers and databases, round
    // after round (docs/benchmarks.md, "Tracing").
    let tracing_met = if !only.is_empty() && wanted("tracing") {
        Some(traced::run(&auth, &stamp, POOL_SIZE).await)
    } else {
        None
    };

    let server = Server::start(&url, &stream, POOL_SIZE).await;
    let pool = PgPool::connect(&url).await.expect("the benchmark's pool");
    let bench = Bench {
        server: &server,
        pool: &pool,
        auth: &auth,
        database: &database,
        pool_size: POOL_SIZE,
    };
    let mut reports = Vec::new();
    let mut rush = None;
    let mut hot = None;
    if wanted("coupon rush") {
        rush = Some(print(bench.coupon_rush().await));
    }
    if wanted("hot-product payments") {
        hot = Some(print(bench.hot_payments().await));
    }
    if let (Some(rush), Some(hot)) = (&rush, &hot)
        && wanted("subscribers")
    {
        // On a server of their own, fresh like the first was: the first
        // now remembers a sold-out product, which sends every later
        // payment of its through a read before the queue.
        let fresh = Server::start(&url, &stream, POOL_SIZE).await;
        let bench = Bench {
            server: &fresh,
            ..bench
        };
        for report in bench.with_subscribers(rush, hot).await {
            reports.push(print(report));
        }
    }
    reports.splice(0..0, rush.into_iter().chain(hot));
    if wanted("spread payments") {
        reports.push(print(bench.spread_payments().await));
    }
    if wanted("hot-product refunds") {
        reports.push(print(bench.hot_refunds().await));
    }
    if wanted("held drop") || wanted("held payments") || wanted("sweep") {
        // A server of its own, holding stock.
        let holding =
            Server::start_with(&url, &stream, POOL_SIZE, &[("ORDER_HOLD_STOCK", "true")]).await;
        let bench = Bench {
            server: &holding,
            ..bench
        };
        if wanted("held drop") || wanted("held payments") {
            for report in bench.held_drop().await {
                reports.push(print(report));
            }
        }
        if wanted("sweep") {
            println!("\n== sweep of expired held orders beside a payment rush");
            for line in bench.sweep_under_rush().await {
                println!("{line}");
            }
        }
    }
    if wanted("nested read") {
        reports.push(print(bench.nested_read().await));
    }
    if wanted("product search") {
        reports.push(print(bench.search().await));
    }
    let beside_postgraphile = if wanted("postgraphile") {
        let compared = bench.postgraphile(&url).await;
        match &compared {
            Some(c) => {
                let rounds: Vec<String> = c.rounds.iter().map(|x| format!("{x:.2}x")).collect();
                println!(
                    "\n== nested read beside PostGraphile 4: this server {:.0} req/s (p50 {:.1} ms, p99 {:.1} ms), PostGraphile {:.0} req/s (p50 {:.1} ms, p99 {:.1} ms) at 20 connections",
                    c.server.throughput(),
                    c.server.percentile_ms(0.5),
                    c.server.percentile_ms(0.99),
                    c.postgraphile.throughput(),
                    c.postgraphile.percentile_ms(0.5),
                    c.postgraphile.percentile_ms(0.99),
                );
                println!(
                    "outcomes: this server {}; PostGraphile {}",
                    scenarios::outcomes(&c.server.outcomes),
                    scenarios::outcomes(&c.postgraphile.outcomes)
                );
                println!(
                    "rounds  : {} (this server then PostGraphile, in turn); ratio {:.2}x (target >= 2.0x) {}",
                    rounds.join(", "),
                    c.ratio(),
                    if c.ratio() >= 2.0 { "met" } else { "MISSED" }
                );
            }
            None => println!(
                "\n== nested read beside PostGraphile: skipped (Node.js and npm are needed)"
            ),
        }
        compared
    } else {
        None
    };
    if wanted("mixed") {
        let runs = mixed::run(&database, &stream, POOL_SIZE, &auth).await;
        mixed::print_comparison(&runs);
    }
    let deliveries = if wanted("subscriptions") {
        let d = bench.subscriptions().await;
        println!(
            "\n== subscriptions: {} orders, each watched by {} subscriptions on its owner's socket ({} on the instance), all paid at 200 connections",
            d.sockets,
            d.subscriptions / d.sockets.max(1),
            d.subscriptions
        );
        println!(
            "delivery: {} of {} updates, commit (paidAt) to socket p50 {:.1} ms, p99 {:.1} ms (target < 100 ms); payment request to socket p50 {:.1} ms, p99 {:.1} ms; {} of {} orders paid",
            d.latencies.len(),
            d.subscriptions,
            d.percentile_ms(0.5),
            d.percentile_ms(0.99),
            realtime::percentile_ms(&d.from_request, 0.5),
            realtime::percentile_ms(&d.from_request, 0.99),
            d.paid,
            d.sockets
        );
        println!(
            "memory  : {:.1} KiB per idle subscription (target < 20), {:.1} KiB per socket of 10",
            d.kib_per_subscription, d.kib_per_socket
        );
        Some(d)
    } else {
        None
    };

    println!(
        "\n| scenario | server req/s | pgbench tps | ratio | target | p50 ms | p99 ms | retries | give-ups | peak RSS MiB | met |"
    );
    println!("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |");
    for r in &reports {
        println!(
            "| {} | {:.0} | {:.0} | {:.2}x | >= {:.1}x{} | {:.1} | {:.1} | {} | {} | {:.0} | {} |",
            r.name,
            r.server.run.throughput(),
            r.baseline.tps,
            r.ratio(),
            r.target_ratio,
            r.target_p99_ms
                .map(|t| format!(", p99 < {t:.0} ms"))
                .unwrap_or_default(),
            r.server.run.percentile_ms(0.5),
            r.server.run.percentile_ms(0.99),
            r.server.retries,
            r.server.giveups,
            r.server.peak_rss_mib,
            if r.met() { "yes" } else { "NO" },
        );
    }

    drop(server);
    pool.close().await;
    cleanup(&database, &stream).await;
    if let Some(d) = &deliveries {
        println!(
            "| subscriptions | {} updates | p50 {:.1} ms | p99 {:.1} ms | {:.1} KiB per subscription | {} |",
            d.latencies.len(),
            d.percentile_ms(0.5),
            d.percentile_ms(0.99),
            d.kib_per_subscription,
            if d.met() { "yes" } else { "NO" }
        );
    }
    let postgraphile_met = beside_postgraphile.as_ref().is_none_or(|c| {
        c.ratio() >= 2.0
            && c.server.outcomes.keys().all(|o| o == "ok")
            && c.postgraphile.outcomes.keys().all(|o| o == "ok")
    });
    if reports.iter().all(Report::met)
        && deliveries.as_ref().is_none_or(|d| d.met())
        && postgraphile_met
        && scale_met != Some(false)
        && tracing_met != Some(false)
    {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Prints one scenario's figures as soon as it is done.
fn print(r: Report) -> Report {
    println!("\n== {}: {}", r.name, r.description);
    println!(
        "server  : {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {} requests in {:.2} s, {} retries, {} give-ups, peak RSS {:.0} MiB",
        r.server.run.throughput(),
        r.server.run.percentile_ms(0.5),
        r.server.run.percentile_ms(0.99),
        r.server.run.requests,
        r.server.run.wall.as_secs_f64(),
        r.server.retries,
        r.server.giveups,
        r.server.peak_rss_mib,
    );
    println!("outcomes: {}", scenarios::outcomes(&r.server.run.outcomes));
    for (check, ok) in &r.checks {
        println!("check   : {} {check}", if *ok { "ok  " } else { "FAIL" });
    }
    println!(
        "pgbench : {:.0} tps, average {:.1} ms, {} retried, {} failed ({} clients, -M prepared, --max-tries=10)",
        r.baseline.tps, r.baseline.latency_ms, r.baseline.retried, r.baseline.failed, POOL_SIZE
    );
    for note in &r.notes {
        println!("note    : {note}");
    }
    if !r.rounds.is_empty() {
        let rounds: Vec<String> = r.rounds.iter().map(|x| format!("{x:.2}x")).collect();
        println!(
            "rounds  : {} (server then pgbench, in turn; the ratio is their median)",
            rounds.join(", ")
        );
    }
    println!(
        "ratio   : {:.2}x (target >= {:.1}x) {}",
        r.ratio(),
        r.target_ratio,
        if r.met() { "met" } else { "MISSED" }
    );
    r
}

/// Drops the benchmark's database and NATS stream.
async fn cleanup(database: &str, stream: &str) {
    if let Ok(admin) = PgPool::connect(&format!("{}/postgres", server::postgres())).await {
        let sql = format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
        let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await;
    }
    if let Ok(client) = async_nats::connect("nats://127.0.0.1:4222").await {
        let _ = async_nats::jetstream::new(client)
            .delete_stream(stream)
            .await;
    }
}
