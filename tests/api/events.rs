//! Order-paid events: the outbox relayed to a real JetStream (a nats-server
//! each test starts on a free port). Exactly one message per payment, with
//! its order's data; nothing lost while NATS is down; a republish dropped by
//! JetStream's deduplication; two relays never publishing one event twice.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::helpers::event_schema::violations_of;
use crate::helpers::nats::{JetStream, NatsServer};
use crate::helpers::outbox::{STREAM, pay_all, pending_orders, unpublished, wait_until_published};
use crate::helpers::process::Spawned;
use crate::helpers::wait::{NEVER_MS, eventually, wait_until};
use crate::helpers::{Options, TestApp, spawn_app_with};

async fn app_on(nats: &NatsServer, database: Option<String>) -> Arc<TestApp> {
    Arc::new(
        spawn_app_with(Options {
            nats: Some(nats.url()),
            database,
            ..Default::default()
        })
        .await,
    )
}

/// Checks that the stream holds exactly one message per outbox row, each
/// under its event id, and nothing else.
async fn assert_each_event_once(app: &TestApp, nats: &NatsServer) -> Vec<Value> {
    let messages = nats.messages(STREAM).await;
    let ids: HashSet<&str> = messages.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), messages.len(), "a duplicate in the stream");
    let rows: Vec<String> = sqlx::query_scalar("SELECT event_id::TEXT FROM outbox")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let expected: HashSet<&str> = rows.iter().map(String::as_str).collect();
    assert_eq!(
        ids, expected,
        "the stream holds exactly the outbox's events"
    );
    for (id, event) in &messages {
        assert_eq!(event["id"], id.as_str(), "Nats-Msg-Id is the event id");
    }
    messages.into_iter().map(|(_, event)| event).collect()
}

fn published(app: &TestApp, name: &'static str) -> u64 {
    app.state.metrics().counter(name, &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_payment_is_one_message_with_its_order_data() {
    let nats = NatsServer::start().await;
    let app = app_on(&nats, None).await;
    let mut orders = pending_orders(&app, 20, "buyer").await;
    // One payment with a coupon, so that the coupon's data is checked too.
    let campaign = app
        .create_campaign("FIXED_AMOUNT", 500, 10, (-1, None))
        .await;
    let (user, order) = orders.remove(0);
    let coupon = app.grant_coupon(&user, campaign).await;
    let r = app.pay(&user, &order, Some(&coupon)).await;
    assert_eq!(
        r.data()["payOrder"]["order"]["payableAmount"],
        "2000",
        "{}",
        r.body
    );
    pay_all(std::slice::from_ref(&app), &orders).await;

    nats.wait_for(STREAM, 20).await;
    wait_until_published(&app).await;
    let events = assert_each_event_once(&app, &nats).await;
    assert_eq!(events.len(), 20);
    assert_eq!(published(&app, "outbox_published_total"), 20);

    // Each event carries its order as the database has it.
    for event in &events {
        let data = &event["data"];
        let order_id = TestApp::db_id(data["orderId"].as_str().unwrap());
        let (subject, total, discount, items): (String, i64, i64, i64) = sqlx::query_as(
            "SELECT u.subject, o.total_amount, o.discount_amount,
                    (SELECT count(*) FROM order_items i WHERE i.order_id = o.id)
             FROM orders o JOIN users u ON u.id = o.user_id
             WHERE o.id = $1 AND o.status = 'PAID'",
        )
        .bind(order_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(event["type"], "com.commerce.order.paid");
        assert_eq!(event["subject"], data["orderId"]);
        assert_eq!(data["user"]["subject"], subject.as_str());
        assert_eq!(data["totalAmount"], total.to_string());
        assert_eq!(data["discountAmount"], discount.to_string());
        assert_eq!(data["payableAmount"], (total - discount).to_string());
        assert_eq!(data["payment"]["amount"], (total - discount).to_string());
        assert_eq!(data["items"].as_array().unwrap().len() as i64, items);
        assert_eq!(data["items"][0]["quantity"], 2);
        assert_eq!(data["items"][0]["unitPrice"], "1250");
        assert_eq!(data["items"][0]["productName"], "Notebook");
        if data["orderId"] == order.as_str() {
            assert_eq!(data["coupon"]["userCouponId"], coupon.as_str());
            assert_eq!(data["coupon"]["discountType"], "FIXED_AMOUNT");
        } else {
            assert!(data["coupon"].is_null());
        }
        let problems = schema_violations(event);
        assert!(problems.is_empty(), "{problems:?} in {event}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payments_go_on_while_nats_is_down_and_their_events_follow() {
    let mut nats = NatsServer::start().await;
    let app = app_on(&nats, None).await;
    let orders = pending_orders(&app, 30, "patient").await;
    pay_all(std::slice::from_ref(&app), &orders[..10]).await;
    nats.wait_for(STREAM, 10).await;

    nats.stop();
    pay_all(std::slice::from_ref(&app), &orders[10..]).await;
    let backlog = unpublished(&app).await;
    assert_eq!(backlog, 20, "the events wait in the outbox");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("outbox_backlog_events 20"),
        "the backlog is visible: {metrics}"
    );

    nats.restart().await;
    nats.wait_for(STREAM, 30).await;
    wait_until_published(&app).await;
    assert_eq!(assert_each_event_once(&app, &nats).await.len(), 30);
    assert!(published(&app, "outbox_publish_failures_total") >= 1);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_published_but_not_stamped_is_dropped_as_a_duplicate() {
    let nats = NatsServer::start().await;
    // The first instance takes payments with its relay off, so the events
    // stay unpublished in the outbox.
    let payments = Arc::new(spawn_app_with(Options::default()).await);
    let orders = pending_orders(&payments, 6, "crash").await;
    pay_all(std::slice::from_ref(&payments), &orders).await;

    // A relay that published three events and died before stamping them:
    // the messages are in the stream, the rows still unpublished.
    let config = commerce::config::Config::from_lookup(|k| match k {
        "NATS_URL" => Some(nats.url()),
        _ => None,
    })
    .unwrap();
    let js = nats.jetstream().await;
    commerce::events::stream::ensure_stream(&js, &config)
        .await
        .unwrap();
    let half: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT event_id, payload::TEXT FROM outbox ORDER BY id LIMIT 3")
            .fetch_all(&payments.pool)
            .await
            .unwrap();
    for (id, payload) in half {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", id.to_string().as_str());
        js.publish_with_headers("orders.paid", headers, payload.into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    assert_eq!(unpublished(&payments).await, 6);

    // A relay starts on the same database and publishes all six.
    let relay = app_on(&nats, Some(payments.db_name.clone())).await;
    wait_until_published(&relay).await;
    assert_eq!(assert_each_event_once(&relay, &nats).await.len(), 6);
    assert_eq!(published(&relay, "outbox_published_total"), 6);
    assert_eq!(
        published(&relay, "outbox_duplicates_total"),
        3,
        "JetStream dropped the three republished events"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_relays_on_one_database_publish_each_event_once() {
    let nats = NatsServer::start().await;
    let first = app_on(&nats, None).await;
    let second = app_on(&nats, Some(first.db_name.clone())).await;
    let orders = pending_orders(&first, 150, "shared").await;
    pay_all(&[first.clone(), second.clone()], &orders).await;

    nats.wait_for(STREAM, 150).await;
    wait_until_published(&first).await;
    assert_eq!(assert_each_event_once(&first, &nats).await.len(), 150);
    let sent: Vec<u64> = [&first, &second]
        .iter()
        .map(|a| published(a, "outbox_published_total"))
        .collect();
    assert_eq!(
        sent.iter().sum::<u64>(),
        150,
        "each event sent once: {sent:?}"
    );
    let duplicates: u64 = [&first, &second]
        .iter()
        .map(|a| published(a, "outbox_duplicates_total"))
        .sum();
    assert_eq!(duplicates, 0, "no relay ever republished another's event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_a_thousand_payments_drains() {
    let nats = NatsServer::start().await;
    let app = app_on(&nats, None).await;
    let orders = pending_orders(&app, 1_000, "burst").await;
    pay_all(std::slice::from_ref(&app), &orders).await;
    wait_until_published(&app).await;
    nats.wait_for(STREAM, 1_000).await;
    assert_eq!(assert_each_event_once(&app, &nats).await.len(), 1_000);
    app.assert_invariants().await;
}

#[tokio::test]
async fn the_event_schema_describes_the_events_and_refuses_others() {
    let good = json!({
        "specversion": "1.0", "id": "3b241101-e2bb-4255-8caf-4136c566a962",
        "source": "urn:commerce:payments", "type": "com.commerce.order.paid",
        "subject": "T3JkZXI6MQ==", "time": "2026-11-25T10:00:00.000000Z",
        "datacontenttype": "application/json",
        "data": {
            "orderId": "T3JkZXI6MQ==", "status": "PAID",
            "user": { "id": "VXNlcjox", "subject": "ann" },
            "items": [{ "productId": "UHJvZHVjdDox", "productName": "Mug", "quantity": 1,
                        "unitPrice": "100", "lineTotal": "100" }],
            "totalAmount": "100", "discountAmount": "0", "payableAmount": "100",
            "coupon": null, "payment": { "id": "UGF5bWVudDox", "amount": "100" },
            "createdAt": "2026-11-25T09:59:00.000000Z", "paidAt": "2026-11-25T10:00:00.000000Z"
        }
    });
    assert!(schema_violations(&good).is_empty());
    let mut bad = good.clone();
    bad["data"]["totalAmount"] = json!(100);
    bad["data"]["extra"] = json!(true);
    bad["data"]["items"] = json!([]);
    bad.as_object_mut().unwrap().remove("time");
    assert_eq!(
        schema_violations(&bad).len(),
        4,
        "{:?}",
        schema_violations(&bad)
    );
}

/// What in `event` breaks `docs/events/order-paid.schema.json`.
fn schema_violations(event: &Value) -> Vec<String> {
    violations_of(
        include_str!("../../docs/events/order-paid.schema.json"),
        event,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn published_events_past_retention_keep_only_their_record() {
    let nats = NatsServer::start().await;
    let payments = Arc::new(spawn_app_with(Options::default()).await);
    let orders = pending_orders(&payments, 3, "old").await;
    pay_all(std::slice::from_ref(&payments), &orders).await;
    // An unpublished event can never lose its payload.
    let refused = sqlx::query("UPDATE outbox SET payload = NULL")
        .execute(&payments.pool)
        .await;
    assert!(refused.is_err(), "the CHECK keeps unpublished payloads");

    // A relay with a retention of zero publishes the events, then compacts them.
    let relay = Arc::new(
        spawn_app_with(Options {
            nats: Some(nats.url()),
            database: Some(payments.db_name.clone()),
            env: vec![("OUTBOX_RETENTION_HOURS", "0".into())],
            ..Default::default()
        })
        .await,
    );
    nats.wait_for(STREAM, 3).await;
    wait_until("the published events to be compacted", async || {
        relay
            .count("SELECT count(*) FROM outbox WHERE payload IS NOT NULL")
            .await
            == 0
    })
    .await;
    assert_eq!(
        relay
            .count("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
            .await,
        3,
        "the slim records stay"
    );
    relay.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_tail_prints_each_event_as_it_arrives() {
    use std::process::{Command, Stdio};

    let nats = NatsServer::start().await;
    let app = app_on(&nats, None).await;
    let orders = pending_orders(&app, 2, "watched").await;
    // The relay has created the stream once it has run a round.
    pay_all(std::slice::from_ref(&app), &orders[..1]).await;
    nats.wait_for(STREAM, 1).await;

    let mut tail = Spawned::spawn(
        Command::new(env!("CARGO_BIN_EXE_commerce"))
            .args(["events", "tail"])
            .env("NATS_URL", nats.url())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut lines = Spawned::lines(tail.child.stdout.take().unwrap());
    let mut said = Spawned::lines(tail.child.stderr.take().unwrap());
    // Ready once it says it is waiting.
    let banner = eventually("the tail's first words", said.recv())
        .await
        .unwrap_or_default();
    assert!(banner.contains("waiting for events"), "{banner}");

    pay_all(std::slice::from_ref(&app), &orders[1..]).await;
    let line = eventually("an event line", lines.recv())
        .await
        .expect("an event line");
    drop(tail);
    let event: Value = serde_json::from_str(&line).expect("one JSON event per line");
    assert_eq!(
        event["data"]["orderId"],
        orders[1].1.as_str(),
        "only new events"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_nats_never_stops_the_server_or_a_payment() {
    // Nothing listens on port 1.
    let app = Arc::new(
        spawn_app_with(Options {
            nats: Some("nats://127.0.0.1:1".into()),
            ..Default::default()
        })
        .await,
    );
    let orders = pending_orders(&app, 3, "offline").await;
    pay_all(std::slice::from_ref(&app), &orders).await;
    assert_eq!(unpublished(&app).await, 3);
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_relay_resumes_as_soon_as_nats_is_back_whatever_its_backoff() {
    let mut nats = NatsServer::start().await;
    // Every failed round backs off an hour: only the relay noticing the
    // reconnection can drain the backlog within the test.
    let app = Arc::new(
        spawn_app_with(Options {
            nats: Some(nats.url()),
            ..Options::with_env(&[
                ("OUTBOX_BACKOFF_BASE_MS", NEVER_MS),
                ("OUTBOX_BACKOFF_MAX_MS", NEVER_MS),
            ])
        })
        .await,
    );
    let orders = pending_orders(&app, 20, "resumed").await;
    pay_all(std::slice::from_ref(&app), &orders[..5]).await;
    nats.wait_for(STREAM, 5).await;

    nats.stop();
    pay_all(std::slice::from_ref(&app), &orders[5..]).await;
    wait_until("the relay to fail a round", async || {
        published(&app, "outbox_publish_failures_total") > 0
    })
    .await;
    nats.restart().await;
    wait_until_published(&app).await;
    assert_eq!(assert_each_event_once(&app, &nats).await.len(), 20);
}

/// Three events claimed by one round of a relay whose publishes are never
/// acknowledged, with these ack and round timeouts: once they are released
/// (tried once, and free for any relay to claim), the reason the rows
/// record.
async fn released_unacknowledged(ack_ms: &str, round_ms: &str) -> String {
    let nats = NatsServer::start().await;
    // A stream named ORDERS that takes the events' subjects but never
    // acknowledges what it stores (`no_ack`): each publish reaches the
    // stream and no ack ever comes, as when a stream leader's followers
    // die. The server leaves an existing stream's settings alone.
    let js = nats.jetstream().await;
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "ORDERS".into(),
        subjects: vec!["orders.paid".into(), "orders.refunded".into()],
        no_ack: true,
        ..Default::default()
    })
    .await
    .unwrap();

    // Three events wait in the outbox (taken with the relay off), for one
    // round to claim them all.
    let payments = Arc::new(spawn_app_with(Options::default()).await);
    let orders = pending_orders(&payments, 3, "unacked").await;
    pay_all(std::slice::from_ref(&payments), &orders).await;

    // After a failure the relay backs off for longer than the test (the
    // stream always answers, so no probe cuts it short).
    let app = Arc::new(
        spawn_app_with(Options {
            nats: Some(nats.url()),
            database: Some(payments.db_name.clone()),
            ..Options::with_env(&[
                ("NATS_ACK_TIMEOUT_MS", ack_ms),
                ("OUTBOX_ROUND_TIMEOUT_MS", round_ms),
                ("OUTBOX_BACKOFF_BASE_MS", NEVER_MS),
                ("OUTBOX_BACKOFF_MAX_MS", NEVER_MS),
            ])
        })
        .await,
    );

    // Released: tried once, the reason recorded, and free for any relay
    // to claim (SKIP LOCKED passes over rows a round still holds).
    let (mut attempts, mut errors, mut free) = (0, Vec::new(), 0);
    wait_until("the round's events to be released", async || {
        (attempts, errors, free) = sqlx::query_as(
            "SELECT (SELECT COALESCE(min(attempts), 0)::INT8 FROM outbox WHERE published_at IS NULL),
                    (SELECT array_agg(DISTINCT last_error) FROM outbox WHERE last_error IS NOT NULL),
                    (SELECT count(*) FROM (SELECT id FROM outbox WHERE published_at IS NULL
                                           FOR UPDATE SKIP LOCKED) AS claimable)",
        )
        .fetch_one(&app.pool)
        .await
        .map(|(a, e, f): (i64, Option<Vec<String>>, i64)| (a, e.unwrap_or_default(), f))
        .unwrap();
        attempts >= 1 && free == 3
    })
    .await;
    assert_eq!((attempts, free), (1, 3));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        published(&app, "outbox_publish_failures_total"),
        1,
        "one failed round, then the backoff"
    );
    errors.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_round_that_gets_no_acks_releases_its_events_at_its_deadline() {
    // A round may wait 1 s, acks an hour: events released within the test
    // were released by the round's deadline, as their reason says.
    let error = released_unacknowledged(NEVER_MS, "1000").await;
    assert!(
        error.starts_with("the round's deadline (1s, OUTBOX_ROUND_TIMEOUT_MS) passed"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_without_acks_waits_one_ack_timeout_not_one_per_event() {
    // Three events, acks due within 2 s, a round of 5 s: a round that
    // waited one ack timeout per event would still wait for the third ack
    // (6 s) when its deadline passed, and record that deadline; one that
    // waits once for the whole batch records the ack timeout.
    let error = released_unacknowledged("2000", "5000").await;
    assert!(
        error.starts_with("timed out waiting for acks: JetStream did not acknowledge within 2s"),
        "{error}"
    );
}
