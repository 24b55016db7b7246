//! Bearer-token authentication, users created on first sight, admin gating.

use serde_json::json;

use crate::helpers::app::expired_token;
use crate::helpers::spawn_app;

const VIEWER: &str = "{ viewer { id subject balance } }";

#[tokio::test]
async fn a_valid_token_names_the_viewer_and_creates_them_with_zero_balance() {
    let app = spawn_app().await;
    let r = app.as_user("alice", VIEWER, json!({})).await;
    assert_eq!(r.data()["viewer"]["subject"], "alice");
    assert_eq!(r.data()["viewer"]["balance"], "0");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE subject = 'alice'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn the_viewer_without_a_token_is_unauthenticated() {
    let app = spawn_app().await;
    let r = app.gql(None, VIEWER, json!({})).await;
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
    assert!(r.body["data"].is_null());
}

#[tokio::test]
async fn an_empty_or_blank_authorization_header_is_anonymous() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    for header in ["", " ", "\t "] {
        let r = client
            .post(format!("{}/graphql", app.address))
            .header("Authorization", header)
            .json(&json!({ "query": "{ products { totalCount } viewer { id } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{header:?}");
        let body: serde_json::Value = r.json().await.unwrap();
        // The public field answers; the one that needs a caller says so.
        assert!(body["data"]["products"]["totalCount"].is_number(), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
    // "Bearer" with no token is still a malformed header, not anonymous.
    let r = client
        .post(format!("{}/graphql", app.address))
        .header("Authorization", "Bearer ")
        .json(&json!({ "query": "{ products { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated_with_401() {
    let app = spawn_app().await;
    let other_key = commerce::auth::Authenticator::new("not the server's secret")
        .issue("mallory", true, 60)
        .unwrap();
    let expired = expired_token("a");
    for token in [other_key.as_str(), expired.as_str(), "not-a-jwt", "a.b.c"] {
        let r = app
            .gql(Some(token), "{ products { totalCount } }", json!({}))
            .await;
        assert_eq!(r.status, 401, "{token}");
        assert_eq!(r.error_code(), "UNAUTHENTICATED", "{token}");
    }
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(none, 0, "no user was created by a bad token");
}

#[tokio::test]
async fn fifty_racing_first_requests_create_the_user_once() {
    let app = std::sync::Arc::new(spawn_app().await);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.as_user("newcomer", VIEWER, json!({})).await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let r = task.await.unwrap();
        ids.insert(r.data()["viewer"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "every request saw the same user");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE subject = 'newcomer'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn catalog_mutations_need_the_admin_role() {
    let app = spawn_app().await;
    let create = "mutation { createProduct(input: {name: \"x\", price: \"1\", stock: 1}) { product { id } } }";
    let r = app.as_user("bob", create, json!({})).await;
    assert_eq!(r.error_code(), "FORBIDDEN");
    let r = app.gql(None, create, json!({})).await;
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
    let id = app.create_product("Tea", 100, 5).await;
    let adjust = "mutation($id: ID!) { adjustStock(input: {productId: $id, delta: 5}) { product { stock } } }";
    let r = app.as_user("bob", adjust, json!({ "id": id })).await;
    assert_eq!(r.error_code(), "FORBIDDEN");
    let products: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let stock: i32 = sqlx::query_scalar("SELECT stock FROM products")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((products, stock), (1, 5), "nothing changed");
}
