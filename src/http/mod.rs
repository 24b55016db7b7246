//! The HTTP surface: `POST`/`GET /graphql`, the GraphiQL playground at `/`
//! (its files under `/playground/`), the reference storefront under
//! `/shop/`, `/healthz`, `/readyz` and `/metrics`,
//! with CORS for browsers on other origins ([`cors`]).

mod capped;
mod cors;
mod embedded;
mod graphql;
mod health;
mod media_type;
mod per_client;
mod playground;
mod rate_limit;
mod server;
mod state;
mod storefront;
mod websocket;

pub use playground::Playground;
pub use rate_limit::RateLimiter;
pub use server::serve;
pub use state::AppState;
pub use storefront::{Shopper, Storefront};
pub use websocket::Sockets;

use axum::Router;
use axum::extract::Request;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, State};
use axum::handler::Handler;
use axum::http::HeaderName;
use axum::http::header::UPGRADE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::time::Duration;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use axum::extract::MatchedPath;
use tower_http::trace::{DefaultOnResponse, OnResponse, TraceLayer};
use tracing::{Level, Span};

use crate::telemetry;

/// The header that carries a request's id: the caller's if it sent one,
/// else a fresh UUID; echoed in the response and on every log line.
pub const REQUEST_ID: &str = "x-request-id";

/// The W3C trace context header a caller's trace arrives in.
const TRACEPARENT: &str = "traceparent";

/// The server's routes.
pub fn router(state: AppState) -> Router {
    let header = HeaderName::from_static(REQUEST_ID);
    // Every log line of a request carries its id, its trace id and (once
    // known) its GraphQL operation, recorded by `graphql::operation`. The
    // span continues the caller's `traceparent`, and is the root of the
    // server's part of the trace.
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let id = request
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            let traceparent = request
                .headers()
                .get(TRACEPARENT)
                .and_then(|v| v.to_str().ok());
            // Sampled here, once: a request not traced creates no span
            // data for the tracing layer (`telemetry::head`).
            let parent = traceparent.and_then(telemetry::TraceParent::parse);
            macro_rules! request_span {
                ($target:expr) => {
                    tracing::info_span!(
                        target: $target,
                        "request",
                        otel.name = %format_args!("{} {route}", request.method()),
                        otel.kind = "server",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %id,
                        trace_id = tracing::field::Empty,
                        operation = tracing::field::Empty,
                        http.response.status_code = tracing::field::Empty,
                    )
                };
            }
            let span = if telemetry::sampled(parent.as_ref()) {
                request_span!(concat!(module_path!(), "::traced"))
            } else {
                request_span!(module_path!())
            };
            if let Some(trace_id) = telemetry::continue_trace(&span, parent) {
                span.record("trace_id", trace_id);
            }
            span
        })
        .on_response(|response: &Response, latency: Duration, span: &Span| {
            span.record("http.response.status_code", response.status().as_u16());
            // tower-http's own line ("finished processing request", at debug).
            DefaultOnResponse::new()
                .level(Level::DEBUG)
                .on_response(response, latency, span);
        });
    let cors = &state.services.config.cors;
    tracing::info!("{}", cors::describe(cors));
    let mut router = Router::new()
        .route("/graphql", get(get_graphql).post(graphql::post))
        .route("/", get(playground::page))
        .route("/playground/{file}", get(playground::asset))
        .route("/shop", get(storefront::root))
        .route("/shop/", get(storefront::page))
        .route("/shop/assets/{file}", get(storefront::asset))
        .route("/shop/{*page}", get(storefront::page))
        .route("/healthz", get(health::alive))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(health::metrics));
    // Around every route, so that the handlers' refusals carry the CORS
    // headers too; inside the trace and the request id, so that preflights
    // are logged and answered with an id like any request.
    if let Some(layer) = cors::layer(cors) {
        router = router
            .layer(layer)
            .layer(axum::middleware::from_fn(cors::no_content));
    }
    router
        .layer(trace)
        .layer(PropagateRequestIdLayer::new(header.clone()))
        // Outermost, so that the id exists before anything else runs.
        .layer(SetRequestIdLayer::new(header, MakeRequestUuid))
        .layer(axum::middleware::map_request(drop_unfit_request_id))
        .with_state(state)
}

/// The longest request id a caller may send (a UUID is 36 characters; a
/// trace id with its span, 55).
const MAX_REQUEST_ID_LEN: usize = 128;

/// Removes a caller's `x-request-id` that is too long or not printable
/// ASCII, so that the server makes its own: the id goes into every log
/// line of the request and back in the response.
async fn drop_unfit_request_id(mut request: Request) -> Request {
    let fit = |value: &axum::http::HeaderValue| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes.iter().all(|b| b.is_ascii_graphic())
    };
    if request.headers().get(REQUEST_ID).is_some_and(|v| !fit(v)) {
        request.headers_mut().remove(REQUEST_ID);
    }
    request
}

/// `GET /graphql`: a WebSocket upgrade (subscriptions), or a query in the
/// query string.
async fn get_graphql(State(state): State<AppState>, request: Request) -> Response {
    let upgrading = request
        .headers()
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrading {
        return Handler::call(graphql::get, request, state).await;
    }
    let (mut parts, _) = request.into_parts();
    let address = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(upgrade) => websocket::upgrade(state, upgrade, address).await,
        Err(rejection) => rejection.into_response(),
    }
}
