//! The bad-input matrix: every mutation and query fed zero, negative, huge
//! and 2^31 numbers, ids of the wrong type and malformed ones, empty and
//! oversized lists, unknown fields and wrong variable types, plus deep,
//! wide and aliased documents and batch floods. Each gets its documented
//! error, nothing in the database changes, and the server keeps serving.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// What a case must answer.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// A userError with this code in the mutation's payload.
    User(&'static str),
    /// A top-level error with this `extensions.code`.
    Top(&'static str),
}
use Expect::{Top, User};

/// One request of the matrix and what it must answer.
struct Case {
    /// Sent with an admin's token (else a user's).
    admin: bool,
    query: String,
    variables: Value,
    expect: Expect,
}

/// `mutation($i: <Input>!) { <field>(input: $i) { userErrors { code field } } }`
/// with `input` as `$i`, sent by a user.
fn user(field: &str, input: Value, expect: Expect) -> Case {
    let input_type = format!("{}{}Input", field[..1].to_uppercase(), &field[1..]);
    Case {
        admin: false,
        query: format!(
            "mutation($i: {input_type}!) {{ {field}(input: $i) {{ userErrors {{ code field }} }} }}"
        ),
        variables: json!({ "i": input }),
        expect,
    }
}

/// The same mutation, sent by an admin.
fn admin(field: &str, input: Value, expect: Expect) -> Case {
    Case {
        admin: true,
        ..user(field, input, expect)
    }
}

/// A query with its variables, sent by a user.
fn query(document: &str, variables: Value, expect: Expect) -> Case {
    Case {
        admin: false,
        query: document.to_owned(),
        variables,
        expect,
    }
}

/// Everything a request could change, as one comparable value.
async fn fingerprint(app: &TestApp) -> Vec<i64> {
    let sql = "SELECT ARRAY[
        (SELECT count(*) FROM users), (SELECT COALESCE(sum(balance), 0)::BIGINT FROM users),
        (SELECT count(*) FROM balance_ledger), (SELECT count(*) FROM products),
        (SELECT COALESCE(sum(stock), 0)::BIGINT FROM products), (SELECT count(*) FROM orders),
        (SELECT count(*) FROM orders WHERE status <> 'PENDING'), (SELECT count(*) FROM order_items),
        (SELECT count(*) FROM payments), (SELECT count(*) FROM cart_items),
        (SELECT count(*) FROM coupons), (SELECT COALESCE(sum(issued_quantity), 0)::BIGINT FROM coupons),
        (SELECT count(*) FROM user_coupons), (SELECT count(*) FROM user_coupons WHERE used_at IS NOT NULL),
        (SELECT count(*) FROM idempotency_keys), (SELECT count(*) FROM outbox)]";
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn every_bad_input_gets_its_documented_error_and_changes_nothing() {
    let app = spawn_app().await;
    let product = app.create_product("Mug", 1_000, 10).await;
    app.charge("ann", 5_000).await;
    let order = app.create_order("ann", &[(&product, 1)]).await;
    let campaign = app.create_campaign("PERCENTAGE", 10, 5, (-1, None)).await;
    let coupon = commerce::global_id::encode("Coupon", campaign);
    let user_coupon = app.grant_coupon("ann", campaign).await;
    let missing_product = commerce::global_id::encode("Product", 999_999);
    let missing_order = commerce::global_id::encode("Order", 999_999);
    let two_31 = 2_147_483_648_i64;
    let line = |id: &str, q: Value| json!({ "productId": id, "quantity": q });
    let many_lines: Vec<Value> = (0..101).map(|_| line(&product, json!(1))).collect();
    let before = fingerprint(&app).await;

    #[rustfmt::skip]
    let cases = [
        // createOrder: lines, quantities, ids, unknown fields, wrong types.
        user("createOrder", json!({ "items": [] }), User("INVALID_INPUT")),
        user("createOrder", json!({ "items": many_lines }), User("INVALID_INPUT")),
        user("createOrder", json!({ "items": [line(&product, json!(0))] }), User("INVALID_INPUT")),
        user("createOrder", json!({ "items": [line(&product, json!(-1))] }), User("INVALID_INPUT")),
        user("createOrder", json!({ "items": [line(&product, json!(1_001))] }), User("INVALID_INPUT")),
        user("createOrder", json!({ "items": [line(&product, json!(i32::MAX))] }), User("INVALID_INPUT")),
        user("createOrder", json!({ "items": [line(&product, json!(two_31))] }), Top("BAD_REQUEST")),
        user("createOrder", json!({ "items": [line(&product, json!(1.5))] }), Top("BAD_REQUEST")),
        user("createOrder", json!({ "items": [line("bm90LWFuLWlk", json!(1))] }), User("INVALID_INPUT")),
        user("createOrder", json!({ "items": [line("%%%", json!(1))] }), User("INVALID_INPUT")),
        user("createOrder", json!({ "items": [line(&order, json!(1))] }), User("INVALID_INPUT")),
        user("createOrder", json!({ "items": [line(&missing_product, json!(1))] }), User("PRODUCT_NOT_FOUND")),
        user("createOrder", json!({ "items": [line(&product, json!(11))] }), User("PRODUCT_OUT_OF_STOCK")),
        user("createOrder", json!({ "items": [line(&product, json!(1))], "idempotencyKey": "" }), User("INVALID_INPUT")),
        user("createOrder", json!({ "items": [line(&product, json!(1))], "idempotencyKey": "k".repeat(256) }), User("INVALID_INPUT")),
        user("createOrder", json!({ "items": [line(&product, json!(1))], "extra": 1 }), Top("BAD_REQUEST")),
        user("createOrder", json!({ "items": "all of them" }), Top("BAD_REQUEST")),
        user("createOrder", json!({}), Top("BAD_REQUEST")),
        // payOrder and cancelOrder: ids.
        user("payOrder", json!({ "orderId": "%%%" }), User("INVALID_INPUT")),
        user("payOrder", json!({ "orderId": product }), User("INVALID_INPUT")),
        user("payOrder", json!({ "orderId": missing_order }), User("ORDER_NOT_FOUND")),
        user("payOrder", json!({ "orderId": order, "userCouponId": "%%%" }), User("INVALID_INPUT")),
        user("payOrder", json!({ "orderId": order, "userCouponId": coupon }), User("INVALID_INPUT")),
        user("payOrder", json!({ "orderId": 12 }), User("INVALID_INPUT")),
        user("cancelOrder", json!({ "orderId": "" }), User("INVALID_INPUT")),
        user("cancelOrder", json!({ "orderId": missing_order }), User("ORDER_NOT_FOUND")),
        // The cart: quantities and ids.
        user("addCartItem", line(&product, json!(0)), User("INVALID_INPUT")),
        user("addCartItem", line(&product, json!(-5)), User("INVALID_INPUT")),
        user("addCartItem", line(&product, json!(1_001)), User("INVALID_INPUT")),
        user("addCartItem", line(&product, json!(two_31)), Top("BAD_REQUEST")),
        user("addCartItem", line(&missing_product, json!(1)), User("PRODUCT_NOT_FOUND")),
        user("addCartItem", line(&order, json!(1)), User("INVALID_INPUT")),
        user("updateCartItem", line(&product, json!(-1)), User("INVALID_INPUT")),
        user("updateCartItem", line(&product, json!(1_001)), User("INVALID_INPUT")),
        user("removeCartItem", json!({ "productId": "%%%" }), User("INVALID_INPUT")),
        // chargeBalance: Money.
        user("chargeBalance", json!({ "amount": "0" }), User("INVALID_INPUT")),
        user("chargeBalance", json!({ "amount": "-5" }), User("INVALID_INPUT")),
        user("chargeBalance", json!({ "amount": "100000000001" }), User("INVALID_INPUT")),
        user("chargeBalance", json!({ "amount": "99999999999999999999999" }), Top("BAD_REQUEST")),
        user("chargeBalance", json!({ "amount": "12.50" }), Top("BAD_REQUEST")),
        user("chargeBalance", json!({ "amount": "ten" }), Top("BAD_REQUEST")),
        user("chargeBalance", json!({ "amount": 1.5 }), Top("BAD_REQUEST")),
        user("chargeBalance", json!({ "amount": "5", "idempotencyKey": "x".repeat(300) }), User("INVALID_INPUT")),
        // issueCoupon: ids.
        user("issueCoupon", json!({ "couponId": "%%%" }), User("INVALID_INPUT")),
        user("issueCoupon", json!({ "couponId": user_coupon }), User("INVALID_INPUT")),
        user("issueCoupon", json!({ "couponId": commerce::global_id::encode("Coupon", 999_999) }), User("COUPON_NOT_FOUND")),
        user("issueCoupon", json!({ "couponId": coupon }), User("COUPON_ALREADY_ISSUED")),
        // Admin mutations: numbers at and past their bounds.
        user("createProduct", json!({ "name": "x", "price": "1", "stock": 1 }), Top("FORBIDDEN")),
        admin("createProduct", json!({ "name": "", "price": "1", "stock": 1 }), User("INVALID_INPUT")),
        admin("createProduct", json!({ "name": "x".repeat(201), "price": "1", "stock": 1 }), User("INVALID_INPUT")),
        admin("createProduct", json!({ "name": "x", "price": "-1", "stock": 1 }), User("INVALID_INPUT")),
        admin("createProduct", json!({ "name": "x", "price": "1000000000001", "stock": 1 }), User("INVALID_INPUT")),
        admin("createProduct", json!({ "name": "x", "price": "1", "stock": -1 }), User("INVALID_INPUT")),
        admin("createProduct", json!({ "name": "x", "price": "1", "stock": two_31 }), Top("BAD_REQUEST")),
        admin("adjustStock", json!({ "productId": product, "delta": -11 }), User("INVALID_INPUT")),
        admin("adjustStock", json!({ "productId": product, "delta": i32::MAX }), User("INVALID_INPUT")),
        admin("adjustStock", json!({ "productId": product, "delta": i32::MIN }), User("INVALID_INPUT")),
        admin("adjustStock", json!({ "productId": product, "delta": -two_31 - 1 }), Top("BAD_REQUEST")),
        admin("adjustStock", json!({ "productId": missing_product, "delta": 1 }), User("PRODUCT_NOT_FOUND")),
        admin("createCoupon", json!({ "name": "c", "discountType": "PERCENTAGE", "discountValue": 0, "totalQuantity": 1 }), User("INVALID_INPUT")),
        admin("createCoupon", json!({ "name": "c", "discountType": "PERCENTAGE", "discountValue": 10, "totalQuantity": two_31 }), Top("BAD_REQUEST")),
        // Queries: page sizes, cursors, id lists, unknown fields, variable types.
        query("{ products(first: -1) { nodes { id } } }", Value::Null, Top("BAD_REQUEST")),
        query("{ products(first: 101) { nodes { id } } }", Value::Null, Top("BAD_REQUEST")),
        query("{ products(first: 2147483648) { nodes { id } } }", Value::Null, Top("BAD_REQUEST")),
        query("{ products(first: 1, last: 1) { nodes { id } } }", Value::Null, Top("BAD_REQUEST")),
        query(r#"{ products(after: "garbage") { nodes { id } } }"#, Value::Null, Top("BAD_REQUEST")),
        query("{ viewer { orders(first: 1000) { totalCount } } }", Value::Null, Top("BAD_REQUEST")),
        query("{ coupons(last: -3) { totalCount } }", Value::Null, Top("BAD_REQUEST")),
        query("{ products { nodes { id secret } } }", Value::Null, Top("BAD_REQUEST")),
        query("query($n: Int) { products(first: $n) { totalCount } }", json!({ "n": "ten" }), Top("BAD_REQUEST")),
        query("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": vec![product.clone(); 101] }), Top("BAD_REQUEST")),
    ];

    let (admin_token, user_token) = (app.admin_token("admin"), app.token("ann"));
    for Case {
        admin,
        query,
        variables,
        expect,
    } in &cases
    {
        let token = if *admin { &admin_token } else { &user_token };
        let r = app.gql(Some(token), query, variables.clone()).await;
        assert_eq!(r.status, 200, "{query} {variables}: {}", r.body);
        match expect {
            User(code) => {
                let field = query.split(['{', '(']).nth(2).unwrap_or_default().trim();
                let field = field.split_whitespace().next().unwrap_or_default();
                assert_eq!(
                    r.user_error_codes(field).first().map(String::as_str),
                    Some(*code),
                    "{query} {variables}: {}",
                    r.body
                );
            }
            Top(code) => {
                let codes = r.error_codes();
                assert!(
                    !codes.is_empty() && codes.iter().all(|c| c == code),
                    "{query} {variables}: {}",
                    r.body
                );
            }
        }
        let text = r.body.to_string();
        assert!(!text.contains("SQL") && !text.contains("sqlx"), "{text}");
    }
    assert_eq!(
        fingerprint(&app).await,
        before,
        "a refused request changed data"
    );
    let r = app
        .gql(None, "{ products { totalCount } }", json!({}))
        .await;
    assert_eq!(r.data()["products"]["totalCount"], 1, "still serving");
}

#[tokio::test]
async fn deep_wide_aliased_and_flooding_documents_are_refused() {
    let app = spawn_app().await;
    app.create_product("Mug", 1_000, 10).await;
    let user = app.token("ann");
    app.as_user("ann", "{ viewer { id } }", json!({})).await;
    let before = fingerprint(&app).await;

    // Deep: an order's coupon's order's coupon's... past the depth limit.
    let deep = format!(
        "{{ viewer {{ coupons {{ nodes {{ {} id {} }} }} }} }}",
        "order { coupon { ".repeat(8),
        "} } ".repeat(8)
    );
    // Wide: many aliases of a big page.
    let wide = format!(
        "{{ {} }}",
        (0..60)
            .map(|i| format!("p{i}: products(first: 100) {{ nodes {{ id name price stock }} }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    // Aliased writes: each alias would be a transaction.
    let aliased = |n: usize| {
        format!(
            "mutation {{ {} }}",
            (0..n)
                .map(|i| format!(
                    r#"c{i}: chargeBalance(input: {{ amount: "1" }}) {{ user {{ balance }} }}"#
                ))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    let through_fragments = format!(
        "mutation {{ ...F }} fragment F on Mutation {{ {} }}",
        (0..11)
            .map(|i| format!(
                r#"c{i}: chargeBalance(input: {{ amount: "1" }}) {{ user {{ balance }} }}"#
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    for document in [
        deep.as_str(),
        &wide,
        &aliased(11),
        &aliased(500),
        &through_fragments,
    ] {
        let r = app.gql(Some(&user), document, json!({})).await;
        assert_eq!(r.status, 200, "{}", &document[..60.min(document.len())]);
        assert_eq!(r.error_code(), "QUERY_TOO_COMPLEX", "{}", r.body);
    }
    assert_eq!(fingerprint(&app).await, before, "nothing ran");

    // Ten aliased writes are allowed, and all run.
    let r = app.gql(Some(&user), &aliased(10), json!({})).await;
    assert!(r.body["errors"].is_null(), "{}", r.body);
    assert_eq!(app.balance_and_ledger("ann").await, (10, 10));

    // A flood of operations in one batch is refused as a whole: not one
    // of them runs.
    let flood: Vec<Value> = (0..500)
        .map(|_| json!({ "query": "mutation { chargeBalance(input: { amount: \"1\" }) { userErrors { code } } }" }))
        .collect();
    let r = app.post_json(Some(&user), &Value::Array(flood)).await;
    assert_eq!(r.status, 200);
    let results = r.body.as_array().expect("an array");
    assert_eq!(results.len(), 500);
    assert!(
        results
            .iter()
            .all(|r| r["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"),
        "{}",
        r.body
    );
    assert_eq!(app.balance_and_ledger("ann").await, (10, 10));
    let r = app
        .gql(None, "{ products { totalCount } }", json!({}))
        .await;
    assert_eq!(r.data()["products"]["totalCount"], 1, "still serving");
}

#[tokio::test]
async fn errors_never_echo_a_huge_input() {
    let app = spawn_app().await;
    // A cursor of 60 KB: refused, in a message of its own size.
    let cursor = "A".repeat(60_000);
    let r = app
        .gql(
            None,
            "query($c: String) { products(after: $c) { totalCount } }",
            json!({ "c": cursor }),
        )
        .await;
    assert_eq!(r.error_code(), "BAD_REQUEST");
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.len() < 200,
        "{} bytes: {message:.200}",
        message.len()
    );
    // A value of the wrong type, quoted by GraphQL's own coercion message.
    let huge = "9".repeat(60_000);
    for (query, variables) in [
        (
            "query($n: Int) { products(first: $n) { totalCount } }",
            json!({ "n": huge }),
        ),
        ("{ products(search: 12) { totalCount } }", json!({})),
        (
            "mutation($i: ChargeBalanceInput!) { chargeBalance(input: $i) { userErrors { code } } }",
            json!({ "i": { "amount": huge } }),
        ),
    ] {
        let r = app.as_user("ann", query, variables).await;
        assert_eq!(r.error_code(), "BAD_REQUEST", "{:.300}", r.body);
        let message = r.body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.chars().count() <= 301,
            "{} bytes: {message:.200}",
            message.len()
        );
    }
    // A request id of 8 KB is not taken: the server makes its own.
    let long = "r".repeat(8 * 1024);
    let response = reqwest::Client::new()
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", &long)
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert!(id.len() <= 128 && id != long, "{} bytes", id.len());
    // A short printable one is kept (a caller's trace id).
    let response = reqwest::Client::new()
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-42");
}

/// A document that validated once skips validation after (it runs on a
/// schema without the rules): the answers to bad input must not change.
#[tokio::test]
async fn a_repeated_document_answers_bad_input_as_it_did_the_first_time() {
    let app = spawn_app().await;
    let page = "query($n: Int) { products(first: $n) { totalCount } }";
    for round in 0..3 {
        let ok = app.gql(None, page, json!({ "n": 5 })).await;
        assert_eq!(ok.data()["products"]["totalCount"], 0, "round {round}");
        for bad in [json!({ "n": "five" }), json!({ "n": 1_i64 << 40 })] {
            let r = app.gql(None, page, bad.clone()).await;
            assert_eq!(r.error_code(), "BAD_REQUEST", "round {round}: {}", r.body);
            assert!(r.body.get("data").is_none(), "a request error: {}", r.body);
        }
        // A document that never validated is validated every time.
        let invalid = app.gql(None, "{ products { nope } }", json!({})).await;
        assert_eq!(invalid.error_code(), "BAD_REQUEST", "{}", invalid.body);
    }
}
