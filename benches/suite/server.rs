//! The server under test: the release binary as a process of its own (so
//! that its memory can be measured), on a free port and a fresh database.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The PostgreSQL server the benchmark runs on, `postgres://user@host:port`
/// (`BENCH_POSTGRES`; the machine's, on 5432, by default).
pub fn postgres() -> String {
    std::env::var("BENCH_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// The port of [`postgres`], for pgbench.
pub fn postgres_port() -> String {
    postgres()
        .rsplit(':')
        .next()
        .and_then(|port| port.parse::<u16>().ok())
        .unwrap_or(5432)
        .to_string()
}

/// The JWT secret the benchmark signs its tokens with.
pub const SECRET: &str = "benchmark-secret-of-at-least-32-characters";

/// A running server process.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub address: String,
}

impl Server {
    /// Starts the server on `database_url` and waits until it is ready.
    pub async fn start(database_url: &str, nats_stream: &str, pool_size: u32) -> Self {
        Self::start_with(database_url, nats_stream, pool_size, &[]).await
    }

    /// [`Server::start`] with extra environment variables.
    pub async fn start_with(
        database_url: &str,
        nats_stream: &str,
        pool_size: u32,
        env: &[(&str, &str)],
    ) -> Self {
        // BENCH_SERVER runs another build of the server (an A/B of a change,
        // docs/benchmarks.md) with the same scenarios.
        let binary = std::env::var("BENCH_SERVER")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_commerce").to_owned());
        Self::start_binary(&binary, database_url, nats_stream, pool_size, env).await
    }

    /// Starts the server built as `binary`, with extra environment variables.
    pub async fn start_binary(
        binary: &str,
        database_url: &str,
        nats_stream: &str,
        pool_size: u32,
        env: &[(&str, &str)],
    ) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new(binary);
        // BENCH_READ_POSTGRES: a streaming replica of BENCH_POSTGRES that
        // the server's queries read from (docs/benchmarks.md).
        if let Ok(replica) = std::env::var("BENCH_READ_POSTGRES") {
            let database = database_url.rsplit('/').next().unwrap_or_default();
            command.env("DATABASE_READ_URL", format!("{replica}/{database}"));
        }
        let child = command
            .env("APP_ENV", "production")
            .env("JWT_SECRET", SECRET)
            .env("DATABASE_URL", database_url)
            .env("DATABASE_MAX_CONNECTIONS", pool_size.to_string())
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("NATS_STREAM", nats_stream)
            .env(
                "NATS_SUBJECT",
                format!("{}.paid", nats_stream.to_lowercase()),
            )
            // A subject of its own: two streams may not share one.
            .env(
                "NATS_REFUND_SUBJECT",
                format!("{}.refunded", nats_stream.to_lowercase()),
            )
            .env(
                "NATS_EXPIRED_SUBJECT",
                format!("{}.expired", nats_stream.to_lowercase()),
            )
            .env("SEED_DEMO_DATA", "false")
            // The scenarios measure what an instance can serve; a few
            // readers send thousands of requests each, which the per-caller
            // rate limit of production would (rightly) turn away.
            .env("RATE_LIMIT_PER_SECOND", "0")
            // Likewise their hundreds of connections, all from 127.0.0.1.
            .env("HTTP_MAX_CONNECTIONS_PER_CLIENT", "1024")
            .env("WS_MAX_CONNECTIONS_PER_CLIENT", "10000")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server binary runs");
        let address = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        let ready = |address: String| async move {
            reqwest::get(format!("{address}/readyz"))
                .await
                .is_ok_and(|r| r.status().is_success())
        };
        while !ready(address.clone()).await {
            assert!(Instant::now() < deadline, "the server did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, address }
    }

    /// Resets the peak resident set size (Linux `clear_refs`).
    pub fn reset_peak_rss(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }

    /// The peak resident set size since the last reset, in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    /// The CPU time (user and system) the server has used so far.
    pub fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // The fields after the command's closing parenthesis; utime and
        // stime are the 14th and 15th of the whole line.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |n: usize| {
            fields
                .get(n)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // Linux reports them in clock ticks of 1/100 s.
        Duration::from_millis((ticks(11) + ticks(12)) * 10)
    }

    /// The resident set size now, in KiB.
    pub fn rss_kib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    }

    /// The sum of a counter's series on `/metrics` (every label set).
    pub async fn counter(&self, name: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.address))
            .await
            .expect("metrics")
            .text()
            .await
            .unwrap_or_default();
        text.lines()
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
