//! Clients that hold connections rather than use them: slow headers, a
//! trickling body, a response nobody reads, more sockets than an instance
//! takes, and a shutdown that such clients must not hold up.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::net::{connect, connect_from};
use crate::helpers::{Options, spawn_app_with};

/// Reads until the server closes the connection (or resets it); how long
/// that took. Whatever the server sent before closing is skipped.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the connection was still open after {limit:?}"),
        }
    }
}

#[tokio::test]
async fn slow_headers_are_cut_off_and_sockets_are_capped() {
    let app = spawn_app_with(Options::with_env(&[
        ("HTTP_HEADER_TIMEOUT_MS", "300"),
        ("HTTP_MAX_CONNECTIONS", "20"),
    ]))
    .await;
    // Twenty slowloris sockets, each half-way through its headers.
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut stream = connect(&app).await;
        stream
            .write_all(b"POST /graphql HTTP/1.1\r\nHost: shop\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    // One more is closed at once: the instance holds no more.
    let mut extra = connect(&app).await;
    closed_within(&mut extra, Duration::from_secs(2)).await;
    // The slow ones are closed once their headers are overdue.
    for stream in &mut slow {
        let took = closed_within(stream, Duration::from_secs(5)).await;
        assert!(took < Duration::from_secs(3), "closed after {took:?}");
    }
    // And a normal client is served again.
    let r = app
        .gql(None, "{ products { totalCount } }", json!({}))
        .await;
    assert_eq!(r.data()["products"]["totalCount"], 0);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("http_connections_refused_total"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let app = spawn_app_with(Options::with_env(&[("HTTP_HEADER_TIMEOUT_MS", "300")])).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: shop\r\n\r\n")
        .await
        .unwrap();
    let took = closed_within(&mut stream, Duration::from_secs(5)).await;
    assert!(
        took >= Duration::from_millis(250),
        "answered, then kept open a while: {took:?}"
    );
}

#[tokio::test]
async fn a_trickling_body_is_cut_off() {
    let app = spawn_app_with(Options::with_env(&[("HTTP_BODY_TIMEOUT_MS", "300")])).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"query\":",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 1024];
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            answer.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    assert!(read.is_ok(), "the server never gave up on the body");
    assert!(started.elapsed() < Duration::from_secs(3));
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn a_client_that_never_reads_its_responses_is_cut_off() {
    let app = spawn_app_with(Options::with_env(&[("HTTP_WRITE_TIMEOUT_MS", "300")])).await;
    let name = "n".repeat(190);
    for i in 0..100 {
        app.create_product(&format!("{name}{i}"), 1, 1).await;
    }
    let aliases: String = (0..10)
        .map(|i| format!("a{i}: products(first: 100) {{ nodes {{ name }} }} "))
        .collect();
    let body = json!({ "query": format!("{{ {aliases} }}") }).to_string();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    // Forty pipelined requests of ~200 KB answers each: far more than the
    // sockets' buffers hold while nobody reads.
    let mut stream = connect(&app).await;
    for _ in 0..40 {
        stream.write_all(request.as_bytes()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut received = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            received += n;
        }
    })
    .await;
    assert!(read.is_ok(), "the connection was never closed");
    assert!(
        received < 40 * 200_000,
        "the server gave up before sending everything: {received} bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_past_its_grace_period() {
    let mut app = spawn_app_with(Options::with_env(&[("SHUTDOWN_GRACE_MS", "300")])).await;
    app.create_product("Clock", 4_000, 2).await;
    // A request held up by a lock while the server shuts down.
    let mut blocker = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let held = tokio::spawn({
        let url = format!("{}/graphql", app.address);
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({ "query": "{ products { totalCount } }" }))
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let pool = app.pool.clone();
    let stopping = tokio::spawn(async move {
        app.stop().await;
        app
    });
    // Cut off after the grace period, while the lock is still held.
    let answer = tokio::time::timeout(Duration::from_secs(5), held)
        .await
        .expect("the held request ended");
    assert!(answer.unwrap().is_err(), "cut off, not answered");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    blocker.rollback().await.unwrap();
    let app = tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("the app stopped once its last query ended")
        .unwrap();
    drop((app, pool));
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_by_the_header_timeout() {
    let app = spawn_app_with(Options::with_env(&[("HTTP_HEADER_TIMEOUT_MS", "300")])).await;
    // Not one byte: the deadline runs from the connection's first moment.
    let mut silent = connect(&app).await;
    closed_within(&mut silent, Duration::from_secs(20)).await;
}

#[tokio::test]
async fn a_request_timeout_closes_its_connection() {
    let app = spawn_app_with(Options::with_env(&[("HTTP_BODY_TIMEOUT_MS", "300")])).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n\
              Content-Length: 100000\r\n\r\n{",
        )
        .await
        .unwrap();
    // The client keeps trickling after its 408: the connection must end
    // all the same, rather than stay open for as long as bytes come.
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    let mut closed = false;
    for _ in 0..200 {
        let _ = stream.write_all(b" ").await;
        match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        closed,
        "the connection stayed open while the client trickled"
    );
}

#[tokio::test]
async fn one_client_address_cannot_hold_every_connection() {
    let app = spawn_app_with(Options::with_env(&[
        ("HTTP_HEADER_TIMEOUT_MS", "30000"),
        ("HTTP_MAX_CONNECTIONS", "20"),
        ("HTTP_MAX_CONNECTIONS_PER_CLIENT", "5"),
    ]))
    .await;
    // One client holds its five, half-way through their headers.
    let mut held = Vec::new();
    for _ in 0..5 {
        let mut stream = connect_from(&app, "127.0.0.1").await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .unwrap();
        held.push(stream);
    }
    // A sixth of its own is closed at once, however many the instance has.
    let mut sixth = connect_from(&app, "127.0.0.1").await;
    closed_within(&mut sixth, Duration::from_secs(20)).await;
    // Another client is served.
    let mut other = connect_from(&app, "127.0.0.2").await;
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    other.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Once the first client lets go, it may connect again.
    drop(held.pop());
    let mut again = Vec::new();
    for _ in 0..50 {
        let mut stream = connect_from(&app, "127.0.0.1").await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer).await;
        if answer.starts_with("HTTP/1.1 200") {
            again.push(answer);
            break;
        }
        // The server may not have seen the close yet.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(again.len(), 1, "a freed slot is the client's again");
}
