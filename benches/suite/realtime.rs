//! Subscriptions under load: how fast a committed payment reaches its
//! subscribers, what an idle subscription costs the server in memory, and
//! what a population of subscribers costs the rushes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_graphql::futures_util::{SinkExt, StreamExt, stream};
use commerce::global_id::{encode, types};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::Message;

use crate::scenarios::{Bench, Report};
use crate::seed;

const ORDER_UPDATED: &str =
    "subscription($id: ID!) { orderUpdated(orderId: $id) { status paidAt } }";
const PAY_ORDER: &str =
    "mutation($i: PayOrderInput!) { payOrder(input: $i) { userErrors { code } } }";

/// What the subscriptions scenario measured.
pub struct Deliveries {
    pub sockets: usize,
    pub subscriptions: usize,
    /// The payment's transaction (its `paidAt`) to the update's arrival,
    /// per subscription: commit to socket, give or take the transaction's
    /// own few milliseconds.
    pub latencies: Vec<Duration>,
    /// The payment's request sent to the update's arrival.
    pub from_request: Vec<Duration>,
    /// The server's memory per idle subscription and per socket, KiB.
    pub kib_per_subscription: f64,
    pub kib_per_socket: f64,
    pub paid: usize,
}

/// The latency at quantile `q` of `latencies`, in milliseconds.
pub fn percentile_ms(latencies: &[Duration], q: f64) -> f64 {
    {
        let mut sorted = latencies.to_vec();
        sorted.sort_unstable();
        let Some(last) = sorted.len().checked_sub(1) else {
            return 0.0;
        };
        sorted[((last as f64) * q).round() as usize].as_secs_f64() * 1e3
    }
}

impl Deliveries {
    pub fn percentile_ms(&self, q: f64) -> f64 {
        percentile_ms(&self.latencies, q)
    }

    /// The targets: every update delivered, p99 under 100 ms, under 20 KiB
    /// per idle subscription.
    pub fn met(&self) -> bool {
        self.paid == self.sockets
            && self.latencies.len() == self.subscriptions
            && self.percentile_ms(0.99) < 100.0
            && self.kib_per_subscription < 20.0
    }
}

/// Open subscribers: one socket per order, `per_socket` subscriptions of it
/// on each. Each records when an update other than the first arrives.
struct Subscribers {
    tasks: JoinSet<()>,
    received: mpsc::UnboundedReceiver<(usize, Instant, Duration)>,
}

impl Subscribers {
    /// Opens them (100 at a time) and returns once every subscription has
    /// its first state.
    async fn open(
        bench: &Bench<'_>,
        owners: &[String],
        orders: &[String],
        per_socket: usize,
    ) -> Self {
        let url = format!("{}/graphql", bench.server.address.replacen("http", "ws", 1));
        let (ready_tx, mut ready) = mpsc::unbounded_channel();
        let (received_tx, received) = mpsc::unbounded_channel();
        let mut tasks = JoinSet::new();
        let sockets: Vec<(usize, String, String)> = owners
            .iter()
            .zip(orders)
            .enumerate()
            .map(|(i, (owner, order))| (i, bench.token(owner), order.clone()))
            .collect();
        for chunk in sockets.chunks(100) {
            for (i, token, order) in chunk.iter().cloned() {
                let (url, ready, received) = (url.clone(), ready_tx.clone(), received_tx.clone());
                tasks.spawn(async move {
                    let mut request = url.into_client_request().unwrap();
                    request
                        .headers_mut()
                        .insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
                    let (mut ws, _) = tokio_tungstenite::connect_async(request)
                        .await
                        .expect("a socket");
                    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
                    ws.send(Message::Text(init.to_string().into())).await.unwrap();
                    for s in 0..per_socket {
                        let subscribe = json!({ "type": "subscribe", "id": s.to_string(), "payload": { "query": ORDER_UPDATED, "variables": { "id": order } } });
                        ws.send(Message::Text(subscribe.to_string().into())).await.unwrap();
                    }
                    let mut first = 0;
                    while let Some(Ok(message)) = ws.next().await {
                        let Message::Text(text) = message else { continue };
                        let value: Value = serde_json::from_str(&text).unwrap_or_default();
                        if value["type"] != "next" {
                            continue;
                        }
                        if first < per_socket {
                            first += 1;
                            if first == per_socket {
                                let _ = ready.send(());
                            }
                        } else {
                            let now = chrono::Utc::now();
                            let paid = value["payload"]["data"]["orderUpdated"]["paidAt"]
                                .as_str()
                                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
                            let since = paid
                                .and_then(|p| (now - p.to_utc()).to_std().ok())
                                .unwrap_or_default();
                            let _ = received.send((i, Instant::now(), since));
                        }
                    }
                });
            }
            for _ in chunk {
                ready.recv().await.expect("every socket gets ready");
            }
        }
        Self { tasks, received }
    }
}

impl Bench<'_> {
    /// Scenario: 1,000 orders, each watched by 10 subscriptions on one
    /// socket of its owner (10,000 subscriptions on the instance), all
    /// paid at 200 connections; how long from each payment's request to
    /// each of its subscriptions' update, and the server's memory per idle
    /// subscription.
    pub async fn subscriptions(&self) -> Deliveries {
        const ORDERS: i64 = 1_000;
        const PER_SOCKET: usize = 10;
        let users = seed::users(self.pool, "watch", ORDERS, 1_000_000).await;
        let product = seed::products(self.pool, "Watched", 1, 1_000, 1_000_000).await;
        let orders = seed::single_line_orders(self.pool, users, product).await;
        let owners: Vec<String> = (1..=ORDERS).map(|k| format!("watch-{k}")).collect();
        let ids: Vec<String> = (0..ORDERS)
            .map(|k| encode(types::ORDER, orders.first + k))
            .collect();
        self.settle().await;
        let before = self.server.rss_kib();
        let mut subscribers = Subscribers::open(self, &owners, &ids, PER_SOCKET).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = self.server.rss_kib();

        let client = crate::load::client(200);
        let sent: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; ids.len()]));
        let payments = stream::iter(ids.iter().enumerate())
            .map(|(i, order)| {
                let (client, sent, url) = (client.clone(), sent.clone(), self.graphql_url());
                let token = self.token(&owners[i]);
                let body =
                    json!({ "query": PAY_ORDER, "variables": { "i": { "orderId": order } } });
                async move {
                    sent.lock().unwrap()[i] = Some(Instant::now());
                    let answer = client.post(url).bearer_auth(token).json(&body).send().await;
                    let text = match answer {
                        Ok(answer) => answer.text().await.unwrap_or_default(),
                        Err(_) => String::new(),
                    };
                    text.contains("\"userErrors\":[]")
                }
            })
            .buffer_unordered(200)
            .collect::<Vec<bool>>()
            .await;
        let paid = payments.iter().filter(|ok| **ok).count();
        let expected = paid * PER_SOCKET;
        let mut latencies = Vec::with_capacity(expected);
        let mut from_request = Vec::with_capacity(expected);
        let deadline = Instant::now() + Duration::from_secs(30);
        while latencies.len() < expected && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(1), subscribers.received.recv()).await {
                Ok(Some((i, at, since_commit))) => {
                    latencies.push(since_commit);
                    if let Some(sent) = sent.lock().unwrap()[i] {
                        from_request.push(at.saturating_duration_since(sent));
                    }
                }
                _ => continue,
            }
        }
        subscribers.tasks.abort_all();
        let subscriptions = ORDERS as usize * PER_SOCKET;
        Deliveries {
            sockets: ORDERS as usize,
            subscriptions,
            latencies,
            from_request,
            kib_per_subscription: (after - before) / subscriptions as f64,
            kib_per_socket: (after - before) / ORDERS as f64,
            paid,
        }
    }

    /// The coupon rush and the hot-product payments again, with 1,000
    /// idle subscriptions open (100 sockets of 10), each against its
    /// same-run result without them: the ratio must stay within 10 % of
    /// it. Both ratios are over the first run's pgbench baseline, which
    /// subscribers of the server cannot touch, so that pgbench's own noise
    /// does not enter the comparison.
    pub async fn with_subscribers(&self, rush: &Report, hot: &Report) -> Vec<Report> {
        const SOCKETS: i64 = 100;
        let users = seed::users(self.pool, "idle", SOCKETS, 0).await;
        let product = seed::products(self.pool, "Idle", 1, 1_000, 1_000).await;
        let orders = seed::single_line_orders(self.pool, users, product).await;
        let owners: Vec<String> = (1..=SOCKETS).map(|k| format!("idle-{k}")).collect();
        let ids: Vec<String> = (0..SOCKETS)
            .map(|k| encode(types::ORDER, orders.first + k))
            .collect();
        let subscribers = Subscribers::open(self, &owners, &ids, 10).await;
        let mut with_rush = self
            .coupon_rush_as("coupon rush, 1,000 subscribers", "rush-watched")
            .await;
        with_rush.baseline = rush.baseline.clone();
        with_rush.target_ratio = 0.9 * rush.ratio();
        let mut with_hot = self
            .hot_payments_as("hot-product payments, 1,000 subscribers", "hot-watched")
            .await;
        with_hot.baseline = hot.baseline.clone();
        with_hot.target_ratio = 0.9 * hot.ratio();
        drop(subscribers);
        vec![with_rush, with_hot]
    }
}
