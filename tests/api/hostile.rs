//! Requests written to take the server down: deep nesting, fragment webs,
//! hidden mutation fields, lists that multiply a response, NUL bytes,
//! out-of-range dates. Each is refused with a coded error, at once, and the
//! server goes on answering.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, spawn_app, spawn_app_with};

/// The refusals below must come at once. Far above what they take (a few
/// milliseconds), far below what they took before the guards (a crash, or
/// seconds to minutes of CPU), so that a noisy machine cannot fail them.
const AT_ONCE: Duration = Duration::from_secs(1);

/// Posts `query` and checks that it is refused with `code` at once.
async fn refused_at_once(app: &TestApp, query: &str, code: &str) -> Value {
    let started = Instant::now();
    let r = app.gql(None, query, json!({})).await;
    let took = started.elapsed();
    assert_eq!(r.error_code(), code, "{}", r.body);
    assert!(took < AT_ONCE, "refused in {took:?}");
    r.body
}

async fn assert_alive(app: &TestApp) {
    assert_eq!(app.get("/healthz").await.status(), 200, "the server lives");
}

fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

#[tokio::test]
async fn deeply_nested_values_are_refused_before_parsing() {
    let app = spawn_app().await;
    let list = nested("[", "1", "]", 1600);
    let object = nested("{a: ", "1", "}", 2000);
    let documents = [
        format!("{{ product(id: {list}) {{ id }} }}"),
        format!("{{ product(id: {object}) {{ id }} }}"),
        format!("query($v: ID = {list}) {{ product(id: $v) {{ id }} }}"),
        format!("{{ product(id: \"UHJvZHVjdDox\") @include(if: {list}) {{ id }} }}"),
    ];
    for document in &documents {
        refused_at_once(&app, document, "QUERY_TOO_COMPLEX").await;
    }
    // The same over GET.
    let token = app.token("mallory");
    let r = app
        .get_graphql(&token, &[("query", documents[0].as_str())])
        .await;
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
    // Variables nested as deep are refused too (JSON's own bound is
    // deeper than ours).
    let mut value = json!("UHJvZHVjdDox");
    for _ in 0..100 {
        value = json!([value]);
    }
    let r = app
        .gql(
            None,
            "query($v: ID!) { product(id: $v) { id } }",
            json!({ "v": value }),
        )
        .await;
    assert_eq!(r.error_code(), "QUERY_TOO_COMPLEX", "{}", r.body);
    // An 80-deep selection is refused like a 16-deep one.
    let deep = nested("{ a ", "", "}", 80);
    refused_at_once(&app, &deep, "QUERY_TOO_COMPLEX").await;
    assert_alive(&app).await;
}

/// `query { ...L0 } fragment L0 on Query { ...L1 ...L1 } ...`: each
/// fragment spreads the next `fan_out` times.
fn fragment_web(levels: usize, fan_out: usize) -> String {
    let mut text = String::from("query { ...L0 }");
    for level in 0..levels - 1 {
        let spreads = format!(" ...L{}", level + 1).repeat(fan_out);
        text += &format!(" fragment L{level} on Query {{{spreads} }}");
    }
    text + &format!(" fragment L{} on Query {{ __typename }}", levels - 1)
}

#[tokio::test]
async fn fragment_webs_are_refused_at_once() {
    let app = spawn_app().await;
    let doubling = fragment_web(25, 2);
    assert!(doubling.len() < 1_100, "the issue's 984-byte document");
    let body = refused_at_once(&app, &doubling, "QUERY_TOO_COMPLEX").await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("fields")),
        "{body}"
    );
    refused_at_once(&app, &fragment_web(15, 3), "QUERY_TOO_COMPLEX").await;
    // Two at once, as in the report, leave the server answering.
    let (a, b) = tokio::join!(
        app.gql(None, &doubling, json!({})),
        app.gql(None, &doubling, json!({}))
    );
    assert_eq!(
        (a.error_code(), b.error_code()),
        ("QUERY_TOO_COMPLEX".into(), "QUERY_TOO_COMPLEX".into())
    );
    assert_alive(&app).await;
    // A document that spreads a fragment in itself is a bad request.
    refused_at_once(
        &app,
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        "BAD_REQUEST",
    )
    .await;
}

#[tokio::test]
async fn mutation_fields_hidden_deep_in_fragments_are_counted() {
    let app = spawn_app().await;
    let fields: String = (0..1000)
        .map(|i| format!("c{i}:chargeBalance(input:{{amount:\"1\"}}){{__typename}} "))
        .collect();
    let mut document = String::from("mutation { ...F0 }");
    for level in 0..9 {
        document += &format!(" fragment F{level} on Mutation {{ ...F{} }}", level + 1);
    }
    document += &format!(" fragment F9 on Mutation {{ {fields}}}");
    let r = app
        .gql(Some(&app.token("mallory")), &document, json!({}))
        .await;
    assert_eq!(r.error_code(), "QUERY_TOO_COMPLEX", "{}", r.body);
    assert_eq!(
        app.count("SELECT count(*) FROM balance_ledger").await,
        0,
        "nothing was charged"
    );
}

#[tokio::test]
async fn every_list_a_response_multiplies_counts_in_its_complexity() {
    let app = spawn_app().await;
    let token = app.token("mallory");
    let me = app.user_id("mallory").await;
    let id = commerce::global_id::encode(commerce::global_id::types::USER, me);
    let ids = vec![id; 100];
    // 100 aliases x 100 ids of the caller's own user, each with 100 orders.
    let aliases: String = (0..100)
        .map(|i| format!("n{i}: nodes(ids: $ids) {{ ... on User {{ orders(first: 100) {{ nodes {{ id }} }} }} }} "))
        .collect();
    let r = app
        .gql(
            Some(&token),
            &format!("query($ids: [ID!]!) {{ {aliases} }}"),
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(r.error_code(), "QUERY_TOO_COMPLEX", "{}", r.body);
    // One `nodes` of 100 ids alone passes.
    let r = app
        .gql(
            Some(&token),
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(r.data()["nodes"].as_array().map(Vec::len), Some(100));
}

#[tokio::test]
async fn a_response_over_its_size_limit_is_not_sent() {
    let app = spawn_app_with(Options {
        env: vec![("RESPONSE_MAX_BYTES", "2000".into())],
        ..Default::default()
    })
    .await;
    for i in 0..40 {
        app.create_product(&format!("product number {i}"), 100, 1)
            .await;
    }
    let r = app
        .gql(None, "{ products(first: 5) { nodes { name } } }", json!({}))
        .await;
    assert_eq!(
        r.data()["products"]["nodes"].as_array().map(Vec::len),
        Some(5)
    );
    let r = app
        .gql(
            None,
            "{ products(first: 40) { nodes { id name price stock createdAt } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.error_code(), "QUERY_TOO_COMPLEX", "{}", r.body);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2000 bytes")),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn nul_bytes_are_invalid_input_not_internal_errors() {
    let app = spawn_app().await;
    let r = app
        .as_user(
            "ann",
            "mutation($i: ChargeBalanceInput!) { chargeBalance(input: $i) { userErrors { code field } } }",
            json!({ "i": { "amount": "100", "idempotencyKey": "key\u{0}" } }),
        )
        .await;
    assert_eq!(r.user_error_codes("chargeBalance"), ["INVALID_INPUT"]);
    assert_eq!(
        r.user_error_fields("chargeBalance"),
        ["input.idempotencyKey"]
    );
    let r = app
        .as_admin(
            "mutation($i: CreateProductInput!) { createProduct(input: $i) { userErrors { code field } } }",
            json!({ "i": { "name": "Mug\u{0}", "price": "100", "stock": 1 } }),
        )
        .await;
    assert_eq!(r.user_error_codes("createProduct"), ["INVALID_INPUT"]);
    assert_eq!(app.count("SELECT count(*) FROM products").await, 0);
    let token = app.token("mallory\u{0}");
    let r = app.gql(Some(&token), "{ viewer { id } }", json!({})).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE subject LIKE 'mallory%'")
            .await,
        0
    );
}

#[tokio::test]
async fn datetimes_rfc_3339_cannot_write_back_are_refused() {
    let app = spawn_app().await;
    let create = "mutation($i: CreateCouponInput!) { createCoupon(input: $i) { coupon { validFrom } userErrors { code } } }";
    for outside in ["9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00Z"] {
        let r = app
            .as_admin(
                create,
                json!({ "i": { "name": "x", "discountType": "FIXED_AMOUNT", "discountValue": 1,
                                "totalQuantity": 1, "validFrom": outside } }),
            )
            .await;
        assert_eq!(r.error_code(), "BAD_REQUEST", "{outside}: {}", r.body);
    }
    assert_eq!(app.count("SELECT count(*) FROM coupons").await, 0);
}
