//! Liveness, readiness and metrics.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::AppState;
use crate::db::Replica;
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
pub async fn metrics(State(state): State<AppState>) -> Response {
    let pool = &state.services.db.pool;
    let size = i64::from(pool.size());
    let idle = pool.num_idle() as i64;
    let mut sampled = Registry::default();
    sampled.register(
        "db_pool_connections",
        "Open connections in the database pool",
        ConstGauge::new(size),
    );
    sampled.register(
        "db_pool_connections_in_use",
        "Pooled connections in use",
        ConstGauge::new(size - idle),
    );
    if let Some(replica) = &state.services.db.replica {
        replica_gauges(&mut sampled, replica);
    }
    let services = &state.services;
    for (name, help, waiting) in [
        (
            "payment_queue_waiting",
            "Payments waiting for the next batch",
            services.payments.waiting(),
        ),
        (
            "coupon_queue_waiting",
            "Coupon requests waiting for the next batch",
            services.coupons.waiting(),
        ),
    ] {
        sampled.register(name, help, ConstGauge::new(waiting as i64));
    }
    // Measured at each scrape, so it is fresh and the same from every
    // instance; absent (and logged) while the database is away.
    match tokio::time::timeout(READY_TIMEOUT, outbox::backlog(pool)).await {
        Ok(Ok(backlog)) => {
            sampled.register(
                "outbox_backlog_events",
                "Order-paid events not yet published to NATS",
                ConstGauge::new(backlog.size),
            );
            sampled.register(
                "outbox_oldest_unpublished_age_seconds",
                "Age of the oldest unpublished event (0 when none)",
                ConstGauge::new(backlog.oldest_age_secs),
            );
        }
        Ok(Err(e)) => tracing::warn!(error = ?e, "cannot measure the outbox backlog"),
        Err(_) => {}
    }
    match state.metrics.render(&sampled) {
        Ok(body) => ([(CONTENT_TYPE, prometheus_text::CONTENT_TYPE)], body).into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "cannot render the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The read replica's gauges, as its last sample found it (present only
/// with `DATABASE_READ_URL`).
fn replica_gauges(sampled: &mut Registry, replica: &Replica) {
    let status = replica.status();
    let size = i64::from(replica.pool.size());
    let idle = replica.pool.num_idle() as i64;
    for (name, help, value) in [
        (
            "db_replica_up",
            "1 when the last sample reached the read replica",
            i64::from(status.up),
        ),
        (
            "db_replica_in_use",
            "1 while queries read from the replica (up, and within DATABASE_READ_MAX_LAG_MS)",
            i64::from(status.in_use),
        ),
        (
            "db_replica_lag_bytes",
            "WAL bytes written by the primary that the replica had not replayed",
            status.lag_bytes,
        ),
        (
            "db_replica_pool_connections",
            "Open connections in the replica's pool",
            size,
        ),
        (
            "db_replica_pool_connections_in_use",
            "Replica pool connections in use",
            size - idle,
        ),
    ] {
        sampled.register(name, help, ConstGauge::new(value));
    }
    sampled.register(
        "db_replica_lag_seconds",
        "How long the replica had been behind the primary (0 when it had replayed everything)",
        ConstGauge::new(status.lag.as_secs_f64()),
    );
}
