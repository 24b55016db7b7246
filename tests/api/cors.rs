//! CORS, as a browser meets it: preflights answer 204 with what a page may
//! send, an allowed origin may read every response (refusals included) and
//! its request id, a refused origin gets no `Access-Control-Allow-Origin`,
//! production allows no origin unless told, and callers that are not
//! browsers see the API unchanged.

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, spawn_app, spawn_app_with};

const SHOP: &str = "https://shop.example";
const QUERY: &str = "{ products { totalCount } }";

async fn app_allowing(origins: &str) -> TestApp {
    spawn_app_with(Options {
        env: vec![("CORS_ALLOWED_ORIGINS", origins.into())],
        ..Default::default()
    })
    .await
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// Every value of `name`, split at commas, lowercased.
fn list(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The preflight a browser sends before a POST of JSON with a token.
fn preflight(app: &TestApp, origin: &str) -> RequestBuilder {
    client()
        .request(Method::OPTIONS, format!("{}/graphql", app.address))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-request-id",
        )
}

/// `GET /graphql` of `query`.
fn get_url(app: &TestApp, query: &str) -> reqwest::Url {
    reqwest::Url::parse_with_params(&format!("{}/graphql", app.address), [("query", query)])
        .unwrap()
}

/// A POST of `QUERY` from a page on `origin`.
fn post_from(app: &TestApp, origin: &str) -> RequestBuilder {
    client()
        .post(format!("{}/graphql", app.address))
        .header("origin", origin)
        .json(&json!({ "query": QUERY }))
}

#[tokio::test]
async fn an_allowed_origin_is_answered_with_what_it_may_send_and_read() {
    let app = app_allowing("https://shop.example, http://localhost:5173").await;

    let r = preflight(&app, SHOP).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let h = r.headers();
    assert_eq!(header(h, "access-control-allow-origin"), Some(SHOP));
    let methods = list(h, "access-control-allow-methods");
    assert_eq!(methods, ["get", "post", "options"], "{h:?}");
    let headers = list(h, "access-control-allow-headers");
    assert_eq!(
        headers,
        ["authorization", "content-type", "x-request-id"],
        "{h:?}"
    );
    assert_eq!(header(h, "access-control-max-age"), Some("600"));
    assert_eq!(header(h, "access-control-allow-credentials"), None);
    assert!(list(h, "vary").contains(&"origin".to_owned()), "{h:?}");
    assert!(header(h, "x-request-id").is_some(), "{h:?}");
    assert!(r.bytes().await.unwrap().is_empty());

    let r = post_from(&app, "http://localhost:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert_eq!(
        list(&h, "access-control-expose-headers"),
        ["x-request-id", "location"]
    );
    assert_eq!(header(&h, "access-control-allow-credentials"), None);
    assert!(header(&h, "x-request-id").is_some());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"]["products"]["totalCount"], 0);

    // GET too, as a page's fetch of a cached query.
    let r = client()
        .get(get_url(&app, QUERY))
        .header("origin", SHOP)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(r.headers(), "access-control-allow-origin"),
        Some(SHOP)
    );
}

#[tokio::test]
async fn the_max_age_is_configurable() {
    let app = spawn_app_with(Options {
        env: vec![
            ("CORS_ALLOWED_ORIGINS", SHOP.into()),
            ("CORS_MAX_AGE_SECS", "7200".into()),
        ],
        ..Default::default()
    })
    .await;
    let r = preflight(&app, SHOP).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(header(r.headers(), "access-control-max-age"), Some("7200"));
}

#[tokio::test]
async fn a_refused_origin_gets_no_allow_origin() {
    let app = app_allowing(SHOP).await;
    for origin in ["https://evil.example", "https://shop.example.evil", "null"] {
        let r = preflight(&app, origin).send().await.unwrap();
        assert_eq!(
            header(r.headers(), "access-control-allow-origin"),
            None,
            "{origin}"
        );
        // The server still answers (the browser withholds the response
        // from the page): CORS protects readers, it is no access control.
        let r = post_from(&app, origin).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            header(r.headers(), "access-control-allow-origin"),
            None,
            "{origin}"
        );
    }
}

#[tokio::test]
async fn development_allows_any_origin_by_default() {
    let app = spawn_app().await;
    let r = preflight(&app, "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        header(r.headers(), "access-control-allow-origin"),
        Some("*")
    );
    assert_eq!(
        header(r.headers(), "access-control-allow-credentials"),
        None
    );
    let r = post_from(&app, "https://anywhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(r.headers(), "access-control-allow-origin"),
        Some("*")
    );
    assert_eq!(
        list(r.headers(), "access-control-expose-headers"),
        ["x-request-id", "location"]
    );

    let star = app_allowing("*").await;
    let r = post_from(&star, SHOP).send().await.unwrap();
    assert_eq!(
        header(r.headers(), "access-control-allow-origin"),
        Some("*")
    );
}

#[tokio::test]
async fn production_allows_no_origin_unless_told() {
    let production = |extra: Vec<(&'static str, String)>| {
        let mut env = vec![
            ("APP_ENV", "production".into()),
            ("JWT_SECRET", crate::helpers::PRODUCTION_SECRET.into()),
        ];
        env.extend(extra);
        spawn_app_with(Options {
            env,
            ..Default::default()
        })
    };
    let app = production(vec![]).await;
    let r = preflight(&app, SHOP).send().await.unwrap();
    assert_ne!(r.status(), 204);
    assert_eq!(header(r.headers(), "access-control-allow-origin"), None);
    let r = post_from(&app, SHOP).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert!(
        h.keys()
            .all(|name| !name.as_str().starts_with("access-control-")),
        "{h:?}"
    );

    let app = production(vec![("CORS_ALLOWED_ORIGINS", SHOP.into())]).await;
    let r = preflight(&app, SHOP).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        header(r.headers(), "access-control-allow-origin"),
        Some(SHOP)
    );
}

/// A page reads why it was refused, and the request id to quote, whatever
/// the refusal.
#[tokio::test]
async fn refusals_carry_the_cors_headers_and_the_request_id() {
    let app = spawn_app_with(Options {
        env: vec![("CORS_ALLOWED_ORIGINS", SHOP.into())],
        ..Default::default()
    })
    .await;
    let url = format!("{}/graphql", app.address);
    let bad_token = client()
        .post(&url)
        .header("origin", SHOP)
        .bearer_auth("not-a-token")
        .json(&json!({ "query": QUERY }));
    let too_large = client()
        .post(&url)
        .header("origin", SHOP)
        .json(&json!({ "query": QUERY, "variables": { "x": "y".repeat(70_000) } }));
    let not_json = client()
        .post(&url)
        .header("origin", SHOP)
        .header("content-type", "text/plain")
        .body(QUERY);
    let mutation = "mutation { cancelOrder(input: { orderId: \"x\" }) { userErrors { code } } }";
    let mutation_over_get = client().get(get_url(&app, mutation)).header("origin", SHOP);
    let no_route = client()
        .get(format!("{}/nowhere", app.address))
        .header("origin", SHOP);
    for (expected, request) in [
        (401, bad_token),
        (413, too_large),
        (415, not_json),
        (405, mutation_over_get),
        (404, no_route),
    ] {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), expected);
        let h = r.headers();
        assert_eq!(
            header(h, "access-control-allow-origin"),
            Some(SHOP),
            "{expected}: {h:?}"
        );
        assert_eq!(
            list(h, "access-control-expose-headers"),
            ["x-request-id", "location"],
            "{expected}"
        );
        assert!(header(h, "x-request-id").is_some(), "{expected}");
    }
    // The rate limit: the first request takes the only token (every
    // refusal takes one too, so this is an app of its own).
    let app = spawn_app_with(Options {
        env: vec![
            ("CORS_ALLOWED_ORIGINS", SHOP.into()),
            ("RATE_LIMIT_PER_SECOND", "1".into()),
            ("RATE_LIMIT_BURST", "1".into()),
            ("QUERY_MAX_BATCH", "1".into()),
            ("QUERY_MAX_MUTATIONS", "1".into()),
        ],
        ..Default::default()
    })
    .await;
    let statuses = [
        post_from(&app, SHOP).send().await.unwrap(),
        post_from(&app, SHOP).send().await.unwrap(),
    ];
    let limited = statuses
        .iter()
        .find(|r| r.status() == 429)
        .expect("the second request is limited");
    let h = limited.headers();
    assert_eq!(header(h, "access-control-allow-origin"), Some(SHOP));
    assert_eq!(
        list(h, "access-control-expose-headers"),
        ["x-request-id", "location"]
    );
    assert!(header(h, "retry-after").is_some() && header(h, "x-request-id").is_some());
}

/// Callers that are not browsers send no `Origin`: they get what they got
/// before CORS, and a request id they send still comes back.
#[tokio::test]
async fn the_rest_of_the_api_is_unchanged() {
    let app = app_allowing(SHOP).await;
    let r = client()
        .post(format!("{}/graphql", app.address))
        .header("x-request-id", "abc-123")
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(header(&h, "x-request-id"), Some("abc-123"));
    assert_eq!(
        header(&h, "content-type"),
        Some("application/graphql-response+json; charset=utf-8")
    );
    assert!(list(&h, "vary").contains(&"accept".to_owned()), "{h:?}");
    assert_eq!(header(&h, "access-control-allow-origin"), None);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({ "data": { "products": { "totalCount": 0 } } }));

    let r = app.gql(None, "{ nope }", json!({})).await;
    assert_eq!((r.status, r.error_code().as_str()), (200, "BAD_REQUEST"));
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
}
