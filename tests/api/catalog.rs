//! The catalog: createProduct, adjustStock, products, product and node.

use serde_json::{Value, json};

use crate::helpers::wait::wait_until;
use crate::helpers::{TestApp, spawn_app};

const CREATE: &str = "mutation($i: CreateProductInput!) {
    createProduct(input: $i) { product { id name price stock } userErrors { code field message } } }";
const ADJUST: &str = "mutation($i: AdjustStockInput!) {
    adjustStock(input: $i) { product { id stock } userErrors { code field message } } }";

async fn stock_of(app: &TestApp, id: &str) -> i32 {
    sqlx::query_scalar("SELECT stock FROM products WHERE id = $1")
        .bind(TestApp::db_id(id))
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_created_product_is_listed_and_fetchable() {
    let app = spawn_app().await;
    let r = app
        .as_admin(
            CREATE,
            json!({"i": {"name": "  Green tea ", "price": "15000", "stock": 7}}),
        )
        .await;
    let product = &r.data()["createProduct"]["product"];
    assert_eq!(product["name"], "Green tea", "names are trimmed");
    assert_eq!(product["price"], "15000");
    assert_eq!(product["stock"], 7);
    let id = product["id"].as_str().unwrap();

    let r = app.gql(None, "query($id: ID!) { product(id: $id) { name } node(id: $id) { id ... on Product { price } } }",
        json!({"id": id})).await;
    assert_eq!(r.data()["product"]["name"], "Green tea");
    assert_eq!(r.data()["node"]["id"], id);
    assert_eq!(r.data()["node"]["price"], "15000");

    // Ints are accepted for Money too.
    let r = app
        .as_admin(
            CREATE,
            json!({"i": {"name": "Mug", "price": 12000, "stock": 1}}),
        )
        .await;
    assert_eq!(r.data()["createProduct"]["product"]["price"], "12000");
}

#[tokio::test]
async fn bad_product_input_reports_every_field_and_creates_nothing() {
    let app = spawn_app().await;
    let r = app
        .as_admin(
            CREATE,
            json!({"i": {"name": "", "price": "-1", "stock": -3}}),
        )
        .await;
    assert_eq!(r.user_error_codes("createProduct"), ["INVALID_INPUT"; 3]);
    assert_eq!(
        r.user_error_fields("createProduct"),
        ["input.name", "input.price", "input.stock"]
    );
    assert!(r.data()["createProduct"]["product"].is_null());
    let r = app
        .as_admin(
            CREATE,
            json!({"i": {"name": "x".repeat(201), "price": "1000000000001", "stock": 0}}),
        )
        .await;
    assert_eq!(
        r.user_error_fields("createProduct"),
        ["input.name", "input.price"]
    );
    // Not a number at all: a GraphQL validation error.
    let r = app
        .as_admin(
            CREATE,
            json!({"i": {"name": "x", "price": "12.5", "stock": 0}}),
        )
        .await;
    assert_eq!(r.error_code(), "BAD_REQUEST");
    let r = app
        .as_admin(
            CREATE,
            json!({"i": {"name": "x", "price": "99999999999999999999", "stock": 0}}),
        )
        .await;
    assert_eq!(r.error_code(), "BAD_REQUEST");
    let r = app
        .as_admin(
            CREATE,
            json!({"i": {"name": "x", "price": "1", "stock": 2147483648u64}}),
        )
        .await;
    assert_eq!(r.error_code(), "BAD_REQUEST");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn stock_moves_by_delta_and_never_below_zero() {
    let app = spawn_app().await;
    let id = app.create_product("Beans", 100, 5).await;
    let r = app
        .as_admin(ADJUST, json!({"i": {"productId": id, "delta": 10}}))
        .await;
    assert_eq!(r.data()["adjustStock"]["product"]["stock"], 15);
    let r = app
        .as_admin(ADJUST, json!({"i": {"productId": id, "delta": -15}}))
        .await;
    assert_eq!(r.data()["adjustStock"]["product"]["stock"], 0);
    let r = app
        .as_admin(ADJUST, json!({"i": {"productId": id, "delta": -1}}))
        .await;
    assert_eq!(r.user_error_codes("adjustStock"), ["INVALID_INPUT"]);
    assert_eq!(r.user_error_fields("adjustStock"), ["input.delta"]);
    assert_eq!(stock_of(&app, &id).await, 0);
    app.as_admin(ADJUST, json!({"i": {"productId": id, "delta": i32::MAX}}))
        .await;
    let r = app
        .as_admin(ADJUST, json!({"i": {"productId": id, "delta": 1}}))
        .await;
    assert_eq!(
        r.user_error_codes("adjustStock"),
        ["INVALID_INPUT"],
        "no overflow past i32::MAX"
    );
    assert_eq!(stock_of(&app, &id).await, i32::MAX);
}

#[tokio::test]
async fn adjusting_a_missing_or_mistyped_product_is_a_user_error() {
    let app = spawn_app().await;
    let missing = commerce::global_id::encode("Product", 999);
    let r = app
        .as_admin(ADJUST, json!({"i": {"productId": missing, "delta": 1}}))
        .await;
    assert_eq!(r.user_error_codes("adjustStock"), ["PRODUCT_NOT_FOUND"]);
    assert_eq!(r.user_error_fields("adjustStock"), ["input.productId"]);
    for bad in [commerce::global_id::encode("User", 1), "garbage".to_owned()] {
        let r = app
            .as_admin(ADJUST, json!({"i": {"productId": bad, "delta": 1}}))
            .await;
        assert_eq!(r.user_error_codes("adjustStock"), ["INVALID_INPUT"]);
    }
}

#[tokio::test]
async fn concurrent_stock_removals_never_oversell() {
    let app = std::sync::Arc::new(spawn_app().await);
    let id = app.create_product("Limited", 100, 10).await;
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let (app, id) = (app.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            app.as_admin(ADJUST, json!({"i": {"productId": id, "delta": -1}}))
                .await
        }));
    }
    let mut removed = 0;
    for t in tasks {
        let r = t.await.unwrap();
        if r.data()["adjustStock"]["product"].is_object() {
            removed += 1;
        } else {
            assert_eq!(r.user_error_codes("adjustStock"), ["INVALID_INPUT"]);
        }
    }
    assert_eq!(removed, 10);
    assert_eq!(stock_of(&app, &id).await, 0);
}

fn names(page: &Value) -> Vec<String> {
    page["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn products_page_newest_first_both_ways() {
    let app = spawn_app().await;
    for i in 1..=5 {
        app.create_product(&format!("p{i}"), 100, 1).await;
    }
    let q = "query($f: Int, $a: String, $l: Int, $b: String) {
        products(first: $f, after: $a, last: $l, before: $b) {
            totalCount nodes { name } edges { cursor node { name } }
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    let r = app.gql(None, q, json!({"f": 2})).await;
    let page = &r.data()["products"];
    assert_eq!(names(page), ["p5", "p4"]);
    assert_eq!(page["totalCount"], 5);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["edges"][1]["node"]["name"], "p4");
    let end = page["pageInfo"]["endCursor"].as_str().unwrap().to_owned();

    let r = app.gql(None, q, json!({"f": 10, "a": end})).await;
    let page = &r.data()["products"];
    assert_eq!(names(page), ["p3", "p2", "p1"]);
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], true);
    let start = page["pageInfo"]["startCursor"].as_str().unwrap().to_owned();

    let r = app.gql(None, q, json!({"l": 1, "b": start})).await;
    let page = &r.data()["products"];
    assert_eq!(names(page), ["p4"]);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], true);

    let r = app.gql(None, q, json!({"l": 2})).await;
    assert_eq!(names(&r.data()["products"]), ["p2", "p1"]);
}

#[tokio::test]
async fn page_sizes_and_cursors_are_checked() {
    let app = spawn_app().await;
    for args in [
        "first: 101",
        "first: -1",
        "last: 101",
        "first: 1, last: 1",
        "after: \"bogus\"",
    ] {
        let r = app
            .gql(
                None,
                &format!("{{ products({args}) {{ nodes {{ id }} }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(r.error_code(), "BAD_REQUEST", "{args}");
    }
    let r = app
        .gql(None, "{ products(first: 100) { nodes { id } } }", json!({}))
        .await;
    assert!(r.data()["products"]["nodes"].is_array());
}

#[tokio::test]
async fn unknown_and_foreign_ids_read_as_null() {
    let app = spawn_app().await;
    let user_id = app
        .as_user("alice", "{ viewer { id } }", json!({}))
        .await
        .data()["viewer"]["id"]
        .clone();
    let q = "query($id: ID!) { product(id: $id) { id } node(id: $id) { id } }";
    for id in [
        json!("garbage"),
        json!(commerce::global_id::encode("Product", 42)),
        user_id.clone(),
    ] {
        let r = app.gql(None, q, json!({"id": id})).await;
        assert!(
            r.data()["product"].is_null() && r.data()["node"].is_null(),
            "{id}"
        );
    }
    // A user is visible to themselves only.
    let own = app.as_user("alice", q, json!({"id": user_id})).await;
    assert_eq!(own.data()["node"]["id"], user_id);
    let other = app.as_user("bob", q, json!({"id": user_id})).await;
    assert!(other.data()["node"].is_null());
    let r = app
        .gql(
            None,
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({"ids": ["x", "y"]}),
        )
        .await;
    assert_eq!(r.data()["nodes"], json!([null, null]));
}

#[tokio::test]
async fn a_clean_query_keeps_its_connection_warm_for_a_short_while() {
    // A query that went well leaves its connection for the next query
    // (skipping the pool's release ping); one that failed gives it back to
    // the pool; a kept connection goes back after a second unused.
    let app = spawn_app().await;
    let warm = &app.state.db().warm_reads;
    let reads = "{ products(first: 1) { totalCount } }";
    for _ in 0..3 {
        let r = app.gql(None, reads, json!({})).await;
        assert_eq!(r.data()["products"]["totalCount"], 0);
        assert_eq!(warm.len(), 1, "one connection, kept and reused");
    }
    let r = app
        .gql(
            None,
            "{ products(first: 1) { totalCount } viewer { id } }",
            json!({}),
        )
        .await;
    assert_eq!(r.error_codes(), ["UNAUTHENTICATED"], "{}", r.body);
    assert!(
        warm.is_empty(),
        "a failed query's connection goes back to the pool"
    );
    app.gql(None, reads, json!({})).await;
    assert_eq!(warm.len(), 1);
    // Unused, it is swept back to the pool (after a second).
    wait_until("the warm connection to go back to the pool", async || {
        warm.is_empty()
    })
    .await;
}
