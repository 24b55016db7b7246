//! Read replicas: query operations read from a streaming replica
//! (`DATABASE_READ_URL`), fall back to the primary while it is down or lags
//! too far, and come back to it by themselves.
//!
//! Each test builds its own throwaway primary (`initdb`, `wal_level=replica`)
//! and a streaming replica of it (`pg_basebackup -R`) on free ports, from
//! the PostgreSQL 15 binaries; PostgreSQL refuses to run as root, so as root
//! they run as the `postgres` user (`runuser`). Without the binaries the
//! test says why and passes, skipped; CI has them (`.ci/run`'s `cargo test`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use commerce::db::Db;
use commerce::error::AppError;
use commerce::metrics::Metrics;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::net::free_port;
use crate::helpers::wait::{eventually, wait_until};
use crate::helpers::{Options, TestApp, spawn_app_with};

/// The nested read of the benchmark suite, and more of each order.
const NESTED: &str = "{ viewer { balance orders(first: 20) { totalCount nodes {
    id status totalAmount payableAmount paidAt
    items { quantity unitPrice lineTotal product { id name price stock } } } } } }";

const PRODUCTS: &str = "{ products(first: 100) { totalCount nodes { name } } }";

/// Where the PostgreSQL 15 binaries are (`PG_BIN_DIR` overrides).
fn bin_dir() -> PathBuf {
    std::env::var("PG_BIN_DIR")
        .unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into())
        .into()
}

/// A primary and its streaming replica, stopped and removed when dropped.
struct LocalReplica {
    dir: PathBuf,
    primary_port: u16,
    replica_port: u16,
    as_postgres: bool,
}

impl LocalReplica {
    /// Starts both servers, or says why it cannot and returns `None`.
    fn start() -> Option<Self> {
        let bin = bin_dir();
        if !bin.join("initdb").exists() || !bin.join("pg_basebackup").exists() {
            println!(
                "skipped: no PostgreSQL binaries in {} (set PG_BIN_DIR)",
                bin.display()
            );
            return None;
        }
        // PostgreSQL refuses to run as root.
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let dir = std::env::temp_dir().join(format!("commerce-replica-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let cluster = Self {
            dir,
            primary_port: free_port(),
            replica_port: free_port(),
            as_postgres: root,
        };
        if root {
            let owned = Command::new("chown")
                .args(["postgres:postgres", &cluster.path("")])
                .status()
                .is_ok_and(|s| s.success());
            if !owned {
                println!(
                    "skipped: running as root and there is no postgres user to run PostgreSQL"
                );
                return None;
            }
        }
        let primary = cluster.path("primary");
        cluster.run(
            "initdb",
            &[
                "-D",
                &primary,
                "-U",
                "postgres",
                "--auth=trust",
                "-N",
                "-E",
                "UTF8",
            ],
        );
        cluster.configure(
            "primary",
            cluster.primary_port,
            "wal_level = replica\nmax_wal_senders = 5\n",
        );
        cluster.pg_ctl("primary", "start");
        cluster.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &cluster.primary_port.to_string(),
                "-U",
                "postgres",
                "-D",
                &cluster.path("replica"),
                "-R",
                "-X",
                "stream",
            ],
        );
        cluster.configure("replica", cluster.replica_port, "hot_standby = on\n");
        cluster.pg_ctl("replica", "start");
        Some(cluster)
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// Appends settings to a server's configuration (later lines win).
    fn configure(&self, server: &str, port: u16, extra: &str) {
        use std::io::Write;
        let conf = Path::new(&self.path(server)).join("postgresql.conf");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .expect("postgresql.conf");
        write!(
            file,
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             fsync = off\nmax_connections = 100\n{extra}",
            self.dir.display()
        )
        .expect("configured");
    }

    /// Runs a PostgreSQL program (as the postgres user when root).
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let program = bin_dir().join(program).display().to_string();
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", &program]);
            c
        } else {
            Command::new(&program)
        };
        let output = command.args(args).output().expect("the program runs");
        assert!(
            output.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// `pg_ctl start` (waiting until it accepts connections) or an
    /// immediate `stop` of one server.
    fn pg_ctl(&self, server: &str, action: &str) {
        let data = self.path(server);
        let log = self.path(&format!("{server}.log"));
        match action {
            "start" => self.run("pg_ctl", &["-D", &data, "-l", &log, "-w", "start"]),
            _ => self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]),
        };
    }

    fn primary_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.primary_port)
    }

    fn replica_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.replica_port)
    }

    /// Waits until the replica has replayed everything the primary has
    /// written so far.
    async fn caught_up(&self, primary: &PgPool, replica: &PgPool) {
        let written: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::TEXT")
            .fetch_one(primary)
            .await
            .expect("the primary's position");
        wait_until("the replica to catch up", async || {
            sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::TEXT::pg_lsn")
                .bind(&written)
                .fetch_one(replica)
                .await
                .expect("the replica's position")
        })
        .await;
    }
}

impl Drop for LocalReplica {
    fn drop(&mut self) {
        for server in ["replica", "primary"] {
            if Path::new(&self.path(server))
                .join("postmaster.pid")
                .exists()
            {
                let data = self.path(server);
                let program = bin_dir().join("pg_ctl").display().to_string();
                let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
                let _ = if self.as_postgres {
                    Command::new("runuser")
                        .args(["-u", "postgres", "--", &program])
                        .args(args)
                        .output()
                } else {
                    Command::new(&program).args(args).output()
                };
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How many query operations `app` has read from `target`.
fn reads(app: &TestApp, target: &str) -> u64 {
    app.state
        .metrics()
        .counter("db_query_reads_total", &[("target", target)])
}

/// Polls the gauge `name` until it reads `value`.
async fn await_gauge(app: &TestApp, name: &str, value: f64) {
    wait_until(&format!("{name} to read {value}"), async || {
        app.metric(name).await == Some(value)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queries_read_from_the_replica_and_fall_back_to_the_primary_while_it_is_down_or_behind() {
    let Some(cluster) = LocalReplica::start() else {
        return;
    };
    let db = format!("test_{}", uuid::Uuid::new_v4().simple());
    let read_url = format!("{}/{db}", cluster.replica_url());
    let on_primary = |env: &[(&'static str, &str)]| Options {
        postgres: Some(cluster.primary_url()),
        database: Some(db.clone()),
        ..Options::with_env(env)
    };
    let app = spawn_app_with(on_primary(&[
        ("DATABASE_READ_URL", &read_url),
        ("DATABASE_READ_LAG_SAMPLE_MS", "100"),
        ("DATABASE_READ_MAX_LAG_MS", "500"),
    ]))
    .await;
    // The same replica with no lag limit: it serves queries however far
    // behind it is.
    let unbounded = spawn_app_with(on_primary(&[
        ("DATABASE_READ_URL", &read_url),
        ("DATABASE_READ_LAG_SAMPLE_MS", "100"),
    ]))
    .await;
    // The same database read from the primary alone: the reference answer.
    let reference = spawn_app_with(on_primary(&[])).await;
    // The replica has the database once it has replayed its creation.
    let replica_pool = eventually("the database on the replica", async {
        loop {
            match PgPool::connect(&format!("{}/{db}", cluster.replica_url())).await {
                Ok(pool) => break pool,
                Err(e) => eprintln!("no database on the replica yet: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;

    // Orders with lines, some paid: every write goes to the primary.
    let lamp = app.create_product("Lamp", 2_500, 50).await;
    let desk = app.create_product("Desk", 40_000, 5).await;
    app.charge("reader", 200_000).await;
    let paid = app.create_order("reader", &[(&lamp, 2), (&desk, 1)]).await;
    app.create_order("reader", &[(&lamp, 3)]).await;
    let r = app.pay("reader", &paid, None).await;
    assert_eq!(
        r.data()["payOrder"]["order"]["status"],
        "PAID",
        "{}",
        r.body
    );
    // A mutation's payload comes from the primary: it reads its own write.
    assert_eq!(reads(&app, "replica"), 0, "no query has run yet");

    cluster.caught_up(&app.pool, &replica_pool).await;
    // And the server has seen it so (a sample comes every 100 ms): the
    // lag is in /metrics.
    await_gauge(&app, "db_replica_up", 1.0).await;
    await_gauge(&app, "db_replica_lag_bytes", 0.0).await;
    await_gauge(&app, "db_replica_in_use", 1.0).await;
    let lag_seconds = app.metric("db_replica_lag_seconds").await;
    println!("replica caught up: lag 0 bytes, {lag_seconds:?} s");
    assert_eq!(lag_seconds, Some(0.0));
    let before = reads(&app, "replica");
    let from_replica = app.as_user("reader", NESTED, json!({})).await;
    assert_eq!(reads(&app, "replica"), before + 1, "served by the replica");
    let from_primary = reference.as_user("reader", NESTED, json!({})).await;
    assert_eq!(reads(&reference, "primary"), 1);
    assert_eq!(from_replica.data(), from_primary.data());
    let orders = &from_replica.data()["viewer"]["orders"];
    assert_eq!(orders["totalCount"], 2);
    assert_eq!(
        orders["nodes"][1]["items"].as_array().map(Vec::len),
        Some(2)
    );
    // A write transaction that reaches a standby (as one can for a moment
    // around a failover) is SERVICE_UNAVAILABLE, safe to retry, never an
    // internal error: BEGIN ISOLATION LEVEL SERIALIZABLE is refused there.
    let standby = Db::new(replica_pool.clone(), Arc::new(Metrics::default()));
    let refused = standby
        .serializable("test", |_| Box::pin(async { Ok(()) }))
        .await;
    assert!(
        matches!(refused, Err(AppError::Unavailable(_))),
        "{refused:?}"
    );
    let on_replica: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'commerce-read'",
    )
    .fetch_one(&replica_pool)
    .await
    .unwrap();
    assert!(
        on_replica >= 1,
        "the server holds connections to the replica"
    );

    // A replica that falls behind by more than DATABASE_READ_MAX_LAG_MS
    // is skipped: a query then sees a product the replica has not.
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&replica_pool)
        .await
        .unwrap();
    app.create_product("Chair", 9_000, 10).await;
    // Without a limit, a query may be stale (the staleness rule)...
    let before = reads(&unbounded, "replica");
    let r = unbounded.gql(None, PRODUCTS, json!({})).await;
    assert_eq!(r.data()["products"]["totalCount"], 2, "stale by the lag");
    // ...but the caller's own user row comes from the primary: a caller
    // first seen now (made on the primary, not yet on the replica) reads
    // their balance, not an error.
    let r = unbounded
        .as_user(
            "newcomer",
            "{ viewer { balance orders(first: 5) { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.data()["viewer"]["balance"], "0", "{}", r.body);
    assert_eq!(r.data()["viewer"]["orders"]["totalCount"], 0);
    assert_eq!(
        reads(&unbounded, "replica"),
        before + 2,
        "both on the replica"
    );
    await_gauge(&app, "db_replica_in_use", 0.0).await;
    let behind = app.metric("db_replica_lag_seconds").await.unwrap_or(0.0);
    let behind_bytes = app.metric("db_replica_lag_bytes").await.unwrap_or(0.0);
    println!("replay paused: lag {behind} s, {behind_bytes} bytes; queries read from the primary");
    assert!(behind_bytes > 0.0);
    assert!(behind > 0.5, "{behind}");
    let primary_before = reads(&app, "primary");
    let r = app.gql(None, PRODUCTS, json!({})).await;
    assert_eq!(
        r.data()["products"]["totalCount"],
        3,
        "fresh from the primary"
    );
    assert_eq!(reads(&app, "primary"), primary_before + 1);
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&replica_pool)
        .await
        .unwrap();
    await_gauge(&app, "db_replica_in_use", 1.0).await;
    let before = reads(&app, "replica");
    let r = app.gql(None, PRODUCTS, json!({})).await;
    assert_eq!(r.data()["products"]["totalCount"], 3);
    assert_eq!(reads(&app, "replica"), before + 1, "back on the replica");

    // A replica outage: queries answer from the primary. A query that
    // started on the replica before the sampler noticed may answer
    // SERVICE_UNAVAILABLE (safe to retry), never anything else.
    replica_pool.close().await;
    cluster.pg_ctl("replica", "stop");
    let mut unavailable = 0;
    let answer: Value = eventually("an answer from the primary", async {
        loop {
            let r = app.as_user("reader", NESTED, json!({})).await;
            if r.body.get("errors").is_none() {
                break r.data().clone();
            }
            assert_eq!(r.error_code(), "SERVICE_UNAVAILABLE", "{}", r.body);
            unavailable += 1;
        }
    })
    .await;
    await_gauge(&app, "db_replica_up", 0.0).await;
    let primary_before = reads(&app, "primary");
    let again = app.as_user("reader", NESTED, json!({})).await;
    assert_eq!(
        reads(&app, "primary"),
        primary_before + 1,
        "the primary answers"
    );
    let fresh = reference.as_user("reader", NESTED, json!({})).await;
    assert_eq!(&answer, fresh.data());
    assert_eq!(again.data(), fresh.data());
    println!(
        "replica stopped: {unavailable} query(ies) answered SERVICE_UNAVAILABLE, then the primary \
         answered"
    );

    // Back: queries return to the replica by themselves.
    cluster.pg_ctl("replica", "start");
    let before = reads(&app, "replica");
    wait_until("queries to return to the replica", async || {
        let r = app.as_user("reader", NESTED, json!({})).await;
        assert_eq!(r.data(), fresh.data());
        reads(&app, "replica") > before
    })
    .await;
}
