//! Clients that hold connections rather than use them: slow headers, a
//! trickling body, a response nobody reads, more sockets than an instance
//! takes, and a shutdown that such clients must not hold up.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::net::{connect, connect_from};
use crate::helpers::wait::{NEVER_MS, eventually, wait_until};
use crate::helpers::{Options, TestApp, spawn_app_with};

/// Reads until the server closes the connection (or resets it); what it
/// sent before closing.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    eventually("the server to close the connection", async {
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            answer.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    answer
}

/// How many connections `app` closed as soon as it accepted them.
fn refused(app: &TestApp) -> u64 {
    app.state
        .metrics()
        .counter("http_connections_refused_total", &[])
}

/// `count` slowloris sockets, each half-way through its headers.
async fn slowloris(app: &TestApp, count: usize) -> Vec<TcpStream> {
    let mut slow = Vec::new();
    for _ in 0..count {
        let mut stream = connect(app).await;
        stream
            .write_all(b"POST /graphql HTTP/1.1\r\nHost: shop\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    slow
}

/// Whether a GET of `/healthz` from `source`, on a connection of its own,
/// is answered 200 (not refused).
async fn served_from(app: &TestApp, source: &str) -> bool {
    let mut stream = connect_from(app, source).await;
    let request = b"GET /healthz HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n";
    if stream.write_all(request).await.is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    answer.starts_with("HTTP/1.1 200")
}

#[tokio::test]
async fn slow_headers_are_cut_off_and_sockets_are_capped() {
    // Twenty slowloris sockets hold an instance's twenty; their headers are
    // never overdue here, so none of them lets go during the test.
    let capped = spawn_app_with(Options::with_env(&[
        ("HTTP_HEADER_TIMEOUT_MS", NEVER_MS),
        ("HTTP_MAX_CONNECTIONS", "20"),
    ]))
    .await;
    let slow = slowloris(&capped, 20).await;
    // One more is closed as soon as it is accepted: the instance holds no more.
    let mut extra = connect(&capped).await;
    until_closed(&mut extra).await;
    assert_eq!(refused(&capped), 1, "closed for want of a slot");
    drop(slow);
    let metrics = format!("{}/metrics", capped.address);
    wait_until("the freed slots to serve again", async || {
        reqwest::get(&metrics).await.is_ok()
    })
    .await;
    let metrics = capped.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("http_connections_refused_total"),
        "{metrics}"
    );

    // With a header timeout, slow ones are closed once their headers are
    // overdue (nothing else closes them).
    let app = spawn_app_with(Options::with_env(&[
        ("HTTP_HEADER_TIMEOUT_MS", "300"),
        ("HTTP_MAX_CONNECTIONS", "20"),
    ]))
    .await;
    for mut stream in slowloris(&app, 20).await {
        until_closed(&mut stream).await;
    }
    // And a normal client is served again, once the server has let them go.
    let healthz = format!("{}/healthz", app.address);
    wait_until("the freed slots to serve again", async || {
        reqwest::get(&healthz).await.is_ok()
    })
    .await;
    let r = app
        .gql(None, "{ products { totalCount } }", json!({}))
        .await;
    assert_eq!(r.data()["products"]["totalCount"], 0);
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let app = spawn_app_with(Options::with_env(&[("HTTP_HEADER_TIMEOUT_MS", "300")])).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: shop\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    until_closed(&mut stream).await;
    let took = started.elapsed();
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
    // The 408 says the server gave up on the body (and then closed).
    let answer = until_closed(&mut stream).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn a_client_that_never_reads_its_responses_is_cut_off() {
    // The client at 127.0.0.3 may hold one connection at a time: while the
    // server holds the one that never reads, another of its is refused.
    let app = spawn_app_with(Options::with_env(&[
        ("HTTP_WRITE_TIMEOUT_MS", "300"),
        ("HTTP_MAX_CONNECTIONS_PER_CLIENT", "1"),
    ]))
    .await;
    sqlx::query(
        "INSERT INTO products (name, price, stock)
         SELECT repeat('n', 190) || g, 1, 1 FROM generate_series(0, 99) AS g",
    )
    .execute(&app.pool)
    .await
    .unwrap();
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
    let mut stream = connect_from(&app, "127.0.0.3").await;
    for _ in 0..40 {
        stream.write_all(request.as_bytes()).await.unwrap();
    }
    // Still unread: the server gives up on it once a write stalls, and so
    // lets the client connect again.
    wait_until("the server to give up on the connection", async || {
        served_from(&app, "127.0.0.3").await
    })
    .await;
    // What the kernel buffered arrives, then the end.
    let received = until_closed(&mut stream).await.len();
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
    wait_until("the request to wait on the lock", async || {
        app.queries_waiting_on_a_lock().await > 0
    })
    .await;
    let started = Instant::now();
    let pool = app.pool.clone();
    let stopping = tokio::spawn(async move {
        app.stop().await;
        app
    });
    // Cut off once the grace period is over, while the lock is still held
    // (so the request could not have finished).
    let answer = eventually("the held request to end", held).await;
    assert!(answer.unwrap().is_err(), "cut off, not answered");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "after the grace period"
    );
    blocker.rollback().await.unwrap();
    let app = eventually("the app to stop once its last query ended", stopping)
        .await
        .unwrap();
    drop((app, pool));
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_by_the_header_timeout() {
    let app = spawn_app_with(Options::with_env(&[("HTTP_HEADER_TIMEOUT_MS", "300")])).await;
    // Not one byte: the deadline runs from the connection's first moment.
    let mut silent = connect(&app).await;
    until_closed(&mut silent).await;
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
    eventually("the connection to close while the client trickles", async {
        loop {
            let _ = stream.write_all(b" ").await;
            match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => break,
                Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
        }
    })
    .await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn one_client_address_cannot_hold_every_connection() {
    let app = spawn_app_with(Options::with_env(&[
        ("HTTP_HEADER_TIMEOUT_MS", NEVER_MS),
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
    // A sixth of its own is closed as soon as it is accepted, however many
    // the instance has.
    let mut sixth = connect_from(&app, "127.0.0.1").await;
    until_closed(&mut sixth).await;
    assert_eq!(refused(&app), 1, "closed for want of the client's slot");
    // Another client is served.
    assert!(
        served_from(&app, "127.0.0.2").await,
        "another address is served"
    );
    // Once the first client lets go, it may connect again (once the server
    // has seen the close).
    drop(held.pop());
    wait_until("a freed slot to be the client's again", async || {
        served_from(&app, "127.0.0.1").await
    })
    .await;
}
