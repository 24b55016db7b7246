//! Product upkeep: updateProduct and archiveProduct, their rules and bad
//! input, what an archived product may still do, and their races with
//! orders and payments over two app instances on one database.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::helpers::races::{joined, two_instances};
use crate::helpers::wait::wait_until;
use crate::helpers::{TestApp, buyers, spawn_app};

const UPDATE: &str = "mutation($i: UpdateProductInput!) { updateProduct(input: $i) {
    product { id name description price stock archivedAt } userErrors { code field message } } }";
const ARCHIVE: &str = "mutation($i: ArchiveProductInput!) { archiveProduct(input: $i) {
    product { id name archivedAt } userErrors { code field message } } }";
const ADJUST: &str = "mutation($i: AdjustStockInput!) { adjustStock(input: $i) {
    product { stock archivedAt } userErrors { code field } } }";
const ADD_TO_CART: &str = "mutation($i: AddCartItemInput!) { addCartItem(input: $i) {
    userErrors { code field } } }";
const UPDATE_CART: &str = "mutation($i: UpdateCartItemInput!) { updateCartItem(input: $i) {
    userErrors { code field } } }";
const ORDER: &str = "mutation($i: CreateOrderInput!) { createOrder(input: $i) {
    order { id } userErrors { code field } } }";

/// (name, description, price, stock, archived_at is set) as stored.
async fn stored(app: &TestApp, id: &str) -> (String, String, i64, i32, bool) {
    sqlx::query_as(
        "SELECT name, description, price, stock, archived_at IS NOT NULL FROM products WHERE id = $1",
    )
    .bind(TestApp::db_id(id))
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_admin_updates_what_is_given_and_orders_keep_their_prices() {
    let app = spawn_app().await;
    let id = app.create_product("Mug", 800, 10).await;
    app.charge("alice", 10_000).await;
    let order = app.create_order("alice", &[(&id, 2)]).await;

    let r = app
        .as_admin(
            UPDATE,
            json!({"i": {"productId": id, "price": "950", "description": " Stoneware, 300 ml \n"}}),
        )
        .await;
    let product = &r.data()["updateProduct"]["product"];
    assert_eq!(product["price"], "950");
    assert_eq!(product["description"], "Stoneware, 300 ml", "trimmed");
    assert_eq!(product["name"], "Mug", "omitted fields are kept");
    let r = app
        .as_admin(
            UPDATE,
            json!({"i": {"productId": id, "name": " Big mug ", "price": null}}),
        )
        .await;
    assert_eq!(r.data()["updateProduct"]["product"]["name"], "Big mug");
    assert_eq!(r.data()["updateProduct"]["product"]["price"], "950");
    assert_eq!(
        stored(&app, &id).await,
        ("Big mug".into(), "Stoneware, 300 ml".into(), 950, 10, false)
    );

    let r = app
        .as_user(
            "alice",
            "query($id: ID!) { node(id: $id) { ... on Order { totalAmount items { unitPrice product { price name } } } } }",
            json!({"id": order}),
        )
        .await;
    let found = &r.data()["node"];
    assert_eq!(found["totalAmount"], "1600", "the order keeps its price");
    assert_eq!(found["items"][0]["unitPrice"], "800");
    assert_eq!(found["items"][0]["product"]["price"], "950");
    assert_eq!(found["items"][0]["product"]["name"], "Big mug");
    let paid = app.pay("alice", &order, None).await;
    assert_eq!(paid.user_error_codes("payOrder"), Vec::<String>::new());
    assert_eq!(app.balance_and_ledger("alice").await, (8_400, 8_400));
    app.assert_invariants().await;
}

#[tokio::test]
async fn bad_updates_are_refused_at_their_field_and_change_nothing() {
    let app = spawn_app().await;
    let id = app.create_product("Mug", 800, 10).await;
    let order = {
        app.charge("alice", 1_000).await;
        app.create_order("alice", &[(&id, 1)]).await
    };
    let before = stored(&app, &id).await;
    let cases: Vec<(Value, Vec<&str>, Vec<&str>)> = vec![
        (
            json!({"price": "0"}),
            vec!["INVALID_INPUT"],
            vec!["input.price"],
        ),
        (
            json!({"price": "1000000000001"}),
            vec!["INVALID_INPUT"],
            vec!["input.price"],
        ),
        (
            json!({"name": "  ", "description": "x".repeat(5_001), "price": 0}),
            vec!["INVALID_INPUT"; 3],
            vec!["input.name", "input.description", "input.price"],
        ),
        (
            json!({"description": "nul \u{0} inside"}),
            vec!["INVALID_INPUT"],
            vec!["input.description"],
        ),
        (
            json!({"productId": order, "price": "5"}),
            vec!["INVALID_INPUT"],
            vec!["input.productId"],
        ),
        (
            json!({"productId": "garbage", "price": "5"}),
            vec!["INVALID_INPUT"],
            vec!["input.productId"],
        ),
        (
            json!({"productId": commerce::global_id::encode("Product", 999_999), "price": "5"}),
            vec!["PRODUCT_NOT_FOUND"],
            vec!["input.productId"],
        ),
    ];
    for (changes, codes, fields) in cases {
        let mut input = json!({"productId": id});
        for (k, v) in changes.as_object().unwrap() {
            input[k] = v.clone();
        }
        let r = app.as_admin(UPDATE, json!({"i": input})).await;
        assert_eq!(r.user_error_codes("updateProduct"), codes, "{changes}");
        assert_eq!(r.user_error_fields("updateProduct"), fields, "{changes}");
        assert!(r.data()["updateProduct"]["product"].is_null());
    }
    // A price over 64 bits is not even Money.
    let r = app
        .as_admin(
            UPDATE,
            json!({"i": {"productId": id, "price": "99999999999999999999"}}),
        )
        .await;
    assert_eq!(r.error_code(), "BAD_REQUEST");
    assert_eq!(stored(&app, &id).await, before, "nothing changed");

    let update = |product: &str| json!({"i": {"productId": product, "price": "5"}});
    let archive = |product: &str| json!({"i": {"productId": product}});
    for (mutation, name, input) in [
        (UPDATE, "updateProduct", &update as &dyn Fn(&str) -> Value),
        (ARCHIVE, "archiveProduct", &archive),
    ] {
        // Not for users; the product is untouched.
        let r = app.as_user("alice", mutation, input(&id)).await;
        assert_eq!(r.error_code(), "FORBIDDEN", "{name}");
        let r = app.gql(None, mutation, input(&id)).await;
        assert_eq!(r.error_code(), "UNAUTHENTICATED", "{name}");
        // An Order's id is no Product id.
        let r = app.as_admin(mutation, input(&order)).await;
        assert_eq!(r.user_error_codes(name), ["INVALID_INPUT"], "{name}");
        assert_eq!(r.user_error_fields(name), ["input.productId"], "{name}");
    }
    assert_eq!(stored(&app, &id).await, before, "nothing changed");
}

#[tokio::test]
async fn an_archived_product_leaves_the_catalog_but_not_its_orders_and_carts() {
    let app = spawn_app().await;
    let mug = app.create_product("Mug", 800, 10).await;
    let tea = app.create_product("Tea", 300, 10).await;
    app.charge("alice", 10_000).await;
    let pending = app.create_order("alice", &[(&mug, 1), (&tea, 1)]).await;
    let paid = app.create_order("alice", &[(&mug, 1)]).await;
    assert_eq!(
        app.pay("alice", &paid, None)
            .await
            .user_error_codes("payOrder"),
        Vec::<String>::new()
    );
    let r = app
        .as_user(
            "alice",
            ADD_TO_CART,
            json!({"i": {"productId": mug, "quantity": 2}}),
        )
        .await;
    assert_eq!(r.user_error_codes("addCartItem"), Vec::<String>::new());

    let r = app
        .as_admin(ARCHIVE, json!({"i": {"productId": mug}}))
        .await;
    let archived_at = r.data()["archiveProduct"]["product"]["archivedAt"].clone();
    assert!(archived_at.is_string(), "{}", r.body);
    // Archiving again is a success that changes nothing.
    let again = app
        .as_admin(ARCHIVE, json!({"i": {"productId": mug}}))
        .await;
    assert_eq!(
        again.user_error_codes("archiveProduct"),
        Vec::<String>::new()
    );
    assert_eq!(
        again.data()["archiveProduct"]["product"]["archivedAt"],
        archived_at
    );

    // Out of the listing and its count, in every order and filter.
    for args in [
        "",
        "(orderBy: NAME)",
        "(search: \"mug\")",
        "(inStockOnly: true, orderBy: PRICE_DESC)",
    ] {
        let r = app
            .gql(
                None,
                &format!("{{ products{args} {{ totalCount nodes {{ name }} }} }}"),
                json!({}),
            )
            .await;
        let names: Vec<&str> = r.data()["products"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap())
            .collect();
        assert!(!names.contains(&"Mug"), "{args}: {names:?}");
        assert_eq!(r.data()["products"]["totalCount"], names.len(), "{args}");
    }
    // Still found by id, with its archivedAt.
    let r = app
        .gql(
            None,
            "query($id: ID!) { product(id: $id) { name archivedAt } node(id: $id) { ... on Product { archivedAt } } }",
            json!({"id": mug}),
        )
        .await;
    assert_eq!(r.data()["product"]["archivedAt"], archived_at);
    assert_eq!(r.data()["node"]["archivedAt"], archived_at);

    // Orders, carts and payments refuse it, naming where it is.
    let r = app
        .as_user(
            "alice",
            ORDER,
            json!({"i": {"items": [{"productId": tea, "quantity": 1}, {"productId": mug, "quantity": 1}]}}),
        )
        .await;
    assert_eq!(r.user_error_codes("createOrder"), ["PRODUCT_NOT_FOUND"]);
    assert_eq!(
        r.user_error_fields("createOrder"),
        ["input.items.1.productId"]
    );
    let r = app
        .as_user(
            "alice",
            ADD_TO_CART,
            json!({"i": {"productId": mug, "quantity": 1}}),
        )
        .await;
    assert_eq!(r.user_error_codes("addCartItem"), ["PRODUCT_NOT_FOUND"]);
    let r = app
        .as_user(
            "alice",
            UPDATE_CART,
            json!({"i": {"productId": mug, "quantity": 5}}),
        )
        .await;
    assert_eq!(r.user_error_codes("updateCartItem"), ["PRODUCT_NOT_FOUND"]);
    let r = app.pay("alice", &pending, None).await;
    assert_eq!(r.user_error_codes("payOrder"), ["PRODUCT_NOT_FOUND"]);
    assert_eq!(r.user_error_fields("payOrder"), ["input.orderId"]);
    assert_eq!(
        app.balance_and_ledger("alice").await,
        (9_200, 9_200),
        "one payment"
    );

    // What holds it still shows it.
    let r = app
        .as_user(
            "alice",
            "{ viewer { cart { items { quantity product { name archivedAt } } }
                orders { nodes { status items { product { name archivedAt } } } } } }",
            json!({}),
        )
        .await;
    let viewer = &r.data()["viewer"];
    assert_eq!(
        viewer["cart"]["items"][0]["product"]["archivedAt"],
        archived_at
    );
    assert_eq!(viewer["cart"]["items"][0]["quantity"], 2);
    let orders = viewer["orders"]["nodes"].as_array().unwrap();
    assert_eq!(orders.len(), 2);
    assert!(
        orders
            .iter()
            .all(|o| o["items"][0]["product"]["archivedAt"] == archived_at)
    );
    // Its line can still be taken out of the cart (0 removes it).
    let r = app
        .as_user(
            "alice",
            UPDATE_CART,
            json!({"i": {"productId": mug, "quantity": 0}}),
        )
        .await;
    assert_eq!(r.user_error_codes("updateCartItem"), Vec::<String>::new());

    // The warehouse may still count it; it stays archived (and unorderable).
    let r = app
        .as_admin(ADJUST, json!({"i": {"productId": mug, "delta": 5}}))
        .await;
    assert_eq!(r.data()["adjustStock"]["product"]["stock"], 14);
    assert_eq!(
        r.data()["adjustStock"]["product"]["archivedAt"],
        archived_at
    );
    // An admin may still correct it.
    let r = app
        .as_admin(UPDATE, json!({"i": {"productId": mug, "name": "Old mug"}}))
        .await;
    assert_eq!(
        r.data()["updateProduct"]["product"]["archivedAt"],
        archived_at
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn archiving_while_a_hundred_payments_are_in_flight_is_all_or_nothing_for_each() {
    let (a, b) = two_instances().await;
    let product = a.create_product("Limited kettle", 1_000, 1_000).await;
    let other = a.create_product("Tea", 100, 1_000).await;
    let mut setups = buyers(&a, &product, 100, "buyer", 5_000, 2).await;
    setups.sort();
    let payments = setups.iter().enumerate().map(|(i, (buyer, order))| {
        let app = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (buyer, order) = (buyer.clone(), order.clone());
        tokio::spawn(async move {
            let r = app.pay(&buyer, &order, None).await;
            let codes = r.user_error_codes("payOrder");
            (buyer, codes.join(","))
        })
    });
    let payments: Vec<_> = payments.collect();
    // Archive once some have been paid, while the others are in flight.
    wait_until("ten payments to go through", async || {
        a.count("SELECT count(*) FROM orders WHERE status = 'PAID'")
            .await
            >= 10
    })
    .await;
    let r = b
        .as_admin(ARCHIVE, json!({"i": {"productId": product}}))
        .await;
    assert_eq!(r.user_error_codes("archiveProduct"), Vec::<String>::new());
    let outcomes: HashMap<String, String> = joined(payments).await.into_iter().collect();
    let paid: HashSet<&String> = outcomes
        .iter()
        .filter(|(_, o)| o.is_empty())
        .map(|(buyer, _)| buyer)
        .collect();
    for (buyer, outcome) in &outcomes {
        assert!(
            outcome.is_empty() || outcome == "PRODUCT_NOT_FOUND",
            "{buyer}: {outcome}"
        );
        let expected = if paid.contains(buyer) { 3_000 } else { 5_000 };
        assert_eq!(
            a.balance_and_ledger(buyer).await,
            (expected, expected),
            "{buyer}"
        );
    }
    println!(
        "archive raced 100 payments: {} paid, {} refused",
        paid.len(),
        100 - paid.len()
    );
    assert!(
        paid.len() >= 10,
        "the archive came after the first payments"
    );
    let paid_count = paid.len() as i64;
    assert_eq!(
        a.count("SELECT count(*) FROM orders WHERE status = 'PAID'")
            .await,
        paid_count
    );
    assert_eq!(a.count("SELECT count(*) FROM payments").await, paid_count);
    assert_eq!(a.count("SELECT count(*) FROM outbox").await, paid_count);
    assert_eq!(
        stored(&a, &product).await.3,
        1_000 - 2 * paid_count as i32,
        "stock taken by the paid orders only"
    );
    // From the archive's commit on, every payment is refused.
    let (buyer, order) = {
        a.charge("late", 5_000).await;
        ("late", a.create_order("late", &[(&other, 1)]).await)
    };
    assert_eq!(
        a.pay(buyer, &order, None)
            .await
            .user_error_codes("payOrder"),
        Vec::<String>::new()
    );
    for (i, (buyer, order)) in setups.iter().enumerate().take(10) {
        if !paid.contains(buyer) {
            let app = if i % 2 == 0 { &a } else { &b };
            let r = app.pay(buyer, order, None).await;
            assert_eq!(r.user_error_codes("payOrder"), ["PRODUCT_NOT_FOUND"]);
        }
    }
    a.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_created_while_the_price_changes_get_the_old_or_the_new_price() {
    let (a, b) = two_instances().await;
    let product = a.create_product("Kettle", 1_000, 100_000).await;
    let tea = a.create_product("Tea", 7, 100_000).await;
    let before = a.create_order("early", &[(&product, 1)]).await;
    let orders = (0..100).map(|i| {
        let app = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (product, tea) = (product.clone(), tea.clone());
        tokio::spawn(async move {
            let quantity = 1 + i % 3;
            app.create_order(&format!("buyer-{i}"), &[(&product, quantity), (&tea, 2)])
                .await
        })
    });
    let orders: Vec<_> = orders.collect();
    let prices = [1_500, 2_000, 2_500];
    for (i, price) in prices.iter().enumerate() {
        let app = if i % 2 == 0 { &a } else { &b };
        let r = app
            .as_admin(
                UPDATE,
                json!({"i": {"productId": product, "price": price.to_string()}}),
            )
            .await;
        assert_eq!(r.user_error_codes("updateProduct"), Vec::<String>::new());
    }
    joined(orders).await;
    let after = a.create_order("late", &[(&product, 1)]).await;

    let lines: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT o.id, i.unit_price, o.total_amount,
                (SELECT sum(quantity * unit_price) FROM order_items WHERE order_id = o.id)::BIGINT
         FROM orders o JOIN order_items i ON i.order_id = o.id
         WHERE i.product_id = $1 ORDER BY o.id",
    )
    .bind(TestApp::db_id(&product))
    .fetch_all(&a.pool)
    .await
    .unwrap();
    assert_eq!(lines.len(), 102);
    let mut seen = HashSet::new();
    for (order, unit_price, total, sum) in &lines {
        assert!(
            [1_000, 1_500, 2_000, 2_500].contains(unit_price),
            "order {order}: {unit_price}"
        );
        assert_eq!(total, sum, "order {order}: its total is its lines'");
        seen.insert(*unit_price);
    }
    println!("prices seen by the racing orders: {seen:?}");
    assert_eq!(lines[0].0, TestApp::db_id(&before));
    assert_eq!(lines[0].1, 1_000, "an earlier order keeps its price");
    assert_eq!(lines[101].0, TestApp::db_id(&after));
    assert_eq!(lines[101].1, 2_500, "a later one gets the last price");
    a.assert_invariants().await;
}

#[tokio::test]
async fn the_database_keeps_an_archived_product_archived() {
    let app = spawn_app().await;
    let mug = app.create_product("Mug", 800, 10).await;
    let id = TestApp::db_id(&mug);
    let r = app
        .as_admin(ARCHIVE, json!({"i": {"productId": mug}}))
        .await;
    assert!(r.body["errors"].is_null(), "{}", r.body);
    for write in [
        "UPDATE products SET archived_at = NULL WHERE id = $1",
        "UPDATE products SET archived_at = now() + interval '1 day' WHERE id = $1",
    ] {
        let refused = sqlx::query(write).bind(id).execute(&app.pool).await;
        let err = refused.expect_err(write);
        assert!(err.to_string().contains("for good"), "{write}: {err}");
    }
    // Its stock still moves (a refund gives units back to it).
    sqlx::query("UPDATE products SET stock = stock + 1 WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    let archived: bool =
        sqlx::query_scalar("SELECT archived_at IS NOT NULL FROM products WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(archived);
}
