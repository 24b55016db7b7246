//! CORS: which browser pages on other origins may call the API
//! (`CORS_ALLOWED_ORIGINS`, `CORS_MAX_AGE_SECS`).
//!
//! tower-http's [`CorsLayer`] does the work, set up as the API needs it:
//!
//! - methods `GET`, `POST` and `OPTIONS`; request headers `authorization`,
//!   `content-type` and `x-request-id`; `x-request-id` exposed, so that a
//!   page can quote it in a report, and `location`, so that a page on
//!   another origin can follow an order's form page from the response that
//!   created the order;
//! - no credentials: tokens travel in the `Authorization` header, never in
//!   cookies, so a browser never attaches one on its own and `*` is safe;
//! - a refused origin gets no `Access-Control-Allow-Origin`, and its
//!   browser withholds the response from the page;
//! - a preflight answers 204 ([`no_content`]), as the server has nothing
//!   to say in its body;
//! - with no origin allowed (the production default) there is no layer at
//!   all: no CORS header is sent, and `OPTIONS` is not a method of any route.
//!
//! The layer sits outside the routes ([`super::router`]), so the errors the
//! handlers answer (401, 413, 429, ...) carry the headers too: a page can
//! read why it was refused, and the request id that goes with it.

use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::REQUEST_ID;
use crate::config::{AllowedOrigins, Cors};

/// The methods a page may use.
const METHODS: [Method; 3] = [Method::GET, Method::POST, Method::OPTIONS];

/// The request headers a page may send, besides the CORS-safelisted ones.
fn allowed_headers() -> [HeaderName; 3] {
    [
        AUTHORIZATION,
        CONTENT_TYPE,
        HeaderName::from_static(REQUEST_ID),
    ]
}

/// The response headers a page may read, besides the CORS-safelisted ones.
fn exposed_headers() -> [HeaderName; 2] {
    [HeaderName::from_static(REQUEST_ID), LOCATION]
}

/// The layer for `cors`, or `None` when no origin is allowed.
pub fn layer(cors: &Cors) -> Option<CorsLayer> {
    let origins = match &cors.allowed_origins {
        AllowedOrigins::Any => AllowOrigin::any(),
        AllowedOrigins::List(origins) if origins.is_empty() => return None,
        // The configuration checked each origin (`config::check_origin`),
        // so each is a valid header value, and none is `*`.
        AllowedOrigins::List(origins) => AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        ),
    };
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods(METHODS)
            .allow_headers(allowed_headers())
            .expose_headers(exposed_headers())
            .max_age(cors.max_age),
    )
}

/// Makes a preflight's answer 204 No Content. [`CorsLayer`] answers every
/// `OPTIONS` request itself, with 200 and an empty body; this runs around it.
pub async fn no_content(request: Request, next: Next) -> Response {
    let preflight = request.method() == Method::OPTIONS;
    let mut response = next.run(request).await;
    if preflight && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}

/// The policy in one line, for the startup log.
pub fn describe(cors: &Cors) -> String {
    let origins = match &cors.allowed_origins {
        AllowedOrigins::Any => "any origin (*)".to_owned(),
        AllowedOrigins::List(origins) if origins.is_empty() => {
            return "CORS off: no origin allowed, no CORS header sent".to_owned();
        }
        AllowedOrigins::List(origins) => origins.join(", "),
    };
    let methods: Vec<&str> = METHODS.iter().map(Method::as_str).collect();
    let headers = allowed_headers();
    let headers: Vec<&str> = headers.iter().map(HeaderName::as_str).collect();
    format!(
        "CORS allows {origins}; methods {}; request headers {}; exposes {}; \
         preflights cached {} s; no credentials",
        methods.join(", "),
        headers.join(", "),
        exposed_headers().map(|h| h.as_str().to_owned()).join(", "),
        cors.max_age.as_secs()
    )
}
