//! Throwaway `nats-server`s with JetStream on free ports, owned by one
//! test: a single server ([`NatsServer`]) or a 3-node JetStream cluster
//! ([`NatsCluster`]), read alike through [`JetStream`]. A server can be
//! killed (SIGKILL) and restarted (same ports, same storage) to play an
//! outage; everything is killed and wiped when dropped. Each server has a
//! monitoring port, through which a test sees its connections and their
//! subscriptions.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use async_graphql::futures_util::StreamExt;
use async_nats::jetstream;
use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use async_nats::jetstream::context::{GetStreamError, GetStreamErrorKind};
use serde_json::Value;

use super::net::free_port;
use super::wait::{eventually, wait_until};

/// A nats-server process run by the test.
pub struct NatsServer {
    port: u16,
    monitor_port: u16,
    dir: PathBuf,
    /// Arguments beyond the ports, JetStream and the storage.
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
            monitor_port: free_port(),
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

    /// Starts the server again, on the same ports and storage, and waits
    /// until it accepts connections.
    pub async fn restart(&mut self) {
        self.stop();
        let bin = std::env::var("NATS_SERVER_BIN").unwrap_or_else(|_| "nats-server".into());
        let child = Command::new(&bin)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-m", &self.monitor_port.to_string(), "-js", "-sd"])
            .arg(&self.dir)
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
        self.child = Some(child);
        let port = self.port;
        wait_until("nats-server to accept connections", async || {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
    }

    /// The server's client connections (`/connz` on its monitoring port,
    /// with their subscriptions); none while it is down.
    async fn connections(&self) -> Vec<Value> {
        if !self.is_running() {
            return Vec::new();
        }
        let url = format!(
            "http://127.0.0.1:{}/connz?subs=1&limit=1024",
            self.monitor_port
        );
        let Ok(response) = reqwest::get(url).await else {
            return Vec::new();
        };
        let connz: Value = response.json().await.unwrap_or_default();
        connz["connections"].as_array().cloned().unwrap_or_default()
    }

    /// How many client connections have subscribed to `subject` (exactly
    /// that subject, wildcards included).
    pub async fn subscribed(&self, subject: &str) -> usize {
        self.connections()
            .await
            .iter()
            .filter(|c| {
                c["subscriptions_list"]
                    .as_array()
                    .is_some_and(|subs| subs.iter().any(|s| s == subject))
            })
            .count()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A 3-node JetStream cluster on free ports: node `i` is server `n<i>`,
/// with its own client, route and monitoring ports and its own storage.
pub struct NatsCluster {
    nodes: Vec<NatsServer>,
}

impl NatsCluster {
    /// Starts three nodes and waits until JetStream has a metadata leader
    /// (streams can be created).
    pub async fn start() -> Self {
        let route_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let cluster = format!("c{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let routes = route_ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes: Vec<NatsServer> = route_ports
            .iter()
            .enumerate()
            .map(|(i, route_port)| {
                NatsServer::new(vec![
                    "--server_name".into(),
                    format!("n{i}"),
                    "--cluster_name".into(),
                    cluster.clone(),
                    "--cluster".into(),
                    format!("nats://127.0.0.1:{route_port}"),
                    "--routes".into(),
                    routes.clone(),
                ])
            })
            .collect();
        for node in &mut nodes {
            node.restart().await;
        }
        let cluster = Self { nodes };
        cluster.wait_until_ready().await;
        cluster
    }

    /// Node `i`, to kill and restart.
    pub fn node(&mut self, i: usize) -> &mut NatsServer {
        &mut self.nodes[i]
    }

    /// Waits until every running node knows JetStream's metadata leader
    /// (`/jsz` on its monitoring port): streams can then be created.
    pub async fn wait_until_ready(&self) {
        let http = reqwest::Client::new();
        for node in self.nodes.iter().filter(|n| n.is_running()) {
            let jsz = format!("http://127.0.0.1:{}/jsz", node.monitor_port);
            wait_until("the JetStream cluster to have a leader", async || {
                let jsz: Value = match http.get(&jsz).send().await {
                    Ok(response) => response.json().await.unwrap_or_default(),
                    Err(_) => Value::Null,
                };
                jsz["meta_cluster"]["leader"]
                    .as_str()
                    .is_some_and(|l| !l.is_empty())
            })
            .await;
        }
    }

    /// The node that holds the client connection named `name`.
    pub async fn node_serving(&self, name: &str) -> Option<usize> {
        for (i, node) in self.nodes.iter().enumerate() {
            if node.connections().await.iter().any(|c| c["name"] == name) {
                return Some(i);
            }
        }
        None
    }

    /// Waits until `stream` has a leader and its other replicas are all
    /// current (caught up with it): what is read from it then is what the
    /// cluster holds, whichever node answers.
    pub async fn wait_until_settled(&self, stream: &str) {
        let js = self.jetstream().await;
        let nodes = self.nodes.len();
        wait_until(&format!("{stream}'s replicas to catch up"), async || {
            let Ok(mut s) = js.get_stream(stream).await else {
                return false;
            };
            let Ok(info) = s.info().await else {
                return false;
            };
            info.cluster.as_ref().is_some_and(|c| {
                c.leader.is_some()
                    && c.replicas.len() + 1 == nodes
                    && c.replicas.iter().all(|r| r.current && !r.offline)
            })
        })
        .await;
    }

    /// The node leading `stream` (`$JS.API.STREAM.INFO.<stream>`'s
    /// `cluster.leader`), once it has one.
    pub async fn stream_leader(&self, stream: &str) -> usize {
        let js = self.jetstream().await;
        let mut leader = None;
        wait_until(&format!("{stream} to have a leader"), async || {
            leader = match js.get_stream(stream).await {
                Ok(s) => s
                    .cached_info()
                    .cluster
                    .as_ref()
                    .and_then(|c| c.leader.as_deref())
                    .and_then(|l| l.strip_prefix('n'))
                    .and_then(|n| n.parse().ok()),
                Err(_) => None,
            };
            leader.is_some()
        })
        .await;
        leader.expect("a leader")
    }
}

/// What the tests read of JetStream, through a client connected to a
/// single server or to every node of a cluster alike.
pub trait JetStream {
    /// The client URLs, comma-separated (as `NATS_URL` takes them).
    fn urls(&self) -> String;

    /// A JetStream context through a new client.
    async fn jetstream(&self) -> jetstream::Context {
        let urls = self.urls();
        let servers: Vec<&str> = urls.split(',').collect();
        let client = async_nats::connect(servers).await.expect("nats connects");
        jetstream::new(client)
    }

    /// Every message of `stream`, in order: its `Nats-Msg-Id` and its JSON.
    async fn messages(&self, stream: &str) -> Vec<(String, Value)> {
        messages(&self.jetstream().await, stream).await
    }

    /// Waits until `stream` holds at least `count` messages.
    async fn wait_for(&self, stream: &str, count: u64) {
        let js = self.jetstream().await;
        wait_until(&format!("{count} messages in {stream}"), async || {
            let stored = match js.get_stream(stream).await {
                Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
                Err(_) => 0,
            };
            stored >= count
        })
        .await;
    }
}

impl JetStream for NatsServer {
    fn urls(&self) -> String {
        self.url()
    }
}

impl JetStream for NatsCluster {
    fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Whether `error` says that the stream does not exist.
fn is_not_found(error: &GetStreamError) -> bool {
    matches!(
        error.kind(),
        GetStreamErrorKind::JetStream(e) if e.error_code() == ErrorCode::STREAM_NOT_FOUND
    )
}

/// Every message of `stream`, in order, read through an ordered consumer:
/// its `Nats-Msg-Id` and its JSON.
async fn messages(js: &jetstream::Context, stream: &str) -> Vec<(String, Value)> {
    // A request may time out while a cluster recovers: asked again. A
    // stream that does not exist holds nothing.
    let name = stream;
    let found = eventually(&format!("{name}'s info"), async {
        loop {
            match js.get_stream(name).await {
                Ok(mut stream) => match stream.info().await {
                    Ok(info) => break Some((info.state.messages, stream.clone())),
                    Err(e) => eprintln!("no info of {name} yet ({e}); asking again"),
                },
                Err(e) if is_not_found(&e) => break None,
                Err(e) => eprintln!("no stream {name} yet ({e}); asking again"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await;
    let Some((stored, stream)) = found else {
        return Vec::new();
    };
    if stored == 0 {
        return Vec::new();
    }
    // A cluster that has just lost or regained nodes may take a moment to
    // place a consumer.
    let consumer = eventually("an ordered consumer", async {
        loop {
            let created = stream
                .create_consumer(OrderedConfig {
                    deliver_policy: DeliverPolicy::All,
                    ..Default::default()
                })
                .await;
            match created {
                Ok(consumer) => break consumer,
                Err(e) => {
                    eprintln!("no ordered consumer yet ({e}); retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            }
        }
    })
    .await;
    let mut delivered = consumer.messages().await.expect("the consumer delivers");
    let mut messages = Vec::new();
    while (messages.len() as u64) < stored {
        let what = format!("message {} of {stored}", messages.len() + 1);
        let message = eventually(&what, delivered.next())
            .await
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
