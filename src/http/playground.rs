//! The GraphiQL playground at `GET /` (development only), served whole by
//! this server so that it works without internet access.
//!
//! React, ReactDOM, GraphiQL and graphql-ws (the playground's subscriptions)
//! are vendored under `assets/playground/`
//! (pinned production builds, see its `LICENSES.md` and `update.sh`) and
//! embedded in the binary. Each is served at `/playground/<file>`, where the
//! file name carries the package's version: a new version is a new URL, so
//! browsers may cache each one forever. The page itself is rendered once at
//! startup with the demo tokens and is never cached, since the tokens change
//! with every start.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::{AppState, embedded};

/// The page, with a marker where the script goes.
const PAGE: &str = include_str!("../../assets/playground/index.html");
/// The page's own script, with a marker where the tokens go.
const SCRIPT: &str = include_str!("../../assets/playground/playground.js");
const SCRIPT_MARKER: &str = "/*PLAYGROUND_SCRIPT*/";
const TOKENS_MARKER: &str = "__PLAYGROUND_TOKENS__";

/// The vendored files: the URL's last segment, its media type, its bytes.
/// The names are those under `assets/playground/` and in `index.html`.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "react-18.3.1.production.min.js",
        JAVASCRIPT,
        include_bytes!("../../assets/playground/react-18.3.1.production.min.js"),
    ),
    (
        "react-dom-18.3.1.production.min.js",
        JAVASCRIPT,
        include_bytes!("../../assets/playground/react-dom-18.3.1.production.min.js"),
    ),
    (
        "graphiql-3.8.3.min.js",
        JAVASCRIPT,
        include_bytes!("../../assets/playground/graphiql-3.8.3.min.js"),
    ),
    (
        "graphql-ws-6.4.2.min.js",
        JAVASCRIPT,
        include_bytes!("../../assets/playground/graphql-ws-6.4.2.min.js"),
    ),
    (
        "graphiql-3.8.3.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/playground/graphiql-3.8.3.min.css"),
    ),
];
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// The playground page, rendered once at startup with the demo tokens.
pub struct Playground {
    page: String,
    /// Only this server's files and the page's one inline script run; the
    /// page may talk to this server only. GraphiQL's styles are partly
    /// inline (`style-src 'unsafe-inline'`) and its fonts are data URLs.
    policy: HeaderValue,
}

impl Playground {
    /// Renders the page with a tab per Authorization header (`Bearer …`):
    /// the demo user's and the demo admin's.
    pub fn new(user_authorization: &str, admin_authorization: &str) -> Result<Self, String> {
        let tokens = serde_json::json!({
            "user": user_authorization,
            "admin": admin_authorization,
        });
        let script = SCRIPT.replace(TOKENS_MARKER, &script_literal(&tokens)?);
        let page = PAGE.replace(SCRIPT_MARKER, &script);
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&script));
        let policy = format!(
            "default-src 'none'; script-src 'self' 'sha256-{hash}'; \
             style-src 'self' 'unsafe-inline'; font-src 'self' data:; \
             img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'"
        );
        let policy = HeaderValue::from_str(&policy).map_err(|e| format!("playground: {e}"))?;
        Ok(Self { page, policy })
    }
}

/// `value` as a JavaScript expression that is safe inside `<script>`:
/// JSON (a subset of JavaScript), with `<`, `>` and `&` escaped, which can
/// only occur inside its strings, so that no value can close the element.
pub(super) fn script_literal(value: &serde_json::Value) -> Result<String, String> {
    let json = serde_json::to_string(value).map_err(|e| format!("playground: {e}"))?;
    Ok(json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026"))
}

/// `GET /`: the page, or 404 when the playground is off (production).
pub async fn page(State(state): State<AppState>) -> Response {
    let Some(playground) = &state.playground else {
        return StatusCode::NOT_FOUND.into_response();
    };
    embedded::page(playground.policy.clone(), playground.page.clone())
}

/// `GET /playground/{file}`: a vendored file, or 404 when there is no such
/// file or the playground is off (production).
pub async fn asset(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let found = ASSETS.iter().find(|(name, _, _)| *name == file);
    let (Some(_), Some((_, content_type, body))) = (&state.playground, found) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    embedded::immutable_file(content_type, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_cannot_close_the_script() {
        let literal = script_literal(&serde_json::json!({ "user": "</script><b>&" })).unwrap();
        assert!(!literal.contains('<') && !literal.contains('>') && !literal.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&literal).unwrap();
        assert_eq!(back["user"], "</script><b>&");
    }

    #[test]
    fn every_marker_is_replaced() {
        let playground = Playground::new("Bearer u", "Bearer a").unwrap();
        assert!(!playground.page.contains(SCRIPT_MARKER));
        assert!(!playground.page.contains(TOKENS_MARKER));
        assert!(playground.page.contains(r#""user":"Bearer u""#));
        for (name, _, _) in ASSETS {
            assert!(
                playground.page.contains(&format!("/playground/{name}")),
                "{name}"
            );
        }
    }
}
