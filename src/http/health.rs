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
