//! How the server answers with what it embeds: a page rendered at startup
//! (the playground, the storefront) and a built file (their scripts and
//! styles). One place for the headers, so both sides stay alike.

use axum::body::Body;
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Response};

/// A page holding the demo tokens: never cached (the tokens change with
/// every start of the server), never leaking its URL to another site,
/// limited to what `policy` allows.
pub(super) fn page(policy: HeaderValue, html: String) -> Response {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (CONTENT_SECURITY_POLICY, policy),
            (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        html,
    )
        .into_response()
}

/// A file whose URL changes with its content (a version in its name or
/// query), so browsers may keep it for a year, the longest they honour,
/// without asking again.
pub(super) fn immutable_file(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        Body::from(body),
    )
        .into_response()
}
