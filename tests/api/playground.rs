//! The playground: a page and files served by the server itself (no other
//! host is ever asked for anything), with the demo tokens in GraphiQL's
//! Headers tab; none of it in production. `tests/browser/` checks the same
//! page in a real browser.

use serde_json::json;

use crate::helpers::http::header;
use crate::helpers::{Options, TestApp, spawn_app, spawn_app_with};

/// The vendored files the page loads, with their media types.
const ASSETS: &[(&str, &str)] = &[
    (
        "/playground/react-18.3.1.production.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "/playground/react-dom-18.3.1.production.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "/playground/graphiql-3.8.3.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "/playground/graphql-ws-6.4.2.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "/playground/graphiql-3.8.3.min.css",
        "text/css; charset=utf-8",
    ),
];

/// The Authorization header value the page holds under `key` ("user" or
/// "admin"), from the JSON object inlined in its script.
fn authorization(html: &str, key: &str) -> String {
    let marker = format!(r#""{key}":"Bearer "#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {key} token"))
        + marker.len()
        - "Bearer ".len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_owned()
}

async fn production() -> TestApp {
    spawn_app_with(Options {
        env: vec![
            ("APP_ENV", "production".into()),
            ("JWT_SECRET", crate::helpers::PRODUCTION_SECRET.into()),
        ],
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn the_playground_page_is_self_contained_and_never_cached() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "content-type"),
        "text/html; charset=utf-8"
    );
    assert_eq!(header(&response, "cache-control"), "no-store");
    let policy = header(&response, "content-security-policy");
    assert!(
        policy.contains("default-src 'none'") && policy.contains("connect-src 'self'"),
        "{policy}"
    );
    let html = response.text().await.unwrap();

    // No URL to any host: the page names files by path only.
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("\"//"),
        "{html}"
    );
    for (path, _) in ASSETS {
        assert!(html.contains(&format!("\"{path}\"")), "{path} not loaded");
    }
    for attribute in ["src=\"", "href=\""] {
        for (i, _) in html.match_indices(attribute) {
            let value = &html[i + attribute.len()..];
            // `data:,` is the empty icon that saves a request for /favicon.ico.
            assert!(
                value.starts_with("/playground/") || value.starts_with("data:,\""),
                "{attribute}{value:.60}"
            );
        }
    }
    assert!(html.contains("defaultTabs") && html.contains("Authorization"));
}

#[tokio::test]
async fn the_playground_holds_a_working_token_for_the_demo_user_and_admin() {
    let app = spawn_app().await;
    let html = app.get("/").await.text().await.unwrap();
    let user = authorization(&html, "user");
    let admin = authorization(&html, "admin");
    assert!(user.starts_with("Bearer ") && admin.starts_with("Bearer "));
    assert_ne!(user, admin);

    let whoami = "{ viewer { subject } }";
    let r = app
        .gql(Some(&user["Bearer ".len()..]), whoami, json!({}))
        .await;
    assert_eq!(r.data()["viewer"]["subject"], "demo-user");
    // Only the admin's token may create products.
    let create = r#"mutation { createProduct(input: { name: "Kettle", price: "100", stock: 1 }) { product { name } } }"#;
    let r = app
        .gql(Some(&admin["Bearer ".len()..]), create, json!({}))
        .await;
    assert_eq!(
        r.data()["createProduct"]["product"]["name"],
        "Kettle",
        "{}",
        r.body
    );
    let r = app
        .gql(Some(&user["Bearer ".len()..]), create, json!({}))
        .await;
    assert_eq!(r.error_code(), "FORBIDDEN", "{}", r.body);
}

#[tokio::test]
async fn the_playground_files_are_served_with_their_type_and_cached_for_good() {
    let app = spawn_app().await;
    for (path, content_type) in ASSETS {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "content-type"), *content_type, "{path}");
        assert_eq!(
            header(&response, "cache-control"),
            "public, max-age=31536000, immutable",
            "{path}"
        );
        let body = response.text().await.unwrap();
        assert!(body.len() > 10_000, "{path}: {} bytes", body.len());
        // The browser would ask for a source map that is not vendored.
        assert!(!body.contains("sourceMappingURL"), "{path}");
    }
    let css = app
        .get("/playground/graphiql-3.8.3.min.css")
        .await
        .text()
        .await
        .unwrap();
    assert!(!css.contains("@import"));
    for (i, _) in css.match_indices("url(") {
        assert!(css[i..].starts_with("url(data:"), "{:.80}", &css[i..]);
    }
    assert_eq!(app.get("/playground/nothing.js").await.status(), 404);
    assert_eq!(app.get("/playground/").await.status(), 404);
}

#[tokio::test]
async fn production_serves_no_playground_page_or_files() {
    let app = production().await;
    assert_eq!(app.get("/").await.status(), 404);
    for (path, _) in ASSETS {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
}
