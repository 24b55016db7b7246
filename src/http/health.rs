//! Liveness, readiness and metrics.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use super::AppState;
use crate::domain::outbox;

/// How long `/readyz` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`: the process is up.
pub async fn alive() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let ping = sqlx::query_scalar!("SELECT 1 AS one").fetch_one(&state.services.db.pool);
    match tokio::time::timeout(READY_TIMEOUT, ping).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let pool = &state.services.db.pool;
    let size = f64::from(pool.size());
    let idle = pool.num_idle() as f64;
    // Measured at each scrape, so it is fresh and the same from every
    // instance; absent (and logged) while the database is away.
    let backlog = match tokio::time::timeout(READY_TIMEOUT, outbox::backlog(pool)).await {
        Ok(Ok(backlog)) => Some(backlog),
        Ok(Err(e)) => {
            tracing::warn!(error = ?e, "cannot measure the outbox backlog");
            None
        }
        Err(_) => None,
    };
    let mut gauges = vec![
        (
            "db_pool_connections",
            "Open connections in the database pool.",
            size,
        ),
        (
            "db_pool_connections_in_use",
            "Pooled connections in use.",
            size - idle,
        ),
    ];
    if let Some(backlog) = backlog {
        gauges.push((
            "outbox_backlog_events",
            "Order-paid events not yet published to NATS.",
            backlog.size as f64,
        ));
        gauges.push((
            "outbox_oldest_unpublished_age_seconds",
            "Age of the oldest unpublished event (0 when none).",
            backlog.oldest_age_secs,
        ));
    }
    let body = state.metrics.render(&gauges);
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
