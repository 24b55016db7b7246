//! What one WebSocket, or one caller's sockets, may ask of an instance:
//! a socket that never reads holds no database connection and is closed,
//! its answers meet the response cap and the request timeout as over HTTP,
//! each mutation field draws on the rate limit, an oversized message
//! closes with 1009, a subscription selects exactly one root field, and
//! no caller holds every socket.

use std::collections::HashSet;

use async_graphql::futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::Message;

use crate::helpers::wait::wait_until;
use crate::helpers::ws::{Received, Ws};
use crate::helpers::{Options, TestApp, spawn_app_with};

/// The value of the gauge `name` (a metric of sockets) as the app counts it.
fn gauge(app: &TestApp, name: &str) -> u64 {
    app.state.metrics().counter(name, &[])
}

/// A socket acknowledged for `token`, whose client reads as little as the
/// kernel allows: a receive buffer of a few kilobytes.
async fn tight_socket(app: &TestApp, token: &str) -> Ws {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let address = app.address.trim_start_matches("http://");
    let stream = socket.connect(address.parse().unwrap()).await.unwrap();
    let url = format!("ws://{address}/graphql");
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (socket, _) =
        tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await
            .expect("the upgrade succeeds");
    let mut ws = Ws { socket };
    ws.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
        .await;
    assert_eq!(ws.json().await["type"], "connection_ack");
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_never_reads_starves_nobody_and_is_closed() {
    let app = spawn_app_with(Options::with_env(&[
        ("DATABASE_MAX_CONNECTIONS", "4"),
        ("WS_WRITE_TIMEOUT_MS", "1000"),
    ]))
    .await;
    // A hundred products with long descriptions: each answer below is
    // about a megabyte, far more than the socket's buffers hold.
    sqlx::query(
        "INSERT INTO products (name, description, price, stock)
         SELECT 'Lamp ' || g, repeat('x', 2000), 100, 1 FROM generate_series(1, 100) AS g",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let aliases: String = (0..5)
        .map(|i| format!("a{i}: products(first: 100) {{ nodes {{ description }} }} "))
        .collect();
    let query = format!("{{ {aliases} }}");
    let mut mallory = tight_socket(&app, &app.token("mallory")).await;
    for id in 0..40 {
        mallory
            .socket
            .send(Message::Text(
                json!({ "type": "subscribe", "id": id.to_string(), "payload": { "query": query } })
                    .to_string()
                    .into(),
            ))
            .await
            .unwrap();
    }
    // While the socket sits unread (its operations running, or already
    // given up on with it), the pool serves everyone else.
    wait_until("mallory's operations to run", async || {
        gauge(&app, "ws_subscriptions") > 0 || gauge(&app, "ws_connections") == 0
    })
    .await;
    for _ in 0..10 {
        let r = app
            .gql(None, "{ products(first: 1) { totalCount } }", json!({}))
            .await;
        assert_eq!(r.data()["products"]["totalCount"], 100, "{}", r.body);
    }
    // Still unread past the write deadline: the server gives up on the
    // socket (it is no longer open). What the kernel buffered arrives, then
    // the end (rather than the forty answers the client asked for).
    wait_until("the server to give up on the socket", async || {
        gauge(&app, "ws_connections") == 0
    })
    .await;
    let mut answers = 0;
    loop {
        match mallory.recv().await {
            Received::Closed(..) => break,
            Received::Json(message) => {
                answers += usize::from(message["type"] == "next");
            }
        }
    }
    assert!(answers < 40, "all {answers} answers were sent");
}

#[tokio::test]
async fn an_answer_over_a_socket_meets_the_response_cap() {
    let app = spawn_app_with(Options::with_env(&[("RESPONSE_MAX_BYTES", "2000")])).await;
    for i in 0..50 {
        app.create_product(&format!("A long enough product name {i}"), 100, 1)
            .await;
    }
    let mut ws = Ws::ready(&app, &app.token("ann")).await;
    ws.subscribe("1", "{ products(first: 50) { nodes { name } } }", json!({}))
        .await;
    let answer = ws.json().await;
    assert_eq!(answer["type"], "next", "{answer}");
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{answer}"
    );
    assert!(answer.to_string().len() < 2000, "{answer}");
    assert_eq!(ws.json().await["type"], "complete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_timeout_holds_over_a_socket() {
    let app = spawn_app_with(Options::with_env(&[
        ("REQUEST_TIMEOUT_MS", "300"),
        ("DATABASE_STATEMENT_TIMEOUT_MS", "60000"),
    ]))
    .await;
    let mut ws = Ws::ready(&app, &app.token("ann")).await;
    let mut blocker = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    ws.subscribe("1", "{ products { totalCount } }", json!({}))
        .await;
    let answer = ws.json().await;
    blocker.rollback().await.unwrap();
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_mutation_field_over_a_socket_draws_a_token() {
    let app = spawn_app_with(Options::with_env(&[
        ("RATE_LIMIT_PER_SECOND", "1"),
        ("RATE_LIMIT_BURST", "100"),
    ]))
    .await;
    let fields: String = (0..10)
        .map(|i| {
            format!("c{i}: chargeBalance(input: {{ amount: \"1\" }}) {{ userErrors {{ code }} }} ")
        })
        .collect();
    let mutation = format!("mutation {{ {fields} }}");
    let mut ws = Ws::ready(&app, &app.token("ann")).await;
    for id in 0..20 {
        ws.subscribe(&id.to_string(), &mutation, json!({})).await;
    }
    // Each operation ends refused, or with its result then its completion;
    // the operations run at once, so their messages interleave.
    let (mut answered, mut ended, mut limited) = (HashSet::new(), HashSet::new(), 0);
    while ended.len() < 20 {
        let message = ws.json().await;
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        match message["type"].as_str() {
            Some("error") => {
                assert_eq!(
                    message["payload"][0]["extensions"]["code"], "RATE_LIMITED",
                    "{message}"
                );
                assert!(!answered.contains(&id), "refused after a result: {message}");
                limited += 1;
            }
            Some("next") => assert!(answered.insert(id.clone()), "one result: {message}"),
            Some("complete") => assert!(answered.contains(&id), "a result first: {message}"),
            _ => panic!("{message}"),
        }
        if message["type"] != "next" {
            assert!(ended.insert(id), "ended once: {message}");
        }
    }
    let (balance, _) = app.balance_and_ledger("ann").await;
    assert!(
        balance <= 110,
        "{balance} charges committed past a bucket of 100"
    );
    assert!(limited >= 8, "{limited} operations refused");
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009() {
    let app = spawn_app_with(Options::with_env(&[("WS_MAX_MESSAGE_BYTES", "1000")])).await;
    let mut ws = Ws::ready(&app, &app.token("ann")).await;
    ws.subscribe(
        "1",
        &format!("{{ __typename }} # {}", "x".repeat(2000)),
        json!({}),
    )
    .await;
    assert_eq!(ws.closed_with().await, 1009);
}

#[tokio::test]
async fn a_subscription_selects_exactly_one_root_field() {
    let app = spawn_app_with(Options::default()).await;
    let product = app.create_product("Lamp", 100, 5).await;
    app.charge("ann", 1_000).await;
    let order = app.create_order("ann", &[(&product, 1)]).await;
    let mut ws = Ws::ready(&app, &app.token("ann")).await;
    ws.subscribe(
        "1",
        "subscription($id: ID!) { a: orderUpdated(orderId: $id) { id } b: orderUpdated(orderId: $id) { status } }",
        json!({ "id": order }),
    )
    .await;
    let answer = ws.json().await;
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(answer["payload"][0]["extensions"]["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn no_user_holds_every_socket() {
    let app = spawn_app_with(Options::with_env(&[
        ("WS_MAX_CONNECTIONS", "20"),
        ("WS_MAX_CONNECTIONS_PER_USER", "3"),
    ]))
    .await;
    let token = app.token("ann");
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(Ws::ready(&app, &token).await);
    }
    // A fourth socket of the same user is closed once it says who it is.
    let mut fourth = Ws::open(&app, "graphql-transport-ws").await;
    fourth
        .send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
        .await;
    assert_eq!(fourth.closed_with().await, 1008);
    // Another user's socket is fine, and so is ann's once one closes.
    Ws::ready(&app, &app.token("bob")).await;
    drop(held.pop());
    let mut again = None;
    wait_until("a freed slot to be ann's again", async || {
        let mut ws = Ws::open(&app, "graphql-transport-ws").await;
        ws.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
            .await;
        if let Received::Json(ack) = ws.recv().await {
            again = Some(ack);
        }
        again.is_some()
    })
    .await;
    assert_eq!(again.expect("a slot freed")["type"], "connection_ack");
}

#[tokio::test]
async fn no_client_address_holds_every_socket() {
    let app = spawn_app_with(Options::with_env(&[
        ("WS_MAX_CONNECTIONS", "20"),
        ("WS_MAX_CONNECTIONS_PER_CLIENT", "3"),
    ]))
    .await;
    // Sockets that never even say who they are count too.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(Ws::open_from(&app, "127.0.0.1").await.expect("upgraded"));
    }
    match Ws::open_from(&app, "127.0.0.1").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
            assert!(response.headers().contains_key("retry-after"));
        }
        other => panic!("a fourth socket: {:?}", other.map(|_| ())),
    }
    Ws::open_from(&app, "127.0.0.2")
        .await
        .expect("another address is served");
}
