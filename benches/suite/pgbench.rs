//! The naive baselines: pgbench running `benches/pgbench/*.sql` on the same
//! database, over TCP, with prepared statements, as many clients as the
//! server's pool, and `--max-tries=10` for the SERIALIZABLE scripts.

use std::process::Command;

/// What pgbench reported.
#[derive(Clone)]
pub struct Baseline {
    /// Transactions per second (without the initial connection time).
    pub tps: f64,
    /// Transactions that failed after their tries.
    pub failed: u64,
    /// Transactions retried at least once.
    pub retried: u64,
    /// Average latency, ms.
    pub latency_ms: f64,
}

impl Baseline {
    /// The mean of runs of equal length (`None` for no runs).
    pub fn mean(runs: &[Baseline]) -> Option<Baseline> {
        let n = runs.len() as f64;
        (!runs.is_empty()).then(|| Baseline {
            tps: runs.iter().map(|r| r.tps).sum::<f64>() / n,
            failed: runs.iter().map(|r| r.failed).sum(),
            retried: runs.iter().map(|r| r.retried).sum(),
            latency_ms: runs.iter().map(|r| r.latency_ms).sum::<f64>() / n,
        })
    }
}

/// How long or how much pgbench runs.
pub enum Amount {
    /// `-t`: transactions per client.
    PerClient(usize),
    /// `-T`: seconds.
    Seconds(u64),
}

/// Runs `script` (a file name in `benches/pgbench/`) against `database`.
pub fn run(
    database: &str,
    script: &str,
    clients: u32,
    amount: Amount,
    vars: &[(&str, String)],
) -> Baseline {
    let path = format!("{}/benches/pgbench/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::new("pgbench");
    let port = crate::server::postgres_port();
    command.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-U",
        "postgres",
        "-n",
        "-M",
        "prepared",
    ]);
    command.args(["-c", &clients.to_string(), "-j", "2", "--max-tries=10"]);
    match amount {
        Amount::PerClient(n) => command.args(["-t", &n.to_string()]),
        Amount::Seconds(s) => command.args(["-T", &s.to_string()]),
    };
    for (name, value) in vars {
        command.args(["-D", &format!("{name}={value}")]);
    }
    command.args(["-f", &path, database]);
    let output = command.output().expect("pgbench runs");
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        panic!(
            "pgbench {script} failed:\n{text}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let number = |prefix: &str| -> f64 {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|rest| rest.trim().split([' ', '(']).next()?.parse().ok())
            .unwrap_or(0.0)
    };
    Baseline {
        tps: number("tps ="),
        failed: number("number of failed transactions:") as u64,
        retried: number("number of transactions retried:") as u64,
        latency_ms: number("latency average ="),
    }
}
