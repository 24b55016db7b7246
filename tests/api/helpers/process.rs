//! Programs a test runs as processes of their own (the server's binary, to
//! SIGKILL or SIGTERM it, or one of its commands): killed when dropped,
//! even by a failing test, with their output read line by line.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus};

use tokio::sync::mpsc;

use super::wait::{eventually, wait_until};

/// A child process, killed (SIGKILL) and reaped when dropped.
pub struct Spawned {
    /// The process, for its pid and its pipes.
    pub child: Child,
}

impl Spawned {
    /// Runs `command`.
    pub fn spawn(command: &mut Command) -> Self {
        let child = command.spawn().expect("the program runs");
        Self { child }
    }

    /// Waits until the process exits; its status.
    pub async fn exited(&mut self) -> ExitStatus {
        let child = &mut self.child;
        eventually("the process to exit", async {
            loop {
                if let Some(status) = child.try_wait().expect("the process's status") {
                    return status;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await
    }

    /// The lines the process writes to `pipe` (its stdout or stderr, taken
    /// from [`Spawned::child`]), as they come.
    pub fn lines(pipe: impl Read + Send + 'static) -> mpsc::UnboundedReceiver<String> {
        let (tx, lines) = mpsc::unbounded_channel();
        forward(pipe, tx);
        lines
    }

    /// The lines the process writes to its stdout and its stderr (both
    /// piped), as they come.
    pub fn output_lines(&mut self) -> mpsc::UnboundedReceiver<String> {
        let (tx, lines) = mpsc::unbounded_channel();
        forward(self.child.stdout.take().expect("stdout piped"), tx.clone());
        forward(self.child.stderr.take().expect("stderr piped"), tx);
        lines
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends each line of `pipe` to `tx`, from a thread of its own (the pipe
/// blocks).
fn forward(pipe: impl Read + Send + 'static, tx: mpsc::UnboundedSender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
}

/// Waits until a server answers on `address` (`http://host:port`).
pub async fn wait_until_serving(address: &str) {
    let healthz = format!("{address}/healthz");
    wait_until("the server to answer", async || {
        reqwest::get(&healthz).await.is_ok()
    })
    .await;
}
