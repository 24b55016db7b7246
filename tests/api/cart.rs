//! The cart: addCartItem, updateCartItem, removeCartItem and viewer.cart.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const ADD: &str = "mutation($i: AddCartItemInput!) { addCartItem(input: $i) {
    cart { totalQuantity subtotal items { product { id name } quantity lineTotal } }
    userErrors { code field message } } }";
const UPDATE: &str = "mutation($i: UpdateCartItemInput!) { updateCartItem(input: $i) {
    cart { totalQuantity subtotal items { quantity } } userErrors { code field message } } }";
const REMOVE: &str = "mutation($i: RemoveCartItemInput!) { removeCartItem(input: $i) {
    cart { totalQuantity items { quantity } } userErrors { code field message } } }";

fn item(product: &str, quantity: Value) -> Value {
    json!({"i": {"productId": product, "quantity": quantity}})
}

async fn cart_rows(app: &TestApp) -> Vec<(i64, i32)> {
    sqlx::query_as("SELECT product_id, quantity FROM cart_items ORDER BY product_id")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn lines_are_added_set_and_removed() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 1_500, 0).await;
    let mug = app.create_product("Mug", 12_000, 3).await;
    let r = app.as_user("alice", ADD, item(&tea, json!(2))).await;
    let cart = &r.data()["addCartItem"]["cart"];
    assert_eq!(
        cart["totalQuantity"], 2,
        "out of stock is fine: nothing is reserved"
    );
    assert_eq!(cart["items"][0]["product"]["name"], "Tea");
    assert_eq!(cart["items"][0]["lineTotal"], "3000");
    let r = app.as_user("alice", ADD, item(&tea, json!(3))).await;
    assert_eq!(r.data()["addCartItem"]["cart"]["items"][0]["quantity"], 5);
    let r = app.as_user("alice", ADD, item(&mug, json!(1))).await;
    let cart = &r.data()["addCartItem"]["cart"];
    assert_eq!(cart["totalQuantity"], 6);
    assert_eq!(cart["subtotal"], "19500");
    assert_eq!(cart["items"][1]["product"]["id"], mug, "oldest line first");

    let r = app.as_user("alice", UPDATE, item(&tea, json!(1))).await;
    assert_eq!(r.data()["updateCartItem"]["cart"]["subtotal"], "13500");
    let r = app.as_user("alice", UPDATE, item(&tea, json!(0))).await;
    assert_eq!(r.data()["updateCartItem"]["cart"]["totalQuantity"], 1);
    let r = app
        .as_user("alice", REMOVE, json!({"i": {"productId": mug}}))
        .await;
    assert_eq!(r.data()["removeCartItem"]["cart"]["items"], json!([]));
    let r = app
        .as_user("alice", REMOVE, json!({"i": {"productId": mug}}))
        .await;
    assert!(
        r.user_error_codes("removeCartItem").is_empty(),
        "removing what is not there is fine"
    );

    // Carts are per user, and viewer.cart shows the caller's.
    app.as_user("bob", ADD, item(&mug, json!(2))).await;
    let r = app
        .as_user(
            "bob",
            "{ viewer { cart { totalQuantity subtotal } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.data()["viewer"]["cart"]["subtotal"], "24000");
    let r = app
        .as_user("alice", "{ viewer { cart { totalQuantity } } }", json!({}))
        .await;
    assert_eq!(r.data()["viewer"]["cart"]["totalQuantity"], 0);
}

#[tokio::test]
async fn bad_cart_input_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 100, 5).await;
    app.as_user("alice", ADD, item(&tea, json!(999))).await;
    let before = cart_rows(&app).await;
    let missing = commerce::global_id::encode("Product", 999);
    let order = commerce::global_id::encode("Order", 1);
    for (mutation, vars, code, field) in [
        (
            "addCartItem",
            item(&tea, json!(0)),
            "INVALID_INPUT",
            "input.quantity",
        ),
        (
            "addCartItem",
            item(&tea, json!(-3)),
            "INVALID_INPUT",
            "input.quantity",
        ),
        (
            "addCartItem",
            item(&tea, json!(1001)),
            "INVALID_INPUT",
            "input.quantity",
        ),
        (
            "addCartItem",
            item(&tea, json!(2)),
            "INVALID_INPUT",
            "input.quantity",
        ),
        (
            "addCartItem",
            item(&missing, json!(1)),
            "PRODUCT_NOT_FOUND",
            "input.productId",
        ),
        (
            "addCartItem",
            item(&order, json!(1)),
            "INVALID_INPUT",
            "input.productId",
        ),
        (
            "updateCartItem",
            item(&tea, json!(-1)),
            "INVALID_INPUT",
            "input.quantity",
        ),
        (
            "updateCartItem",
            item(&tea, json!(1001)),
            "INVALID_INPUT",
            "input.quantity",
        ),
        (
            "updateCartItem",
            item(&missing, json!(1)),
            "PRODUCT_NOT_FOUND",
            "input.productId",
        ),
        (
            "removeCartItem",
            json!({"i": {"productId": missing}}),
            "PRODUCT_NOT_FOUND",
            "input.productId",
        ),
        (
            "removeCartItem",
            json!({"i": {"productId": "x"}}),
            "INVALID_INPUT",
            "input.productId",
        ),
    ] {
        let query = match mutation {
            "addCartItem" => ADD,
            "updateCartItem" => UPDATE,
            _ => REMOVE,
        };
        let r = app.as_user("alice", query, vars.clone()).await;
        assert_eq!(r.user_error_codes(mutation), [code], "{mutation} {vars}");
        assert_eq!(r.user_error_fields(mutation), [field], "{mutation} {vars}");
        assert!(r.data()[mutation]["cart"].is_null());
    }
    let r = app.gql(None, ADD, item(&tea, json!(1))).await;
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
    assert_eq!(cart_rows(&app).await, before);
}

#[tokio::test]
async fn a_cart_holds_at_most_a_hundred_products() {
    let app = spawn_app().await;
    sqlx::query(
        "INSERT INTO products (name, price, stock) SELECT 'p' || i, 1, 1 FROM generate_series(1, 101) i",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let alice = app.user_id("alice").await;
    sqlx::query(
        "INSERT INTO cart_items (user_id, product_id, quantity)
         SELECT $1, id, 1 FROM products ORDER BY id LIMIT 100",
    )
    .bind(alice)
    .execute(&app.pool)
    .await
    .unwrap();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM products ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let last = commerce::global_id::encode("Product", ids[100]);
    let r = app.as_user("alice", ADD, item(&last, json!(1))).await;
    assert_eq!(r.user_error_codes("addCartItem"), ["INVALID_INPUT"]);
    assert_eq!(r.user_error_fields("addCartItem"), ["input.productId"]);
    // A product already in the cart can still change.
    let first = commerce::global_id::encode("Product", ids[0]);
    let r = app.as_user("alice", ADD, item(&first, json!(1))).await;
    assert!(r.user_error_codes("addCartItem").is_empty());
    assert_eq!(app.count("SELECT count(*) FROM cart_items").await, 100);
}
