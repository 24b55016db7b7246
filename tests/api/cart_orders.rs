//! createOrderFromCart: the cart's lines through createOrder's rules,
//! CART_EMPTY, idempotency, and the cart leaving when the order is paid.

use std::sync::Arc;

use async_graphql::futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const FROM_CART: &str = "mutation($i: CreateOrderFromCartInput!) { createOrderFromCart(input: $i) {
    order { id status totalAmount items { product { id } quantity unitPrice } }
    userErrors { code field message } } }";
const ADD: &str =
    "mutation($i: AddCartItemInput!) { addCartItem(input: $i) { userErrors { code } } }";

async fn add(app: &TestApp, sub: &str, product: &str, quantity: i32) {
    let r = app
        .as_user(
            sub,
            ADD,
            json!({"i": {"productId": product, "quantity": quantity}}),
        )
        .await;
    assert_eq!(
        r.user_error_codes("addCartItem"),
        Vec::<String>::new(),
        "{}",
        r.body
    );
}

fn order_of(r: &crate::helpers::Gql) -> &Value {
    &r.data()["createOrderFromCart"]["order"]
}

#[tokio::test]
async fn the_cart_becomes_a_pending_order_at_todays_prices_and_leaves_when_paid() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 1_500, 10).await;
    let mug = app.create_product("Mug", 12_000, 3).await;
    add(&app, "alice", &tea, 4).await;
    add(&app, "alice", &mug, 1).await;
    let r = app.as_user("alice", FROM_CART, json!({"i": {}})).await;
    let order = order_of(&r);
    assert_eq!(order["status"], "PENDING", "{}", r.body);
    assert_eq!(order["totalAmount"], "18000");
    let mut lines: Vec<(String, i64, String)> = order["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["product"]["id"].as_str().unwrap().to_owned(),
                l["quantity"].as_i64().unwrap(),
                l["unitPrice"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    lines.sort();
    let mut expected = vec![
        (tea.clone(), 4, "1500".to_owned()),
        (mug.clone(), 1, "12000".to_owned()),
    ];
    expected.sort();
    assert_eq!(lines, expected);
    // Ordering leaves the cart as it is; paying takes the lines out.
    assert_eq!(app.count("SELECT count(*) FROM cart_items").await, 2);
    app.charge("alice", 18_000).await;
    let paid = app.pay("alice", order["id"].as_str().unwrap(), None).await;
    assert_eq!(
        paid.data()["payOrder"]["order"]["status"],
        "PAID",
        "{}",
        paid.body
    );
    assert_eq!(app.count("SELECT count(*) FROM cart_items").await, 0);
    app.assert_invariants().await;
}

#[tokio::test]
async fn an_empty_cart_is_cart_empty_and_creates_nothing() {
    let app = spawn_app().await;
    let r = app.as_user("alice", FROM_CART, json!({"i": {}})).await;
    assert_eq!(r.user_error_codes("createOrderFromCart"), ["CART_EMPTY"]);
    assert!(order_of(&r).is_null());
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 0);
    let r = app.gql(None, FROM_CART, json!({"i": {}})).await;
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn cart_lines_meet_create_orders_rules() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 1_500, 10).await;
    let mug = app.create_product("Mug", 12_000, 3).await;
    add(&app, "alice", &tea, 5).await;
    add(&app, "alice", &mug, 3).await;
    // The stock fell under the cart's line since it was added.
    let r = app
        .as_admin(
            "mutation($i: AdjustStockInput!) { adjustStock(input: $i) { userErrors { code } } }",
            json!({"i": {"productId": mug, "delta": -2}}),
        )
        .await;
    assert!(r.body["errors"].is_null(), "{}", r.body);
    let r = app.as_user("alice", FROM_CART, json!({"i": {}})).await;
    let errors = &r.data()["createOrderFromCart"]["userErrors"];
    assert_eq!(
        r.user_error_codes("createOrderFromCart"),
        ["PRODUCT_OUT_OF_STOCK"],
        "{}",
        r.body
    );
    // Not an input of the request: the message names the product instead.
    assert!(errors[0]["field"].is_null(), "{errors}");
    assert!(
        errors[0]["message"].as_str().unwrap().contains(&mug),
        "{errors}"
    );
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 0);
}

#[tokio::test]
async fn a_key_replays_the_first_order_even_once_the_cart_is_gone() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 1_500, 10).await;
    add(&app, "alice", &tea, 2).await;
    let key = json!({"i": {"idempotencyKey": "cart-1"}});
    let first = app.as_user("alice", FROM_CART, key.clone()).await;
    let id = order_of(&first)["id"].as_str().unwrap().to_owned();
    app.charge("alice", 3_000).await;
    app.pay("alice", &id, None).await;
    // Paid, so the cart is empty: the retry still answers the order.
    let again = app.as_user("alice", FROM_CART, key.clone()).await;
    assert_eq!(order_of(&again)["id"], id.as_str(), "{}", again.body);
    assert_eq!(order_of(&again)["status"], "PAID");
    // Another user's key of the same name is theirs alone.
    let bob = app.as_user("bob", FROM_CART, key).await;
    assert_eq!(bob.user_error_codes("createOrderFromCart"), ["CART_EMPTY"]);
    // A malformed key changes nothing.
    add(&app, "alice", &tea, 1).await;
    let bad = app
        .as_user(
            "alice",
            FROM_CART,
            json!({"i": {"idempotencyKey": "nul\u{0}key"}}),
        )
        .await;
    assert_eq!(
        bad.user_error_codes("createOrderFromCart"),
        ["INVALID_INPUT"]
    );
    assert_eq!(
        bad.user_error_fields("createOrderFromCart"),
        ["input.idempotencyKey"]
    );
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 1);
}

#[tokio::test]
async fn twenty_racing_retries_of_one_key_create_one_order() {
    let app = Arc::new(spawn_app().await);
    let tea = app.create_product("Tea", 1_500, 10).await;
    add(&app, "alice", &tea, 2).await;
    let tries = (0..20).map(|_| {
        let app = app.clone();
        tokio::spawn(async move {
            let r = app
                .as_user("alice", FROM_CART, json!({"i": {"idempotencyKey": "race"}}))
                .await;
            order_of(&r)["id"].as_str().map(str::to_owned)
        })
    });
    let ids: Vec<Option<String>> = join_all(tries)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        ids.iter().all(|id| id.is_some() && *id == ids[0]),
        "{ids:?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 1);
}
