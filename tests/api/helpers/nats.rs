//! Throwaway `nats-server`s with JetStream on free ports, owned by one
//! test: a single server ([`NatsServer`]) or a 3-node JetStream cluster
//! ([`NatsCluster`]). A server can be killed (SIGKILL) and restarted (same
//! ports, same storage) to play an outage; everything is killed and wiped
//! when dropped.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_graphql::futures_util::StreamExt;
use async_nats::jetstream;
use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use serde_json::Value;

use super::net::free_port;

/// A nats-server process run by the test.
pub struct NatsServer {
    port: u16,
    dir: PathBuf,
    /// Arguments beyond the client port, JetStream and the storage.
    extra: Vec<String>,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a server with JetStream on a free port.
    pub async fn start() -> Self {
        let mut server = Self::new(Vec::new());
        server.restart().await;
        server
    }

    fn new(extra: Vec<String>) -> Self {
        let dir = std::env::temp_dir().join(format!("nats-test-{}", uuid::Uuid::new_v4().simple()));
        Self {
            port: free_port(),
            dir,
            extra,
            child: None,
        }
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server with SIGKILL (its stored streams survive on disk).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the process runs.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the server again, on the same ports and storage.
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
            .args(&self.extra)
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
        jetstream_at(&self.url()).await
    }

    /// Every message of `stream`, in order: its `Nats-Msg-Id` and its JSON.
    pub async fn messages(&self, stream: &str) -> Vec<(String, Value)> {
        messages(&self.jetstream().await, stream).await
    }

    /// Waits until `stream` holds `count` messages (or fails after `limit`).
    pub async fn wait_for(&self, stream: &str, count: u64, limit: Duration) {
        wait_for(&self.jetstream().await, stream, count, limit).await
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A JetStream context through a client connected to `urls` (one URL or a
/// comma-separated list).
pub async fn jetstream_at(urls: &str) -> jetstream::Context {
    let servers: Vec<&str> = urls.split(',').collect();
    let client = async_nats::connect(servers).await.expect("nats connects");
    jetstream::new(client)
}

/// Every message of `stream`, in order, read through an ordered consumer:
/// its `Nats-Msg-Id` and its JSON.
pub async fn messages(js: &jetstream::Context, stream: &str) -> Vec<(String, Value)> {
    let Ok(mut stream) = js.get_stream(stream).await else {
        return Vec::new();
    };
    let stored = stream.info().await.expect("stream info").state.messages;
    if stored == 0 {
        return Vec::new();
    }
    // A cluster that has just lost or regained nodes may take a moment to
    // place a consumer.
    let deadline = Instant::now() + Duration::from_secs(20);
    let consumer = loop {
        let created = stream
            .create_consumer(OrderedConfig {
                deliver_policy: DeliverPolicy::All,
                ..Default::default()
            })
            .await;
        match created {
            Ok(consumer) => break consumer,
            Err(e) if Instant::now() < deadline => {
                eprintln!("no ordered consumer yet ({e}); retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no ordered consumer: {e}"),
        }
    };
    let mut delivered = consumer.messages().await.expect("the consumer delivers");
    let mut messages = Vec::new();
    while (messages.len() as u64) < stored {
        let message = tokio::time::timeout(Duration::from_secs(10), delivered.next())
            .await
            .unwrap_or_else(|_| panic!("{} of {stored} messages read", messages.len()))
            .expect("a message")
            .expect("a message, not an error");
        let id = message
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        let json = serde_json::from_slice(&message.payload).expect("JSON message");
        messages.push((id, json));
    }
    messages
}

/// Waits until `stream` holds `count` messages (or fails after `limit`).
pub async fn wait_for(js: &jetstream::Context, stream: &str, count: u64, limit: Duration) {
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

/// A 3-node JetStream cluster on free ports: node `i` is server `n<i>`,
/// with its own client, route and monitoring ports and its own storage.
pub struct NatsCluster {
    nodes: Vec<NatsServer>,
    monitor_ports: Vec<u16>,
}

impl NatsCluster {
    /// Starts three nodes and waits until JetStream has a metadata leader
    /// (streams can be created).
    pub async fn start() -> Self {
        let route_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let monitor_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let cluster = format!("c{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let routes = route_ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes = Vec::new();
        for i in 0..3 {
            nodes.push(NatsServer::new(vec![
                "--server_name".into(),
                format!("n{i}"),
                "--cluster_name".into(),
                cluster.clone(),
                "--cluster".into(),
                format!("nats://127.0.0.1:{}", route_ports[i]),
                "--routes".into(),
                routes.clone(),
                "-m".into(),
                monitor_ports[i].to_string(),
            ]));
        }
        for node in &mut nodes {
            node.restart().await;
        }
        let cluster = Self {
            nodes,
            monitor_ports,
        };
        cluster.wait_until_ready().await;
        cluster
    }

    /// The three client URLs, comma-separated (as `NATS_URL` takes them).
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Waits until every running node knows JetStream's metadata leader
    /// (`/jsz` on its monitoring port): streams can then be created.
    pub async fn wait_until_ready(&self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        for (i, port) in self.monitor_ports.iter().enumerate() {
            if !self.nodes[i].is_running() {
                continue;
            }
            loop {
                let jsz: Value = match http
                    .get(format!("http://127.0.0.1:{port}/jsz"))
                    .send()
                    .await
                {
                    Ok(response) => response.json().await.unwrap_or_default(),
                    Err(_) => Value::Null,
                };
                if jsz["meta_cluster"]["leader"]
                    .as_str()
                    .is_some_and(|l| !l.is_empty())
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the JetStream cluster never formed: {jsz}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// A JetStream context through a client that knows all three nodes.
    pub async fn jetstream(&self) -> jetstream::Context {
        jetstream_at(&self.urls()).await
    }

    /// Kills node `i` with SIGKILL.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].stop();
    }

    /// Starts node `i` again on its ports and storage.
    pub async fn restart(&mut self, i: usize) {
        self.nodes[i].restart().await;
    }

    /// The node that holds the client connection named `name` (found
    /// through each running node's monitoring endpoint `/connz`).
    pub async fn node_serving(&self, name: &str) -> Option<usize> {
        let http = reqwest::Client::new();
        for (i, port) in self.monitor_ports.iter().enumerate() {
            if !self.nodes[i].is_running() {
                continue;
            }
            let Ok(response) = http
                .get(format!("http://127.0.0.1:{port}/connz?limit=1024"))
                .send()
                .await
            else {
                continue;
            };
            let connz: Value = response.json().await.unwrap_or_default();
            let connections = connz["connections"].as_array().cloned().unwrap_or_default();
            if connections.iter().any(|c| c["name"] == name) {
                return Some(i);
            }
        }
        None
    }

    /// The node leading `stream` (`$JS.API.STREAM.INFO.<stream>`'s
    /// `cluster.leader`), once it has one.
    pub async fn stream_leader(&self, stream: &str) -> usize {
        let js = self.jetstream().await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(s) = js.get_stream(stream).await
                && let Some(leader) = s
                    .cached_info()
                    .cluster
                    .as_ref()
                    .and_then(|c| c.leader.clone())
                && let Some(i) = leader.strip_prefix('n').and_then(|n| n.parse().ok())
            {
                return i;
            }
            assert!(Instant::now() < deadline, "{stream} never had a leader");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every message of `stream`, in order (see [`messages`]).
    pub async fn messages(&self, stream: &str) -> Vec<(String, Value)> {
        messages(&self.jetstream().await, stream).await
    }
}
