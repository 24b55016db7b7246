//! The reference storefront (`clients/storefront/`, built by npm into its
//! `dist/`) at `/shop/`: served whole by this server, from the binary, so
//! that it works offline (`STOREFRONT`, on in development only).
//!
//! The storefront is a single page: every path under `/shop/` that is not
//! one of its two files answers the page, whose script routes by the path
//! (an order's form page is `/shop/orders/<id>`, see
//! `facades::order_form`). The page is rendered once at startup with its
//! configuration (the API's path and the demo shoppers' tokens) and is
//! never cached, since the tokens change with every start; its two files
//! are served at URLs carrying their content's hash, and cached for good.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::playground::script_literal;
use super::{AppState, embedded};

/// The built page, with a marker where its configuration goes.
const PAGE: &str = include_str!("../../clients/storefront/dist/index.html");
const CONFIG_MARKER: &str = "<!--SHOP_CONFIG-->";

/// The built files: the URL's last segment under `/shop/assets/` (as the
/// page names it), its media type, its bytes.
const FILES: [(&str, &str, &[u8]); 2] = [
    (
        "shop.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../clients/storefront/dist/assets/shop.js"),
    ),
    (
        "shop.css",
        "text/css; charset=utf-8",
        include_bytes!("../../clients/storefront/dist/assets/shop.css"),
    ),
];

/// Where the files are served from.
const ASSETS_PATH: &str = "/shop/assets/";

/// Only this server's files run and style the page, and the page may talk
/// to this server only (`connect-src 'self'` covers its WebSocket too).
/// Its configuration is JSON in a `<script type="application/json">`,
/// which is data, not a script, so no inline script is allowed at all.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// A shopper the storefront can act as: the user switch of its header.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Shopper {
    /// What the switch shows.
    pub name: String,
    /// The token's subject.
    pub subject: String,
    /// `Bearer <token>`.
    pub authorization: String,
}

/// The storefront page, rendered once at startup.
pub struct Storefront {
    page: String,
}

impl Storefront {
    /// Renders the page with its configuration: the API's path and the
    /// shoppers it may act as (none: it browses anonymously).
    pub fn new(shoppers: &[Shopper]) -> Result<Self, String> {
        let config = serde_json::json!({ "graphql": "/graphql", "shoppers": shoppers });
        let element = format!(
            r#"<script type="application/json" id="shop-config">{}</script>"#,
            script_literal(&config)?
        );
        if PAGE.matches(CONFIG_MARKER).count() != 1 {
            return Err(format!(
                "storefront: dist/index.html must hold {CONFIG_MARKER} once"
            ));
        }
        let mut page = PAGE.replace(CONFIG_MARKER, &element);
        for (name, _, bytes) in FILES {
            let path = format!("{ASSETS_PATH}{name}");
            if !page.contains(&path) {
                return Err(format!("storefront: dist/index.html does not load {path}"));
            }
            page = page.replace(&path, &format!("{path}?v={}", version(bytes)));
        }
        Ok(Self { page })
    }
}

/// A short digest of a file's content, which makes its URL change with it.
fn version(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..12])
}

/// `GET /shop`: the storefront lives under `/shop/`, where its relative
/// links resolve.
pub async fn root(State(state): State<AppState>) -> Response {
    if state.storefront.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    Redirect::permanent("/shop/").into_response()
}

/// `GET /shop/` and every page path under it: the page, or 404 when the
/// storefront is off.
pub async fn page(State(state): State<AppState>) -> Response {
    let Some(storefront) = &state.storefront else {
        return StatusCode::NOT_FOUND.into_response();
    };
    embedded::page(HeaderValue::from_static(POLICY), storefront.page.clone())
}

/// `GET /shop/assets/{file}`: a built file, or 404 when there is no such
/// file or the storefront is off.
pub async fn asset(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let found = FILES.iter().find(|(name, _, _)| *name == file);
    let (Some(_), Some((_, content_type, body))) = (&state.storefront, found) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    embedded::immutable_file(content_type, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_carries_its_config_and_versioned_files() {
        let shopper = Shopper {
            name: "Ada".into(),
            subject: "shopper-ada".into(),
            authorization: "Bearer </script>".into(),
        };
        let storefront = Storefront::new(&[shopper]).unwrap();
        assert!(!storefront.page.contains(CONFIG_MARKER));
        assert!(storefront.page.contains(r#"id="shop-config""#));
        // A value cannot close the element that holds it.
        assert!(!storefront.page.contains("Bearer </script>"));
        for (name, _, bytes) in FILES {
            let url = format!("{ASSETS_PATH}{name}?v={}", version(bytes));
            assert!(storefront.page.contains(&url), "{url}");
        }
    }
}
