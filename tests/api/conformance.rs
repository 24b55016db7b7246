//! GraphQL over HTTP: content negotiation and status codes, as the
//! graphql-http audits check them (CI also runs the audits themselves,
//! `.ci/graphql-http-audit`).
//!
//! - `Accept` preferring `application/graphql-response+json`: that media
//!   type, and 400 with no `data` entry for errors raised before execution
//!   (syntax, validation, variable coercion, limits).
//! - `application/json`, `*/*` or no `Accept`: `application/json`, and 200
//!   for those errors.
//! - Malformed HTTP requests are 4xx whatever the `Accept`.

use std::io::{Read, Write};

use serde_json::{Value, json};

use crate::helpers::http::header;
use crate::helpers::{TestApp, spawn_app};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// An answer of `/graphql`, split for assertions.
#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: String,
    vary: String,
    body: Value,
}

impl Reply {
    async fn from(response: reqwest::Response) -> Self {
        let content_type = header(&response, "content-type");
        let vary = header(&response, "vary");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        Self {
            status,
            content_type,
            vary,
            body,
        }
    }

    /// The `extensions.code` of each top-level error.
    fn codes(&self) -> Vec<&str> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["extensions"]["code"].as_str().unwrap_or("<none>"))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether there are errors, each with `code` (an invalid variable may
    /// be reported twice: the value and the argument it feeds).
    fn all_coded(&self, code: &str) -> bool {
        let codes = self.codes();
        !codes.is_empty() && codes.iter().all(|c| *c == code)
    }

    /// Whether the body has a `data` entry (even a null one).
    fn has_data(&self) -> bool {
        self.body.get("data").is_some()
    }

    /// Asserts the answer's content-type is `media`.
    fn assert_media(&self, media: &str) {
        assert!(
            self.content_type.starts_with(media),
            "content-type {} instead of {media}: {}",
            self.content_type,
            self.body
        );
    }
}

/// POSTs `body` to `/graphql` with `Accept: accept` and `Content-Type: application/json`.
async fn post(app: &TestApp, accept: &str, body: &Value) -> Reply {
    post_raw(app, Some(accept), Some(JSON), body.to_string()).await
}

/// POSTs `body` as is, with the given headers.
async fn post_raw(
    app: &TestApp,
    accept: Option<&str>,
    content_type: Option<&str>,
    body: String,
) -> Reply {
    let mut request = reqwest::Client::new()
        .post(format!("{}/graphql", app.address))
        .body(body);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    Reply::from(request.send().await.expect("request sent")).await
}

/// A GET on `/graphql` with `params` and `Accept: accept`.
async fn get(app: &TestApp, accept: &str, params: &[(&str, &str)]) -> Reply {
    let url = reqwest::Url::parse_with_params(&format!("{}/graphql", app.address), params)
        .expect("a valid url");
    let response = reqwest::Client::new()
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .expect("request sent");
    Reply::from(response).await
}

/// POSTs `body` over a bare HTTP/1.1 connection, with no `Accept` header
/// (reqwest always sends `Accept: */*`); returns the status line's code,
/// the `content-type` and the body.
async fn post_without_accept(app: &TestApp, body: &str) -> (u16, String, Value) {
    let host = app.address.trim_start_matches("http://").to_owned();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let raw = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&host).expect("connects");
        stream.write_all(request.as_bytes()).expect("request sent");
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("response read");
        raw
    })
    .await
    .expect("the request ran");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let content_type = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    let body = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    (status, content_type, body)
}

/// Operations that fail before execution begins, with their code.
const REQUEST_ERRORS: [(&str, &str, &str); 4] = [
    ("a syntax error", "{ products { ", "BAD_REQUEST"),
    ("a validation error", "{ nope }", "BAD_REQUEST"),
    (
        "a variable that does not coerce",
        "query($n: Int!) { products(first: $n) { totalCount } }",
        "BAD_REQUEST",
    ),
    (
        "a query over the depth limit",
        "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } } } } } } } }",
        "QUERY_TOO_COMPLEX",
    ),
];

#[tokio::test]
async fn each_client_gets_the_media_type_it_asks_for() {
    let app = spawn_app().await;
    let query = json!({ "query": "{ __typename }" });
    for (accept, media) in [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (JSON, JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        // The preferred of the two: by q, then by order; wildcards never
        // stand for the new type; something else entirely gets JSON.
        (
            "application/graphql-response+json, application/json",
            GRAPHQL_RESPONSE,
        ),
        ("application/json, application/graphql-response+json", JSON),
        (
            "application/json;q=0.5, application/graphql-response+json",
            GRAPHQL_RESPONSE,
        ),
        (
            "application/graphql-response+json;q=0.5, application/json",
            JSON,
        ),
        ("*/*, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/graphql-response+json;q=0, */*", JSON),
        ("text/html", JSON),
    ] {
        let r = post(&app, accept, &query).await;
        assert_eq!(r.status, 200, "{accept}: {}", r.body);
        r.assert_media(media);
        assert_eq!(r.body["data"]["__typename"], "Query", "{accept}");
        assert!(
            r.vary.to_ascii_lowercase().contains("accept"),
            "{accept}: vary {}",
            r.vary
        );
    }

    let (status, content_type, body) =
        post_without_accept(&app, &json!({ "query": "{ __typename }" }).to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with(JSON), "{content_type}");
    assert_eq!(body["data"]["__typename"], "Query");
}

#[tokio::test]
async fn request_errors_are_400_without_data_for_graphql_response_json() {
    let app = spawn_app().await;
    for (what, query, code) in REQUEST_ERRORS {
        let body = json!({ "query": query, "variables": { "n": "not an int" } });
        let r = post(&app, GRAPHQL_RESPONSE, &body).await;
        assert_eq!(r.status, 400, "{what}: {}", r.body);
        r.assert_media(GRAPHQL_RESPONSE);
        assert!(!r.has_data(), "{what}: {}", r.body);
        assert!(r.all_coded(code), "{what}: {}", r.body);

        let r = get(
            &app,
            GRAPHQL_RESPONSE,
            &[("query", query), ("variables", r#"{"n": "not an int"}"#)],
        )
        .await;
        assert_eq!(r.status, 400, "GET, {what}: {}", r.body);
        assert!(!r.has_data(), "GET, {what}: {}", r.body);
    }
    // A batch over the limit is refused before execution too.
    let eleven = Value::Array(vec![json!({ "query": "{ __typename }" }); 11]);
    let r = post(&app, GRAPHQL_RESPONSE, &eleven).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let results = r
        .body
        .as_array()
        .expect("a refused batch is answered as a batch");
    assert_eq!(results.len(), 11);
    assert!(
        results.iter().all(
            |r| r["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
                && r.get("data").is_none()
        ),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn request_errors_are_200_for_application_json() {
    let app = spawn_app().await;
    for accept in [JSON, "*/*"] {
        for (what, query, code) in REQUEST_ERRORS {
            let body = json!({ "query": query, "variables": { "n": "not an int" } });
            let r = post(&app, accept, &body).await;
            assert_eq!(r.status, 200, "{accept}, {what}: {}", r.body);
            r.assert_media(JSON);
            assert!(!r.has_data(), "{accept}, {what}: {}", r.body);
            assert!(r.all_coded(code), "{accept}, {what}: {}", r.body);
        }
    }
    let (status, content_type, body) =
        post_without_accept(&app, &json!({ "query": "{" }).to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with(JSON), "{content_type}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn execution_errors_are_200_with_data_whatever_the_accept() {
    let app = spawn_app().await;
    for accept in [GRAPHQL_RESPONSE, JSON] {
        for (query, code) in [
            // Execution began: a resolver refused, nulling all of `data`.
            ("{ products(first: 1000) { totalCount } }", "BAD_REQUEST"),
            ("{ viewer { id } }", "UNAUTHENTICATED"),
        ] {
            let r = post(&app, accept, &json!({ "query": query })).await;
            assert_eq!(r.status, 200, "{accept}, {query}: {}", r.body);
            r.assert_media(accept);
            assert!(r.has_data(), "{accept}, {query}: {}", r.body);
            assert_eq!(r.codes(), [code], "{accept}, {query}: {}", r.body);
        }
    }
}

#[tokio::test]
async fn malformed_http_requests_are_4xx_whatever_the_accept() {
    let app = spawn_app().await;
    let query = json!({ "query": "{ __typename }" }).to_string();
    for accept in [GRAPHQL_RESPONSE, JSON] {
        for (what, content_type, body, status) in [
            ("no content-type", None, query.clone(), 415),
            ("a text/plain body", Some("text/plain"), query.clone(), 415),
            (
                "a body that is not JSON",
                Some(JSON),
                r#"{ "not a JSON"#.into(),
                400,
            ),
            ("no body", Some(JSON), String::new(), 400),
            (
                "no query",
                Some(JSON),
                r#"{"qeury": "{ __typename }"}"#.into(),
                400,
            ),
            (
                "a blank query",
                Some(JSON),
                r#"{"query": "  "}"#.into(),
                400,
            ),
            (
                "a query that is not a string",
                Some(JSON),
                r#"{"query": {"obj": "ect"}}"#.into(),
                400,
            ),
            (
                "variables that are not a map",
                Some(JSON),
                r#"{"query": "{ __typename }", "variables": "string"}"#.into(),
                400,
            ),
            (
                "an operationName that is not a string",
                Some(JSON),
                r#"{"query": "{ __typename }", "operationName": 0}"#.into(),
                400,
            ),
            (
                "extensions that are not a map",
                Some(JSON),
                r#"{"query": "{ __typename }", "extensions": false}"#.into(),
                400,
            ),
        ] {
            let r = post_raw(&app, Some(accept), content_type, body).await;
            assert_eq!(r.status, status, "{accept}, {what}: {}", r.body);
            r.assert_media(accept);
            assert!(!r.has_data(), "{accept}, {what}: {}", r.body);
            assert_eq!(r.codes(), ["BAD_REQUEST"], "{accept}, {what}: {}", r.body);
        }

        // The content-type may carry parameters.
        let r = post_raw(
            &app,
            Some(accept),
            Some("application/json; charset=utf-8"),
            query.clone(),
        )
        .await;
        assert_eq!(r.status, 200, "{accept}: {}", r.body);

        let r = get(&app, accept, &[("variables", "{}")]).await;
        assert_eq!(r.status, 400, "{accept}, GET without query: {}", r.body);
        r.assert_media(accept);
        assert_eq!(r.codes(), ["BAD_REQUEST"]);
        let r = get(&app, accept, &[("query", "mutation { __typename }")]).await;
        assert_eq!(r.status, 405, "{accept}, GET mutation: {}", r.body);
        r.assert_media(accept);
    }
}

#[tokio::test]
async fn bad_tokens_are_401_in_either_media_type() {
    let app = spawn_app().await;
    for accept in [GRAPHQL_RESPONSE, JSON] {
        let response = reqwest::Client::new()
            .post(format!("{}/graphql", app.address))
            .header("accept", accept)
            .bearer_auth("not-a-jwt")
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .expect("request sent");
        let r = Reply::from(response).await;
        assert_eq!(r.status, 401, "{accept}: {}", r.body);
        r.assert_media(accept);
        assert_eq!(r.codes(), ["UNAUTHENTICATED"]);
    }
}

#[tokio::test]
async fn batches_answer_200_with_a_result_per_operation() {
    let app = spawn_app().await;
    let batch = json!([{ "query": "{" }, { "query": "{ __typename }" }]);
    for accept in [GRAPHQL_RESPONSE, JSON] {
        let r = post(&app, accept, &batch).await;
        assert_eq!(r.status, 200, "{accept}: {}", r.body);
        r.assert_media(accept);
        let results = r.body.as_array().expect("an array");
        assert_eq!(results.len(), 2, "{}", r.body);
        assert!(results[0].get("data").is_none(), "{}", r.body);
        assert_eq!(results[0]["errors"][0]["extensions"]["code"], "BAD_REQUEST");
        assert_eq!(results[1]["data"]["__typename"], "Query");
    }
}
