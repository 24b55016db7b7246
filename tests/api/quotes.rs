//! Order.quote: a dry run of payOrder by the same rules, which changes
//! nothing and answers what payOrder would.

use serde_json::json;

use crate::helpers::{Gql, TestApp, count_statements, spawn_app};

const QUOTE: &str = "query($id: ID!, $c: ID) { node(id: $id) { ... on Order {
    quote(userCouponId: $c) { totalAmount discountAmount payableAmount userErrors { code field message } } } } }";

async fn quote(app: &TestApp, sub: &str, order: &str, coupon: Option<&str>) -> Gql {
    app.as_user(sub, QUOTE, json!({"id": order, "c": coupon}))
        .await
}

fn amounts(r: &Gql) -> (String, String, String, Vec<String>) {
    let q = &r.data()["node"]["quote"];
    let codes = q["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.body))
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect();
    let money = |f: &str| q[f].as_str().unwrap().to_owned();
    (
        money("totalAmount"),
        money("discountAmount"),
        money("payableAmount"),
        codes,
    )
}

/// Everything quote must leave as it was.
async fn state(app: &TestApp) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT COALESCE(sum(balance), 0)::BIGINT FROM users),
                (SELECT COALESCE(sum(stock), 0)::BIGINT FROM products),
                (SELECT count(*) FROM orders WHERE status = 'PAID'),
                (SELECT count(*) FROM user_coupons WHERE used_at IS NOT NULL)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_quote_answers_what_payment_would_and_changes_nothing() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 12_345, 10).await;
    let order = app.create_order("alice", &[(&tea, 2)]).await;
    let campaign = app
        .create_campaign("PERCENTAGE", 10, 10, (-1, Some(24)))
        .await;
    let coupon = app.grant_coupon("alice", campaign).await;
    let before = state(&app).await;

    // No money yet: the amounts, and why payOrder would refuse.
    let r = quote(&app, "alice", &order, Some(&coupon)).await;
    assert_eq!(
        amounts(&r),
        (
            "24690".into(),
            "2469".into(),
            "22221".into(),
            vec!["INSUFFICIENT_BALANCE".into()]
        )
    );
    app.charge("alice", 22_221).await;
    let r = quote(&app, "alice", &order, Some(&coupon)).await;
    assert_eq!(
        amounts(&r),
        ("24690".into(), "2469".into(), "22221".into(), vec![])
    );
    let r = quote(&app, "alice", &order, None).await;
    assert_eq!(
        amounts(&r),
        (
            "24690".into(),
            "0".into(),
            "24690".into(),
            vec!["INSUFFICIENT_BALANCE".into()]
        )
    );
    // Quoting moved nothing (the balance is the charge's).
    let after = state(&app).await;
    assert_eq!((after.1, after.2, after.3), (before.1, before.2, before.3));

    // The quote without errors is what payOrder then takes.
    let paid = app.pay("alice", &order, Some(&coupon)).await;
    assert_eq!(paid.data()["payOrder"]["payment"]["amount"], "22221");
    // A paid order quotes its own amounts with ORDER_ALREADY_PAID.
    let r = quote(&app, "alice", &order, None).await;
    assert_eq!(
        amounts(&r),
        (
            "24690".into(),
            "2469".into(),
            "22221".into(),
            vec!["ORDER_ALREADY_PAID".into()]
        )
    );
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_quote_reports_every_failing_check_like_payment() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 1_000, 2).await;
    let order = app.create_order("alice", &[(&tea, 2)]).await;
    app.charge("alice", 5_000).await;
    // The stock fell under the line, and the coupon is someone else's.
    sqlx::query("UPDATE products SET stock = 1")
        .execute(&app.pool)
        .await
        .unwrap();
    let campaign = app
        .create_campaign("FIXED_AMOUNT", 100, 10, (-1, None))
        .await;
    let bobs = app.grant_coupon("bob", campaign).await;
    let r = quote(&app, "alice", &order, Some(&bobs)).await;
    let (_, discount, _, codes) = amounts(&r);
    assert_eq!(discount, "0");
    assert_eq!(codes, ["COUPON_NOT_FOUND", "PRODUCT_OUT_OF_STOCK"]);
    let paid = app.pay("alice", &order, Some(&bobs)).await;
    assert_eq!(
        paid.user_error_codes("payOrder"),
        codes,
        "the same answer as payOrder"
    );
    // An id of another type is reported as payOrder reports it.
    let r = quote(&app, "alice", &order, Some(&tea)).await;
    let errors = &r.data()["node"]["quote"]["userErrors"];
    assert_eq!(errors[0]["code"], "INVALID_INPUT", "{}", r.body);
    assert_eq!(errors[0]["field"], json!(["input", "userCouponId"]));
}

#[tokio::test]
async fn an_admin_quotes_any_order_as_its_owner_would_pay_it() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 1_000, 5).await;
    let order = app.create_order("alice", &[(&tea, 1)]).await;
    app.charge("alice", 1_000).await;
    let r = app.as_admin(QUOTE, json!({"id": order})).await;
    assert_eq!(
        amounts(&r),
        ("1000".into(), "0".into(), "1000".into(), vec![])
    );
    // Another user sees no order at all.
    let r = quote(&app, "bob", &order, None).await;
    assert!(r.data()["node"].is_null(), "{}", r.body);
}

#[tokio::test]
async fn a_page_of_quotes_costs_the_statements_of_one() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 1_000, 1_000).await;
    app.charge("alice", 100_000).await;
    let query = "{ viewer { orders(first: 50) { nodes { quote { payableAmount userErrors { code } } } } } }";
    app.create_order("alice", &[(&tea, 1)]).await;
    let (one, for_1) = count_statements(app.as_user("alice", query, json!({}))).await;
    let nodes = one.data()["viewer"]["orders"]["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["quote"]["payableAmount"], "1000", "{}", one.body);
    for n in 2..=30 {
        app.create_order("alice", &[(&tea, n)]).await;
    }
    let (thirty, for_30) = count_statements(app.as_user("alice", query, json!({}))).await;
    let nodes = thirty.data()["viewer"]["orders"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(nodes.len(), 30);
    // Newest first: order n of tea costs n x 1000.
    assert_eq!(nodes[0]["quote"]["payableAmount"], "30000");
    // Each quote decided on its own: all 30 fit the balance alone.
    assert!(
        nodes.iter().all(|n| n["quote"]["userErrors"] == json!([])),
        "{}",
        thirty.body
    );
    assert_eq!(
        for_1, for_30,
        "one read for the page's quotes, not one per order"
    );
}
