//! Persisted queries, with the requests Apollo Client's `PersistedQueryLink`
//! sends: a hash alone first, then (on `PersistedQueryNotFound`) the hash
//! with the text, and GETs of the hash alone after that; and trusted
//! documents, a manifest of hashes the server knows from the start, which
//! can be the only documents it runs.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::helpers::process::Spawned;
use crate::helpers::{Gql, Options, TestApp, spawn_app, spawn_app_with};

const CATALOG: &str = "query Catalog { products { totalCount } }";
const CREATE_PRODUCT: &str = "mutation CreateProduct($i: CreateProductInput!) { createProduct(input: $i) { product { name } userErrors { code } } }";
/// What Apollo Client (3.8 and later) sends as `Accept`.
const APOLLO_ACCEPT: &str = "application/graphql-response+json,application/json;q=0.9";

/// The SHA-256 of `text` in lowercase hex, as Apollo's link computes it.
fn sha256(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn extensions(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// The first request of Apollo's link: the hash, without the text.
fn hash_only(operation: &str, hash: &str) -> Value {
    json!({ "operationName": operation, "variables": {}, "extensions": extensions(hash) })
}

/// The retry after `PersistedQueryNotFound`: the same, with the text.
fn with_text(operation: &str, query: &str) -> Value {
    let mut body = hash_only(operation, &sha256(query));
    body["query"] = json!(query);
    body
}

/// POSTs `body` as Apollo Client does, with `token` if given.
async fn apollo_post(app: &TestApp, token: Option<&str>, body: &Value) -> Gql {
    let mut request = reqwest::Client::new()
        .post(format!("{}/graphql", app.address))
        .header("accept", APOLLO_ACCEPT)
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    Gql {
        status,
        body: response.json().await.unwrap_or(Value::Null),
    }
}

/// `GET /graphql?operationName=...&variables={}&extensions=...`, the hash
/// alone, as the link sends it with `useGETForHashedQueries`.
async fn apollo_get(app: &TestApp, operation: &str, hash: &str) -> Gql {
    let url = reqwest::Url::parse_with_params(
        &format!("{}/graphql", app.address),
        [
            ("operationName", operation),
            ("variables", "{}"),
            ("extensions", &extensions(hash).to_string()),
        ],
    )
    .unwrap();
    assert!(
        url.as_str()
            .contains("variables=%7B%7D&extensions=%7B%22persistedQuery%22"),
        "{url}"
    );
    let response = reqwest::Client::new()
        .get(url)
        .header("accept", APOLLO_ACCEPT)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    Gql {
        status,
        body: response.json().await.unwrap_or(Value::Null),
    }
}

fn assert_not_found(r: &Gql) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.error_code(), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(r.body["errors"][0]["message"], "PersistedQueryNotFound");
    assert!(r.body.get("data").is_none(), "{}", r.body);
}

/// A manifest file in a temp dir of the test's own, removed with it.
struct Manifest {
    path: PathBuf,
}

impl Drop for Manifest {
    fn drop(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A manifest of `documents`, each under its hash.
fn manifest(documents: &[&str]) -> Manifest {
    let entries: serde_json::Map<String, Value> =
        documents.iter().map(|d| (sha256(d), json!(d))).collect();
    write_manifest(&Value::Object(entries).to_string())
}

/// A manifest file holding `json`.
fn write_manifest(json: &str) -> Manifest {
    let dir = std::env::temp_dir().join(format!("commerce-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("persisted-documents.json");
    std::fs::write(&path, json).unwrap();
    Manifest { path }
}

async fn app_trusting(path: &std::path::Path, only: bool) -> TestApp {
    spawn_app_with(Options {
        env: vec![
            ("TRUSTED_DOCUMENTS", path.display().to_string()),
            ("TRUSTED_DOCUMENTS_ONLY", only.to_string()),
        ],
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn apollos_link_is_told_to_send_the_text_once_then_the_hash_is_enough() {
    let app = spawn_app().await;
    let hash = sha256(CATALOG);

    let r = apollo_post(&app, None, &hash_only("Catalog", &hash)).await;
    assert_not_found(&r);

    let r = apollo_post(&app, None, &with_text("Catalog", CATALOG)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.data()["products"]["totalCount"], 0);

    let r = apollo_get(&app, "Catalog", &hash).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.data()["products"]["totalCount"], 0);
    let r = apollo_post(&app, None, &hash_only("Catalog", &hash)).await;
    assert_eq!(r.data()["products"]["totalCount"], 0);

    // With application/json too, and in a batch.
    let r = app.post_json(None, &hash_only("Catalog", &hash)).await;
    assert_eq!(r.data()["products"]["totalCount"], 0);
    let unknown = sha256("{ viewer { id } }");
    let r = app
        .post_json(
            None,
            &json!([hash_only("Catalog", &hash), hash_only("Viewer", &unknown)]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body[0]["data"]["products"]["totalCount"], 0);
    assert_eq!(
        r.body[1]["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );

    // An unknown hash over GET asks for the text the same way.
    assert_not_found(&apollo_get(&app, "Viewer", &unknown).await);
}

#[tokio::test]
async fn a_hash_that_does_not_match_its_text_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let wrong = sha256("{ viewer { id } }");
    let mut body = hash_only("Catalog", &wrong);
    body["query"] = json!(CATALOG);
    let r = apollo_post(&app, None, &body).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "BAD_REQUEST");
    assert_eq!(
        r.body["errors"][0]["message"],
        "provided sha does not match query"
    );
    assert_not_found(&apollo_post(&app, None, &hash_only("Catalog", &wrong)).await);
    assert_not_found(&apollo_post(&app, None, &hash_only("Catalog", &sha256(CATALOG))).await);

    // Nor does a version other than 1, or a hash that is no SHA-256.
    for extension in [
        json!({ "persistedQuery": { "version": 2, "sha256Hash": sha256(CATALOG) } }),
        json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc" } }),
        json!({ "persistedQuery": { "version": 1 } }),
        json!({ "persistedQuery": true }),
    ] {
        let body = json!({ "query": CATALOG, "extensions": extension });
        let r = app.post_json(None, &body).await;
        assert_eq!(r.error_code(), "BAD_REQUEST", "{extension}");
        let body = json!({ "extensions": extension });
        assert_eq!(app.post_json(None, &body).await.error_code(), "BAD_REQUEST");
    }
    assert_not_found(&apollo_post(&app, None, &hash_only("Catalog", &sha256(CATALOG))).await);

    // Without a hash, no query is still a malformed request.
    let r = app.post_json(None, &json!({ "variables": {} })).await;
    assert_eq!((r.status, r.error_code().as_str()), (400, "BAD_REQUEST"));
}

/// A document registered through its hash meets the same guards as one
/// sent as text, and is kept only if it passes them.
#[tokio::test]
async fn a_registered_document_meets_every_guard_and_is_kept_only_if_it_passes() {
    let app = spawn_app_with(Options {
        env: vec![("QUERY_MAX_DEPTH", "3".into())],
        ..Default::default()
    })
    .await;
    let deep = "query Deep { viewer { orders { nodes { id } } } }";
    let r = app.post_json(None, &with_text("Deep", deep)).await;
    assert_eq!(r.error_code(), "QUERY_TOO_COMPLEX");
    assert_not_found(&apollo_post(&app, None, &hash_only("Deep", &sha256(deep))).await);

    // A mutation named by its hash is still refused over GET.
    let mutation = "mutation Cancel { cancelOrder(input: { orderId: \"T3JkZXI6MQ==\" }) { userErrors { code } } }";
    let token = app.token("ann");
    let r = apollo_post(&app, Some(&token), &with_text("Cancel", mutation)).await;
    assert_eq!(r.user_error_codes("cancelOrder"), ["ORDER_NOT_FOUND"]);
    let r = apollo_get(&app, "Cancel", &sha256(mutation)).await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn trusted_documents_are_known_by_hash_from_the_start() {
    let manifest = manifest(&[CATALOG]);
    let app = app_trusting(&manifest.path, false).await;
    let r = apollo_post(&app, None, &hash_only("Catalog", &sha256(CATALOG))).await;
    assert_eq!(r.data()["products"]["totalCount"], 0);
    let r = apollo_get(&app, "Catalog", &sha256(CATALOG)).await;
    assert_eq!(r.data()["products"]["totalCount"], 0);
    // Other documents still run, and register as usual.
    let viewer = "query Viewer { viewer { id } }";
    let r = app.as_user("ann", viewer, json!({})).await;
    assert!(r.data()["viewer"]["id"].is_string());
    assert_not_found(&apollo_post(&app, None, &hash_only("Viewer", &sha256(viewer))).await);
    let token = app.token("ann");
    let r = apollo_post(&app, Some(&token), &with_text("Viewer", viewer)).await;
    assert!(r.data()["viewer"]["id"].is_string());
    let r = apollo_post(&app, Some(&token), &hash_only("Viewer", &sha256(viewer))).await;
    assert!(r.data()["viewer"]["id"].is_string());
}

#[tokio::test]
async fn trusted_documents_only_refuses_every_other_text_admins_included() {
    let admin_flow = "mutation AdminCreate($i: CreateProductInput!) { createProduct(input: $i) { product { name } } }";
    let manifest = manifest(&[CATALOG, admin_flow]);
    let app = app_trusting(&manifest.path, true).await;
    let admin = app.admin_token("boss");
    let input = json!({ "i": { "name": "Lamp", "price": "100", "stock": 1 } });

    // Not in the manifest: refused before anything runs, admin or not.
    let r = app.as_admin(CREATE_PRODUCT, input.clone()).await;
    assert_eq!(r.error_code(), "FORBIDDEN");
    assert!(r.body.get("data").is_none(), "{}", r.body);
    let r = apollo_post(
        &app,
        Some(&admin),
        &json!({ "query": CREATE_PRODUCT, "variables": input }),
    )
    .await;
    assert_eq!((r.status, r.error_code().as_str()), (400, "FORBIDDEN"));
    let r = app
        .gql(None, "{ products { totalCount } }", json!({}))
        .await;
    assert_eq!(r.error_code(), "FORBIDDEN");
    // Nor can it be registered through APQ; its hash stays unknown.
    let viewer = "query Viewer { viewer { id } }";
    let r = apollo_post(&app, Some(&admin), &with_text("Viewer", viewer)).await;
    assert_eq!(r.error_code(), "FORBIDDEN");
    assert_not_found(&apollo_post(&app, Some(&admin), &hash_only("Viewer", &sha256(viewer))).await);
    assert_eq!(app.count("SELECT count(*) FROM products").await, 0);

    // In the manifest: by hash, or by its exact text.
    let r = apollo_post(&app, None, &hash_only("Catalog", &sha256(CATALOG))).await;
    assert_eq!(r.data()["products"]["totalCount"], 0);
    let r = apollo_get(&app, "Catalog", &sha256(CATALOG)).await;
    assert_eq!(r.data()["products"]["totalCount"], 0);
    let r = app.gql(None, CATALOG, json!({})).await;
    assert_eq!(r.data()["products"]["totalCount"], 0);
    let r = apollo_post(&app, None, &with_text("Catalog", CATALOG)).await;
    assert_eq!(r.data()["products"]["totalCount"], 0);
    // The admin's operation the manifest holds runs, for admins only.
    let mut body = hash_only("AdminCreate", &sha256(admin_flow));
    body["variables"] = input.clone();
    let r = apollo_post(&app, Some(&admin), &body).await;
    assert_eq!(r.data()["createProduct"]["product"]["name"], "Lamp");
    let r = apollo_post(&app, Some(&app.token("ann")), &body).await;
    assert_eq!(r.error_code(), "FORBIDDEN");
    assert!(r.body["errors"][0]["path"].is_array(), "{}", r.body);
    assert_eq!(app.count("SELECT count(*) FROM products").await, 1);
    // An unknown hash is still asked for its text.
    assert_not_found(&apollo_post(&app, None, &hash_only("Other", &sha256("{ x }"))).await);
}

#[tokio::test]
async fn the_server_refuses_to_start_on_a_bad_manifest_naming_the_entry() {
    let wrong = sha256("{ viewer { id } }");
    let mut entries = serde_json::Map::new();
    entries.insert(sha256(CATALOG), json!(CATALOG));
    entries.insert(wrong.clone(), json!(CATALOG));
    let bad = write_manifest(&Value::Object(entries).to_string());
    // Before it touches the database (this one is unreachable).
    let mut server = Spawned::spawn(
        Command::new(env!("CARGO_BIN_EXE_commerce"))
            .env("TRUSTED_DOCUMENTS", &bad.path)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/never")
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let status = server.exited().await;
    assert_eq!(status.code(), Some(1), "it exits");
    let mut log = String::new();
    std::io::Read::read_to_string(&mut server.child.stdout.take().unwrap(), &mut log).unwrap();
    assert!(
        log.contains("startup failed") && log.contains("TRUSTED_DOCUMENTS") && log.contains(&wrong),
        "{log}"
    );
}

#[tokio::test]
async fn a_document_that_fails_validation_is_not_kept() {
    let app = spawn_app().await;
    let invalid = "query Nope { products { noSuchField } }";
    let r = apollo_post(&app, None, &with_text("Nope", invalid)).await;
    assert_eq!(r.error_code(), "BAD_REQUEST", "{}", r.body);
    // The hash alone is still unknown: nothing that fails was stored.
    let r = apollo_post(&app, None, &hash_only("Nope", &sha256(invalid))).await;
    assert_eq!(r.error_code(), "PERSISTED_QUERY_NOT_FOUND", "{}", r.body);
}
