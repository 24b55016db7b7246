//! A throwaway `nats-server` with JetStream on a free port, owned by one
//! test: it can be stopped and restarted (same port, same storage) to play
//! an outage, and is killed and wiped when dropped.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use serde_json::Value;

/// A nats-server process run by the test.
pub struct NatsServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a server with JetStream on a free port.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("nats-test-{}", uuid::Uuid::new_v4().simple()));
        let mut server = Self {
            port,
            dir,
            child: None,
        };
        server.restart().await;
        server
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (its stored streams survive on disk).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again, on the same port and storage.
    pub async fn restart(&mut self) {
        self.stop();
        let bin = std::env::var("NATS_SERVER_BIN").unwrap_or_else(|_| "nats-server".into());
        let child = Command::new(&bin)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A JetStream context on this server.
    pub async fn jetstream(&self) -> jetstream::Context {
        let client = async_nats::connect(self.url())
            .await
            .expect("nats connects");
        jetstream::new(client)
    }

    /// Every message of `stream`, in order: its `Nats-Msg-Id` and its JSON.
    pub async fn messages(&self, stream: &str) -> Vec<(String, Value)> {
        let js = self.jetstream().await;
        let Ok(mut stream) = js.get_stream(stream).await else {
            return Vec::new();
        };
        let info = stream.info().await.expect("stream info").state.clone();
        let mut messages = Vec::new();
        for seq in info.first_sequence..=info.last_sequence {
            if info.messages == 0 {
                break;
            }
            let message = stream.get_raw_message(seq).await.expect("stored message");
            let id = message
                .headers
                .get("Nats-Msg-Id")
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default();
            let json = serde_json::from_slice(&message.payload).expect("JSON message");
            messages.push((id, json));
        }
        messages
    }

    /// Waits until `stream` holds `count` messages (or fails after `limit`).
    pub async fn wait_for(&self, stream: &str, count: u64, limit: Duration) {
        let js = self.jetstream().await;
        let deadline = Instant::now() + limit;
        loop {
            let stored = match js.get_stream(stream).await {
                Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
                Err(_) => 0,
            };
            if stored >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{stream} holds {stored} of {count} messages after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
