//! createOrder, cancelOrder, viewer.orders and the Order fields.

use serde_json::{Value, json};

use crate::helpers::{CREATE_ORDER, TestApp, count_statements, spawn_app};

const CANCEL: &str = "mutation($i: CancelOrderInput!) { cancelOrder(input: $i) {
    order { id status cancelledAt } userErrors { code field message } } }";

fn lines(items: &[(&str, Value)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(id, q)| json!({ "productId": id, "quantity": q }))
        .collect();
    json!({ "i": { "items": items } })
}

async fn orders_in_db(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM orders").await
}

#[tokio::test]
async fn an_order_is_pending_with_the_prices_of_its_moment() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 1_500, 10).await;
    let mug = app.create_product("Mug", 12_000, 3).await;
    let r = app
        .as_user(
            "alice",
            CREATE_ORDER,
            lines(&[(&tea, json!(4)), (&mug, json!(1))]),
        )
        .await;
    let order = &r.data()["createOrder"]["order"];
    assert_eq!(r.user_error_codes("createOrder"), Vec::<String>::new());
    assert_eq!(order["status"], "PENDING");
    assert_eq!(order["totalAmount"], "18000");
    assert_eq!(order["discountAmount"], "0");
    assert_eq!(order["payableAmount"], "18000");
    assert!(order["paidAt"].is_null());
    let id = order["id"].as_str().unwrap();
    assert_eq!(
        order["paymentUrl"],
        format!("{}/shop/orders/{id}", app.address)
    );
    let items = order["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["product"]["name"], "Tea");
    assert_eq!(items[0]["unitPrice"], "1500");
    assert_eq!(items[0]["lineTotal"], "6000");

    // Nothing is reserved: the stock is unchanged.
    let stock: i32 = sqlx::query_scalar("SELECT stock FROM products WHERE id = $1")
        .bind(TestApp::db_id(&tea))
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stock, 10);

    // A later price change does not touch the order.
    sqlx::query("UPDATE products SET price = 99999")
        .execute(&app.pool)
        .await
        .unwrap();
    let r = app
        .as_user(
            "alice",
            "query($id: ID!) { node(id: $id) { ... on Order { totalAmount items { unitPrice } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(r.data()["node"]["totalAmount"], "18000");
    assert_eq!(r.data()["node"]["items"][0]["unitPrice"], "1500");
    app.assert_invariants().await;
}

#[tokio::test]
async fn duplicate_products_are_merged_into_one_line() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 100, 10).await;
    let r = app
        .as_user(
            "alice",
            CREATE_ORDER,
            lines(&[(&tea, json!(2)), (&tea, json!(3))]),
        )
        .await;
    let items = r.data()["createOrder"]["order"]["items"]
        .as_array()
        .unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["quantity"], 5);
    // The merged quantity must still fit the stock and the per-line limit.
    let r = app
        .as_user(
            "alice",
            CREATE_ORDER,
            lines(&[(&tea, json!(6)), (&tea, json!(5))]),
        )
        .await;
    assert_eq!(r.user_error_codes("createOrder"), ["PRODUCT_OUT_OF_STOCK"]);
    assert_eq!(
        r.user_error_fields("createOrder"),
        ["input.items.0.quantity"]
    );
}

#[tokio::test]
async fn every_failing_line_is_reported_at_once_and_nothing_is_saved() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 100, 2).await;
    let mug = app.create_product("Mug", 100, 5).await;
    let missing = commerce::global_id::encode("Product", 999);
    let order_id = commerce::global_id::encode("Order", 1);
    let r = app
        .as_user(
            "alice",
            CREATE_ORDER,
            lines(&[
                (&tea, json!(3)),
                (&missing, json!(1)),
                (&mug, json!(0)),
                (&order_id, json!(1)),
                ("garbage", json!(1)),
                (&mug, json!(1001)),
                (&mug, json!(5)),
            ]),
        )
        .await;
    assert_eq!(
        r.user_error_fields("createOrder"),
        [
            "input.items.2.quantity",
            "input.items.3.productId",
            "input.items.4.productId",
            "input.items.5.quantity",
            "input.items.0.quantity",
            "input.items.1.productId",
        ]
    );
    assert_eq!(
        r.user_error_codes("createOrder"),
        [
            "INVALID_INPUT",
            "INVALID_INPUT",
            "INVALID_INPUT",
            "INVALID_INPUT",
            "PRODUCT_OUT_OF_STOCK",
            "PRODUCT_NOT_FOUND",
        ]
    );
    assert!(r.data()["createOrder"]["order"].is_null());
    assert_eq!(orders_in_db(&app).await, 0);
}

#[tokio::test]
async fn line_counts_and_quantities_are_bounded() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 1, 100_000).await;
    let r = app.as_user("alice", CREATE_ORDER, lines(&[])).await;
    assert_eq!(r.user_error_codes("createOrder"), ["INVALID_INPUT"]);
    assert_eq!(r.user_error_fields("createOrder"), ["input.items"]);
    let many: Vec<(&str, Value)> = (0..101).map(|_| (tea.as_str(), json!(1))).collect();
    let r = app.as_user("alice", CREATE_ORDER, lines(&many)).await;
    assert_eq!(r.user_error_fields("createOrder"), ["input.items"]);
    for bad in [json!(0), json!(-1), json!(1001), json!(i32::MIN)] {
        let r = app
            .as_user("alice", CREATE_ORDER, lines(&[(&tea, bad.clone())]))
            .await;
        assert_eq!(
            r.user_error_codes("createOrder"),
            ["INVALID_INPUT"],
            "{bad}"
        );
    }
    // Not an Int at all: a GraphQL error, nothing reaches the use case.
    for bad in [json!(2_147_483_648u64), json!(1.5), json!("2")] {
        let r = app
            .as_user("alice", CREATE_ORDER, lines(&[(&tea, bad.clone())]))
            .await;
        assert_eq!(r.error_code(), "BAD_REQUEST", "{bad}");
    }
    let r = app
        .as_user("alice", CREATE_ORDER, lines(&[(&tea, json!(1000))]))
        .await;
    assert!(r.user_error_codes("createOrder").is_empty(), "{}", r.body);
    assert_eq!(orders_in_db(&app).await, 1);
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_order() {
    let app = std::sync::Arc::new(spawn_app().await);
    let tea = app.create_product("Tea", 100, 10).await;
    let mug = app.create_product("Mug", 100, 10).await;
    let with_key = |items: Value, key: &str| {
        let mut v = items;
        v["i"]["idempotencyKey"] = json!(key);
        v
    };
    let first = app
        .as_user(
            "alice",
            CREATE_ORDER,
            with_key(lines(&[(&tea, json!(1)), (&mug, json!(2))]), "cart-42"),
        )
        .await;
    let id = first.data()["createOrder"]["order"]["id"].clone();
    // The same lines in another order are the same input.
    let again = app
        .as_user(
            "alice",
            CREATE_ORDER,
            with_key(lines(&[(&mug, json!(2)), (&tea, json!(1))]), "cart-42"),
        )
        .await;
    assert_eq!(again.data()["createOrder"]["order"]["id"], id);
    let other = app
        .as_user(
            "alice",
            CREATE_ORDER,
            with_key(lines(&[(&tea, json!(3))]), "cart-42"),
        )
        .await;
    assert_eq!(
        other.user_error_codes("createOrder"),
        ["IDEMPOTENCY_KEY_REUSED"]
    );
    assert_eq!(
        other.user_error_fields("createOrder"),
        ["input.idempotencyKey"]
    );
    // Twenty racing retries of a new key still make one order.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (app, tea) = (app.clone(), tea.clone());
        tasks.push(tokio::spawn(async move {
            app.as_user(
                "bob",
                CREATE_ORDER,
                with_key(lines(&[(&tea, json!(1))]), "k"),
            )
            .await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        ids.insert(r.data()["createOrder"]["order"]["id"].to_string());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(orders_in_db(&app).await, 2);
    let r = app
        .as_user(
            "bob",
            CREATE_ORDER,
            with_key(lines(&[(&tea, json!(1))]), &"k".repeat(256)),
        )
        .await;
    assert_eq!(r.user_error_fields("createOrder"), ["input.idempotencyKey"]);
}

#[tokio::test]
async fn orders_need_a_caller() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 100, 10).await;
    let r = app
        .gql(None, CREATE_ORDER, lines(&[(&tea, json!(1))]))
        .await;
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
    assert_eq!(orders_in_db(&app).await, 0);
}

#[tokio::test]
async fn a_pending_order_can_be_cancelled_once() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 100, 10).await;
    let order = app.create_order("alice", &[(&tea, 1)]).await;
    let cancel = |who: &'static str, id: String| {
        let app = &app;
        async move {
            app.as_user(who, CANCEL, json!({"i": {"orderId": id}}))
                .await
        }
    };
    let r = cancel("mallory", order.clone()).await;
    assert_eq!(r.user_error_codes("cancelOrder"), ["ORDER_NOT_FOUND"]);
    let r = cancel("alice", order.clone()).await;
    assert_eq!(r.data()["cancelOrder"]["order"]["status"], "CANCELLED");
    assert!(r.data()["cancelOrder"]["order"]["cancelledAt"].is_string());
    let r = cancel("alice", order.clone()).await;
    assert_eq!(r.user_error_codes("cancelOrder"), ["ORDER_CANCELLED"]);
    let r = cancel("alice", tea.clone()).await;
    assert_eq!(r.user_error_codes("cancelOrder"), ["INVALID_INPUT"]);
    assert_eq!(r.user_error_fields("cancelOrder"), ["input.orderId"]);
    let r = app.pay("alice", &order, None).await;
    assert_eq!(r.user_error_codes("payOrder"), ["ORDER_CANCELLED"]);

    app.charge("alice", 1_000).await;
    let paid = app.create_order("alice", &[(&tea, 1)]).await;
    assert!(
        app.pay("alice", &paid, None)
            .await
            .user_error_codes("payOrder")
            .is_empty()
    );
    let r = cancel("alice", paid).await;
    assert_eq!(r.user_error_codes("cancelOrder"), ["ORDER_ALREADY_PAID"]);
    app.assert_invariants().await;
}

const ORDERS_PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String, $status: OrderStatus) {
    viewer { orders(first: $first, after: $after, last: $last, before: $before, status: $status) {
        totalCount nodes { id status } pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } } }";

#[tokio::test]
async fn viewer_orders_page_newest_first_with_a_status_filter() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 10, 100).await;
    app.charge("alice", 1_000).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(app.create_order("alice", &[(&tea, 1)]).await);
    }
    app.create_order("bob", &[(&tea, 1)]).await;
    app.pay("alice", &ids[1], None).await;
    app.pay("alice", &ids[3], None).await;

    let r = app.as_user("alice", ORDERS_PAGE, json!({"first": 2})).await;
    let orders = &r.data()["viewer"]["orders"];
    assert_eq!(orders["totalCount"], 5, "bob's order is not alice's");
    let page: Vec<&str> = orders["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, [ids[4].as_str(), ids[3].as_str()]);
    assert_eq!(orders["pageInfo"]["hasNextPage"], true);
    let after = orders["pageInfo"]["endCursor"].clone();
    let r = app
        .as_user("alice", ORDERS_PAGE, json!({"first": 10, "after": after}))
        .await;
    let rest = r.data()["viewer"]["orders"]["nodes"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(rest, 3);
    assert_eq!(
        r.data()["viewer"]["orders"]["pageInfo"]["hasNextPage"],
        false
    );

    let r = app
        .as_user("alice", ORDERS_PAGE, json!({"status": "PAID"}))
        .await;
    let paid = &r.data()["viewer"]["orders"];
    assert_eq!(paid["totalCount"], 2);
    assert_eq!(paid["nodes"][0]["id"], ids[3]);
    assert_eq!(paid["nodes"][1]["id"], ids[1]);
    let r = app
        .as_user(
            "alice",
            ORDERS_PAGE,
            json!({"last": 2, "status": "PENDING"}),
        )
        .await;
    let oldest: Vec<&str> = r.data()["viewer"]["orders"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(oldest, [ids[2].as_str(), ids[0].as_str()]);

    for bad in [
        json!({"first": 101}),
        json!({"first": -1}),
        json!({"after": "x"}),
    ] {
        let r = app.as_user("alice", ORDERS_PAGE, bad.clone()).await;
        assert_eq!(r.error_code(), "BAD_REQUEST", "{bad}");
    }
    let r = app
        .as_user("alice", ORDERS_PAGE, json!({"status": "SHIPPED"}))
        .await;
    assert_eq!(r.error_code(), "BAD_REQUEST");
}

#[tokio::test]
async fn orders_and_payments_are_visible_to_their_owner_and_admins_only() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 10, 100).await;
    app.charge("alice", 100).await;
    let order = app.create_order("alice", &[(&tea, 1)]).await;
    let payment = app.pay("alice", &order, None).await.data()["payOrder"]["payment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }";
    let vars = json!({ "ids": [order, payment] });
    let r = app.as_user("alice", query, vars.clone()).await;
    assert_eq!(r.data()["nodes"][0]["id"], order);
    assert_eq!(r.data()["nodes"][1]["id"], payment);
    let r = app.as_admin(query, vars.clone()).await;
    assert_eq!(r.data()["nodes"][1]["id"], payment);
    let r = app.as_user("mallory", query, vars.clone()).await;
    assert_eq!(r.data()["nodes"], json!([null, null]));
    let r = app.gql(None, query, vars).await;
    assert_eq!(r.data()["nodes"], json!([null, null]));
    let r = app
        .as_user(
            "alice",
            "query($id: ID!) { node(id: $id) { ... on Payment { amount order { id status } } } }",
            json!({ "id": payment }),
        )
        .await;
    assert_eq!(r.data()["node"]["amount"], "10");
    assert_eq!(r.data()["node"]["order"]["status"], "PAID");
}

/// The nested read of the issue: its cost must not grow with the number of
/// orders (DataLoaders batch every relation).
#[tokio::test]
async fn nested_order_reads_cost_the_same_statements_for_1_or_50_orders() {
    let app = spawn_app().await;
    let query = "{ viewer { orders(first: 50) { nodes {
        items { product { name stock } } payment { amount } coupon { status } } } } }";
    let products = [
        app.create_product("A", 10, 1_000).await,
        app.create_product("B", 20, 1_000).await,
        app.create_product("C", 30, 1_000).await,
    ];
    app.charge("alice", 1_000_000).await;
    // A user holds one coupon per campaign, so each coupon payment gets its own.
    let place = |n: usize| {
        let (app, products) = (&app, &products);
        async move {
            for i in 0..n {
                let order = app
                    .create_order(
                        "alice",
                        &[(&products[i % 3], 1), (&products[(i + 1) % 3], 2)],
                    )
                    .await;
                if i % 2 == 0 {
                    let campaign = app.create_campaign("PERCENTAGE", 10, 1, (-1, None)).await;
                    let coupon = app.grant_coupon("alice", campaign).await;
                    app.pay("alice", &order, Some(&coupon)).await.data();
                }
            }
        }
    };
    place(1).await;
    let (one, statements_for_1) = count_statements(app.as_user("alice", query, json!({}))).await;
    assert_eq!(
        one.data()["viewer"]["orders"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    place(49).await;
    let (fifty, statements_for_50) = count_statements(app.as_user("alice", query, json!({}))).await;
    let nodes = fifty.data()["viewer"]["orders"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(nodes.len(), 50);
    assert!(nodes.iter().any(|n| n["coupon"]["status"] == "USED"));
    assert_eq!(statements_for_1, statements_for_50);
    assert!(statements_for_50 <= 5, "{statements_for_50} statements");
}

/// The benchmark's nested read (docs/benchmarks.md) takes at most four SQL
/// statements: the page of orders, their lines, their products (the
/// caller's id is cached after the first request).
#[tokio::test]
async fn the_benchmark_read_takes_at_most_four_statements() {
    let app = spawn_app().await;
    let query = "{ viewer { orders(first: 20) { nodes { status totalAmount
        items { quantity unitPrice product { name price } } } } } }";
    let products = [
        app.create_product("A", 10, 1_000).await,
        app.create_product("B", 20, 1_000).await,
        app.create_product("C", 30, 1_000).await,
    ];
    for _ in 0..20 {
        app.create_order(
            "bob",
            &[(&products[0], 1), (&products[1], 2), (&products[2], 3)],
        )
        .await;
    }
    let (r, statements) = count_statements(app.as_user("bob", query, json!({}))).await;
    let nodes = r.data()["viewer"]["orders"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 20);
    // Each order's own lines, each with its own product (served from the
    // rows fetched ahead with the page).
    for node in nodes {
        assert_eq!(node["totalAmount"], "140");
        let items: Vec<_> = node["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["quantity"].clone(),
                    i["unitPrice"].clone(),
                    i["product"].clone(),
                )
            })
            .collect();
        assert_eq!(
            items,
            [
                (json!(1), json!("10"), json!({ "name": "A", "price": "10" })),
                (json!(2), json!("20"), json!({ "name": "B", "price": "20" })),
                (json!(3), json!("30"), json!({ "name": "C", "price": "30" })),
            ]
        );
    }
    assert!(statements <= 4, "{statements} statements");
}

/// Lines and products are columnar reads (`db::columns`: one row of arrays
/// per statement): each order gets exactly its own lines, sorted by product
/// whatever order the rows come in, and ids that match nothing give nothing.
#[tokio::test]
async fn columnar_reads_give_each_order_its_own_lines_in_product_order() {
    use commerce::domain::{order, product};
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for (name, price) in [("A", 10), ("B", 20), ("C", 30), ("D", 40)] {
        ids.push(TestApp::db_id(&app.create_product(name, price, 100).await));
    }
    let global = |i: usize| commerce::global_id::encode("Product", ids[i]);
    let (a, b, c, d) = (global(0), global(1), global(2), global(3));
    let first = app.create_order("bob", &[(&d, 1), (&b, 2)]).await;
    let second = app.create_order("bob", &[(&c, 5)]).await;
    let third = app
        .create_order("bob", &[(&c, 1), (&a, 2), (&d, 3), (&b, 4)])
        .await;
    let (first, second, third) = (
        TestApp::db_id(&first),
        TestApp::db_id(&second),
        TestApp::db_id(&third),
    );

    // A sequential scan returns rows in the order they are stored: rewrite
    // some so that they are stored after the rest, out of product order.
    let mut conn = app.pool.acquire().await.unwrap();
    for setting in ["enable_indexscan", "enable_bitmapscan"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("SET {setting} = off")))
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE order_items SET quantity = quantity WHERE product_id IN ($1, $2)")
        .bind(ids[0])
        .bind(ids[1])
        .execute(&mut *conn)
        .await
        .unwrap();

    let lines = order::items_of(&mut *conn, &[third, 999_999, first, second])
        .await
        .unwrap();
    let got: Vec<(i64, i64, i32, i64)> = lines
        .iter()
        .map(|l| (l.order_id, l.product_id, l.quantity, l.unit_price))
        .collect();
    assert_eq!(
        got,
        [
            (first, ids[1], 2, 20),
            (first, ids[3], 1, 40),
            (second, ids[2], 5, 30),
            (third, ids[0], 2, 10),
            (third, ids[1], 4, 20),
            (third, ids[2], 1, 30),
            (third, ids[3], 3, 40),
        ]
    );
    assert!(
        order::items_of(&mut *conn, &[999_999])
            .await
            .unwrap()
            .is_empty()
    );

    let mut found = product::by_ids(&mut *conn, &[ids[3], 999_999, ids[1]])
        .await
        .unwrap();
    found.sort_by_key(|p| p.id);
    let got: Vec<(i64, &str, i64, i32)> = found
        .iter()
        .map(|p| (p.id, p.name.as_str(), p.price, p.stock))
        .collect();
    assert_eq!(got, [(ids[1], "B", 20, 100), (ids[3], "D", 40, 100)]);
    assert!(product::by_ids(&mut *conn, &[]).await.unwrap().is_empty());
}

/// A list of more than 30 items is resolved in parts (async-graphql polls
/// it through `FuturesUnordered`), yet the loads of its items make one
/// batch: each order's user, for a page of 2 orders and one of 100.
#[tokio::test]
async fn a_long_list_of_loads_is_one_batch() {
    let app = spawn_app().await;
    let product = app.create_product("Pin", 10, 1_000).await;
    for i in 0..100 {
        app.create_order(&format!("buyer-{i}"), &[(&product, 1)])
            .await;
    }
    let query = "query($n: Int) { orders(first: $n) { nodes { id user { subject } } } }";
    let page = |n: i32| app.as_admin(query, json!({ "n": n }));
    let (two, for_2) = count_statements(page(2)).await;
    assert_eq!(two.data()["orders"]["nodes"].as_array().unwrap().len(), 2);
    let (all, for_100) = count_statements(page(100)).await;
    let nodes = all.data()["orders"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 100);
    assert!(nodes.iter().all(|n| n["user"]["subject"].is_string()));
    assert_eq!(for_2, for_100, "one batch for 2 orders and for 100");
}
