//! The accept loop: hyper's HTTP/1.1 connections with the limits that
//! `axum::serve` does not offer, so that slow, idle or greedy clients cannot
//! hold an instance's sockets and descriptors.
//!
//! - At most `HTTP_MAX_CONNECTIONS` connections, and at most
//!   `HTTP_MAX_CONNECTIONS_PER_CLIENT` from one client address: one more is
//!   closed as soon as it is accepted (the client sees a reset and may retry
//!   elsewhere), so the process never runs out of descriptors for the ones
//!   it serves, and no one client holds them all.
//! - A request's headers must arrive within `HTTP_HEADER_TIMEOUT_MS`,
//!   counted from the connection's first moment (a connection that sends
//!   nothing is closed then too) and, on a kept-alive connection, from the
//!   end of the previous response (hyper's own timer). The connection is
//!   served by hyper's HTTP/1 builder directly: hyper-util's `auto` builder
//!   first waits, with no deadline, for bytes that tell HTTP/1 from HTTP/2.
//! - A write that stalls for `HTTP_WRITE_TIMEOUT_MS` (a client that does not
//!   read its response) closes the connection. The body's own timeout is a
//!   layer of the router ([`super::router`]); its 408 closes the connection.
//! - Graceful shutdown stops accepting, lets open connections finish their
//!   request, and closes whatever is still open after `SHUTDOWN_GRACE_MS`.
//!
//! Every request carries the client's address ([`ConnectInfo`]) for the
//! rate limit.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_io_timeout::TimeoutStream;
use tower::ServiceExt;

use super::per_client::PerClient;
use crate::config::Http;
use crate::metrics::Metrics;

/// How long to pause accepting after an accept error (such as running out
/// of descriptors), rather than spinning on it.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` within `limits` until `shutdown` resolves,
/// then shuts down gracefully.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &Http,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_client = PerClient::new(limits.max_connections_per_client);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    // Turned true when shutdown begins: each connection then finishes its
    // request and closes.
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // Forget the connections that have ended.
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics.http_connections_refused.inc();
            drop(stream);
            continue;
        };
        let Some(held) = per_client.take(peer.ip()) else {
            metrics.http_connections_refused.inc();
            drop(stream);
            continue;
        };
        // Small responses go out at once rather than after Nagle's delay.
        let _ = stream.set_nodelay(true);
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(Some(limits.write_timeout));
        let router = router.clone();
        let service = TowerToHyperService::new(router.map_request(
            move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        ));
        let connection = builder
            .serve_connection(TokioIo::new(Box::pin(stream)), service)
            .with_upgrades();
        let mut closed = closed.clone();
        connections.spawn(async move {
            tokio::pin!(connection);
            let closing = async move {
                let _ = closed.wait_for(|c| *c).await;
            };
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = closing => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = ended {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop((slot, held));
        });
    }
    drop(listener);
    let _ = closing.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_grace, drained)
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            grace = ?limits.shutdown_grace,
            "connections still open after the shutdown grace period are closed"
        );
        // Dropping a connection drops the request it serves: a transaction
        // in it is rolled back (`db::retry`); a payment already queued is
        // settled all the same (`db::batcher`).
        connections.shutdown().await;
    }
}
