//! Order-paid events on a 3-node JetStream cluster (stream `ORDERS` with 3
//! replicas), with nodes killed by SIGKILL in the middle of a burst of
//! payments: the node the relay is connected to, the stream's leader, and
//! two of the three at once. Each time, once the cluster is whole again,
//! the outbox empties and the stream holds exactly one message per paid
//! order. (How soon the outbox empties is a figure, not a claim of these
//! tests; that the relay resumes on a recovery rather than after its
//! backoff is `events::the_relay_resumes_as_soon_as_nats_is_back_whatever_its_backoff`.)

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::helpers::nats::{JetStream, NatsCluster};
use crate::helpers::outbox::{STREAM, pay_all, pending_orders, unpublished, wait_until_published};
use crate::helpers::{Options, TestApp, spawn_app_with};

/// Orders paid in each burst.
const ORDERS: usize = 300;
/// How long the killed nodes stay down (the scenario, not a bound).
const OUTAGE: Duration = Duration::from_secs(3);

/// Which nodes a test kills.
#[derive(Debug, Clone, Copy)]
enum Outage {
    /// The node the relay's connection is on.
    ConnectedNode,
    /// The stream's leader.
    StreamLeader,
    /// The stream's leader and one more node: the stream loses its quorum.
    TwoNodes,
}

/// Pays `ORDERS` orders through the API while `outage` strikes, restarts
/// the killed nodes, and checks the stream against the paid orders.
async fn burst_through(outage: Outage) {
    let mut cluster = NatsCluster::start().await;
    let app = Arc::new(
        spawn_app_with(Options {
            nats: Some(cluster.urls()),
            env: vec![
                ("NATS_STREAM_REPLICAS", "3".into()),
                // Small batches: many rounds are in flight when a node dies.
                ("OUTBOX_BATCH_SIZE", "20".into()),
            ],
            ..Default::default()
        })
        .await,
    );
    let orders = pending_orders(&app, ORDERS, &format!("{outage:?}")).await;
    // The relay created the stream, with three replicas.
    let js = cluster.jetstream().await;
    let leader = cluster.stream_leader(STREAM).await;
    let replicas = js
        .get_stream(STREAM)
        .await
        .unwrap()
        .cached_info()
        .config
        .num_replicas;
    assert_eq!(replicas, 3, "NATS_STREAM_REPLICAS made an R3 stream");

    let payments = pay_all(std::slice::from_ref(&app), &orders);
    let strike = async {
        // Strike mid-burst: once a fifth of the events are in the stream.
        cluster.wait_for(STREAM, (ORDERS / 5) as u64).await;
        let killed: Vec<usize> = match outage {
            Outage::ConnectedNode => vec![
                cluster
                    .node_serving("commerce-outbox-relay")
                    .await
                    .expect("the relay is connected to a node"),
            ],
            Outage::StreamLeader => vec![leader],
            Outage::TwoNodes => vec![leader, (leader + 1) % 3],
        };
        for &i in &killed {
            cluster.node(i).stop();
        }
        let backlog_at_kill = unpublished(&app).await;
        // While the nodes are down, the relay says what happened.
        tokio::time::sleep(OUTAGE).await;
        let errors: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT last_error FROM outbox
             WHERE last_error IS NOT NULL AND published_at IS NULL",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap();
        for &i in &killed {
            cluster.node(i).restart().await;
        }
        cluster.wait_until_ready().await;
        // The stream has a leader again (it may have had one all along, or
        // have elected one before the restart).
        cluster.stream_leader(STREAM).await;
        (killed, backlog_at_kill, errors)
    };
    // Payments go on through the outage: NATS is never on their path.
    let ((), (killed, backlog_at_kill, errors)) = tokio::join!(payments, strike);
    println!(
        "cluster, {outage:?}: nodes {killed:?} killed with {backlog_at_kill} events \
         unpublished; relay errors during the outage: {errors:?}"
    );

    // The nodes are back, the stream is led and the burst is over: the
    // relay publishes the backlog.
    wait_until_published(&app).await;
    // The cluster is whole again: the restarted nodes have caught up.
    cluster.wait_until_settled(STREAM).await;

    // Exactly one message per paid order, each under its own event id.
    let messages = cluster.messages(STREAM).await;
    let ids: HashSet<&str> = messages.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), messages.len(), "a duplicate Nats-Msg-Id");
    let orders_in_stream: HashSet<String> = messages
        .iter()
        .map(|(_, event)| event["data"]["orderId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        orders_in_stream.len(),
        messages.len(),
        "an order published twice"
    );
    let paid: Vec<i64> = sqlx::query_scalar("SELECT id FROM orders WHERE status = 'PAID'")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(paid.len(), ORDERS);
    let paid: HashSet<i64> = paid.into_iter().collect();
    let streamed: HashSet<i64> = orders_in_stream
        .iter()
        .map(|id| TestApp::db_id(id))
        .collect();
    assert_eq!(streamed, paid, "one message per paid order, no other");
    assert_eq!(unpublished(&app).await, 0);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_node_the_relay_is_connected_to_loses_and_doubles_nothing() {
    burst_through(Outage::ConnectedNode).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_stream_leader_loses_and_doubles_nothing() {
    burst_through(Outage::StreamLeader).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn losing_two_of_three_nodes_loses_and_doubles_nothing() {
    burst_through(Outage::TwoNodes).await;
}
