//! GraphQL subscriptions over real WebSockets: an order's and a coupon
//! campaign's changes reach subscribers of any instance (through NATS, or
//! the database while NATS is down), the owner rule, tokens, the
//! protocol's closes, and the limits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::futures_util::{StreamExt, stream};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::app::expired_token;
use crate::helpers::nats::NatsServer;
use crate::helpers::wait::{NEVER_MS, wait_until};
use crate::helpers::ws::Ws;
use crate::helpers::{Options, TEST_SECRET, TestApp, spawn_app_with};

const ORDER_UPDATED: &str =
    "subscription($id: ID!) { orderUpdated(orderId: $id) { id status paidAt } }";
const COUPON_UPDATED: &str =
    "subscription($id: ID!) { couponUpdated(couponId: $id) { remainingQuantity } }";

async fn app(
    env: &[(&'static str, &str)],
    nats: Option<String>,
    database: Option<String>,
) -> TestApp {
    spawn_app_with(Options {
        nats,
        database,
        ..Options::with_env(env)
    })
    .await
}

/// An order of `sub`, unpaid, with the balance to pay it.
async fn order(app: &TestApp, sub: &str) -> String {
    let product = app.create_product("Lamp", 1_500, 10).await;
    app.charge(sub, 10_000).await;
    app.create_order(sub, &[(&product, 1)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_payment_through_one_instance_reaches_a_subscriber_of_another() {
    let nats = NatsServer::start().await;
    // The database polls are pushed past the test: only NATS can bring the
    // update.
    let no_polls = [
        ("SUBSCRIPTION_POLL_MS", NEVER_MS),
        ("SUBSCRIPTION_SAFETY_POLL_MS", NEVER_MS),
    ];
    let a = app(&no_polls, Some(nats.url()), None).await;
    let b = app(&no_polls, Some(nats.url()), Some(a.db_name.clone())).await;
    let order = order(&a, "ann").await;
    let mut ws = Ws::ready(&b, &b.token("ann")).await;
    ws.subscribe("1", ORDER_UPDATED, json!({ "id": order }))
        .await;
    let first = ws.json().await;
    assert_eq!(first["type"], "next", "{first}");
    assert_eq!(
        first["payload"]["data"]["orderUpdated"]["status"],
        "PENDING"
    );
    // Both instances listen for announcements before A announces (core
    // NATS delivers to the subscriptions it has).
    wait_until("both instances to listen for changes", async || {
        nats.subscribed("changes.>").await == 2
    })
    .await;
    let r = a.pay("ann", &order, None).await;
    assert!(r.user_error_codes("payOrder").is_empty(), "{}", r.body);
    let update = ws.json().await;
    assert_eq!(update["payload"]["data"]["orderUpdated"]["status"], "PAID");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_nats_down_updates_still_arrive_from_the_database() {
    let mut nats = NatsServer::start().await;
    let polls = [("SUBSCRIPTION_POLL_MS", "200")];
    let a = app(&polls, Some(nats.url()), None).await;
    let b = app(&polls, Some(nats.url()), Some(a.db_name.clone())).await;
    let order = order(&a, "ann").await;
    let mut ws = Ws::ready(&b, &b.token("ann")).await;
    ws.subscribe("1", ORDER_UPDATED, json!({ "id": order }))
        .await;
    assert_eq!(
        ws.json().await["payload"]["data"]["orderUpdated"]["status"],
        "PENDING"
    );
    nats.stop();
    let r = a.pay("ann", &order, None).await;
    assert!(r.user_error_codes("payOrder").is_empty(), "{}", r.body);
    let update = ws.json().await;
    assert_eq!(update["payload"]["data"]["orderUpdated"]["status"], "PAID");
}

#[tokio::test]
async fn someone_elses_order_is_not_found_and_an_admin_sees_any() {
    let app = app(&[], None, None).await;
    let order = order(&app, "ann").await;
    let mut ws = Ws::ready(&app, &app.token("bob")).await;
    for (id, order_id) in [("1", order.as_str()), ("2", "bm9wZQ==")] {
        ws.subscribe(id, ORDER_UPDATED, json!({ "id": order_id }))
            .await;
        let answer = ws.json().await;
        assert_eq!(answer["id"], id, "{answer}");
        assert_eq!(
            answer["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{answer}"
        );
        assert_eq!(ws.json().await, json!({ "type": "complete", "id": id }));
    }
    let mut admin = Ws::ready(&app, &app.admin_token("root")).await;
    admin
        .subscribe("1", ORDER_UPDATED, json!({ "id": order }))
        .await;
    assert_eq!(
        admin.json().await["payload"]["data"]["orderUpdated"]["id"],
        order
    );
}

#[tokio::test]
async fn sockets_need_a_valid_token_and_live_no_longer_than_it() {
    let app = app(&[], None, None).await;
    for payload in [
        json!({}),
        json!({ "Authorization": "Bearer not.a.token" }),
        json!({ "Authorization": "Basic abc" }),
    ] {
        let mut ws = Ws::open(&app, "graphql-transport-ws").await;
        ws.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        assert_eq!(ws.closed_with().await, 4403, "{payload}");
    }
    // Expired beyond the verification's leeway.
    let expired = expired_token("ann");
    let mut ws = Ws::open(&app, "graphql-transport-ws").await;
    ws.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {expired}") } }))
        .await;
    assert_eq!(ws.closed_with().await, 4403, "expired");
    // A token that expires while the socket is open closes it.
    let short = commerce::auth::Authenticator::new(TEST_SECRET)
        .issue("ann", false, 2)
        .unwrap();
    let mut ws = Ws::ready(&app, &short).await;
    assert_eq!(ws.closed_with().await, 4403);
}

#[tokio::test]
async fn protocol_errors_close_with_the_codes_of_the_protocol() {
    let app = app(&[("WS_INIT_TIMEOUT_MS", "300")], None, None).await;
    let token = app.token("ann");
    // Nothing sent: the initialisation times out.
    let mut ws = Ws::open(&app, "graphql-transport-ws").await;
    assert_eq!(ws.closed_with().await, 4408);
    // Not a message of the protocol.
    let mut ws = Ws::open(&app, "graphql-transport-ws").await;
    ws.send(json!({ "type": "hello" })).await;
    assert_eq!(ws.closed_with().await, 4400);
    // An operation before the acknowledgement.
    let mut ws = Ws::open(&app, "graphql-transport-ws").await;
    ws.subscribe("1", "{ __typename }", json!({})).await;
    assert_eq!(ws.closed_with().await, 4401);
    // Two initialisations.
    let mut ws = Ws::ready(&app, &token).await;
    ws.send(json!({ "type": "connection_init" })).await;
    assert_eq!(ws.closed_with().await, 4429);
    // An id already running.
    let order = order(&app, "ann").await;
    let mut ws = Ws::ready(&app, &token).await;
    ws.subscribe("1", ORDER_UPDATED, json!({ "id": order }))
        .await;
    ws.json().await;
    ws.subscribe("1", ORDER_UPDATED, json!({ "id": order }))
        .await;
    assert_eq!(ws.closed_with().await, 4409);
    // A hostile document is refused as over HTTP, and the socket lives on.
    let mut ws = Ws::ready(&app, &token).await;
    let deep = format!(
        "{{ product(id: {}1{}) {{ id }} }}",
        "[".repeat(2_000),
        "]".repeat(2_000)
    );
    ws.subscribe("1", &deep, json!({})).await;
    let refused = ws.json().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "QUERY_TOO_COMPLEX"
    );
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.json().await["type"], "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn coupon_updates_during_a_rush_are_coalesced_and_end_at_sold_out() {
    let app = Arc::new(app(&[("COUPON_UPDATE_INTERVAL_MS", "200")], None, None).await);
    let campaign = app
        .create_campaign("FIXED_AMOUNT", 100, 1_000, (-1, None))
        .await;
    let coupon = commerce::global_id::encode("Coupon", campaign);
    let mut ws = Ws::ready(&app, &app.token("watcher")).await;
    let subscribed = Instant::now();
    ws.subscribe("c", COUPON_UPDATED, json!({ "id": coupon }))
        .await;
    let first = ws.json().await;
    assert_eq!(
        first["payload"]["data"]["couponUpdated"]["remainingQuantity"],
        1_000
    );
    let rush = stream::iter(0..1_000)
        .map(|i| {
            let (app, coupon) = (app.clone(), coupon.clone());
            async move {
                app.as_user(
                    &format!("fan-{i}"),
                    "mutation($i: IssueCouponInput!) { issueCoupon(input: $i) { userErrors { code } } }",
                    json!({ "i": { "couponId": coupon } }),
                )
                .await
            }
        })
        .buffer_unordered(100)
        .collect::<Vec<_>>();
    let watch = async {
        let mut remaining = vec![1_000];
        loop {
            let message = ws.json().await;
            match message["type"].as_str() {
                Some("next") => remaining.push(
                    message["payload"]["data"]["couponUpdated"]["remainingQuantity"]
                        .as_i64()
                        .unwrap(),
                ),
                Some("complete") => return remaining,
                _ => panic!("{message}"),
            }
        }
    };
    let (_, remaining) = tokio::join!(rush, watch);
    let took = subscribed.elapsed();
    assert_eq!(remaining.last(), Some(&0), "{remaining:?}");
    assert!(
        remaining.windows(2).all(|w| w[0] > w[1]),
        "always newer: {remaining:?}"
    );
    // Coalesced: at most one update per interval after the first, so the
    // last came at least that many intervals after the subscription (a
    // lower bound: it holds however slow the machine).
    let intervals = u32::try_from(remaining.len() - 1).unwrap();
    assert!(
        took >= Duration::from_millis(200) * intervals,
        "{} updates in {took:?}: {remaining:?}",
        remaining.len()
    );
}

#[tokio::test]
async fn the_socket_and_subscription_caps_hold() {
    let app = app(
        &[("WS_MAX_CONNECTIONS", "2"), ("WS_MAX_SUBSCRIPTIONS", "2")],
        None,
        None,
    )
    .await;
    let token = app.token("ann");
    let order = order(&app, "ann").await;
    let mut first = Ws::ready(&app, &token).await;
    let _second = Ws::ready(&app, &token).await;
    let url = format!("{}/graphql", app.address.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let refused = tokio_tungstenite::connect_async(request).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503)
        }
        other => panic!("a third socket: {:?}", other.map(|_| ())),
    }
    for id in ["1", "2"] {
        first
            .subscribe(id, ORDER_UPDATED, json!({ "id": order }))
            .await;
        first.json().await;
    }
    first
        .subscribe("3", ORDER_UPDATED, json!({ "id": order }))
        .await;
    let refused = first.json().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "QUERY_TOO_COMPLEX"
    );
    // Completing one makes room again.
    first.send(json!({ "type": "complete", "id": "1" })).await;
    first
        .subscribe("3", ORDER_UPDATED, json!({ "id": order }))
        .await;
    assert_eq!(first.json().await["type"], "next");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("ws_connections 2"), "{metrics}");
    assert!(metrics.contains("ws_subscriptions 2"), "{metrics}");
}

#[tokio::test]
async fn the_legacy_protocol_works_too() {
    let app = app(&[], None, None).await;
    let order = order(&app, "ann").await;
    let mut ws = Ws::open(&app, "graphql-ws").await;
    ws.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", app.token("ann")) } }))
        .await;
    assert_eq!(ws.json().await["type"], "connection_ack");
    ws.send(json!({ "type": "start", "id": "7", "payload": { "query": ORDER_UPDATED, "variables": { "id": order } } }))
        .await;
    let data = ws.json().await;
    assert_eq!(data["type"], "data", "{data}");
    assert_eq!(data["payload"]["data"]["orderUpdated"]["status"], "PENDING");
    ws.send(json!({ "type": "stop", "id": "7" })).await;
    assert_eq!(ws.json().await, json!({ "type": "complete", "id": "7" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_sockets_as_going_away() {
    let mut app = app(&[], None, None).await;
    let mut ws = Ws::ready(&app, &app.token("ann")).await;
    let stopping = tokio::spawn(async move {
        app.stop().await;
        app
    });
    assert_eq!(ws.closed_with().await, 1001);
    let _app = stopping.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refund_reaches_the_owners_subscription_at_once() {
    // The database polls are pushed past the test: only the refund's own
    // announcement can bring the update.
    let a = app(
        &[
            ("SUBSCRIPTION_POLL_MS", NEVER_MS),
            ("SUBSCRIPTION_SAFETY_POLL_MS", NEVER_MS),
        ],
        None,
        None,
    )
    .await;
    let order = order(&a, "ann").await;
    let r = a.pay("ann", &order, None).await;
    assert!(r.user_error_codes("payOrder").is_empty(), "{}", r.body);
    let mut ws = Ws::ready(&a, &a.token("ann")).await;
    ws.subscribe("1", ORDER_UPDATED, json!({ "id": order }))
        .await;
    assert_eq!(
        ws.json().await["payload"]["data"]["orderUpdated"]["status"],
        "PAID"
    );
    let refunded = a
        .as_admin(
            "mutation($i: RefundOrderInput!) { refundOrder(input: $i) { userErrors { code } } }",
            json!({ "i": { "orderId": order } }),
        )
        .await;
    assert!(
        refunded.user_error_codes("refundOrder").is_empty(),
        "{}",
        refunded.body
    );
    let update = ws.json().await;
    assert_eq!(
        update["payload"]["data"]["orderUpdated"]["status"], "REFUNDED",
        "announced (no poll comes within the test)"
    );
}
