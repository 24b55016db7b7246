//! An order's life between create and pay: the payment window (EXPIRED on
//! the database's clock, ORDER_EXPIRED, the sweep any number of instances
//! run), stock holds (taken at creation, turned into the sale, given back
//! by cancel and expiry), and what subscribers and the data platform see.
//!
//! Deadlines are moved in SQL where a test needs an order overdue now (the
//! API sets them from the configured window), so that no test sleeps.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::event_schema::violations_of;
use crate::helpers::nats::{JetStream, NatsServer};
use crate::helpers::races::{joined, outcome, tally};
use crate::helpers::wait::wait_until;
use crate::helpers::ws::Ws;
use crate::helpers::{CREATE_ORDER, Options, TestApp, spawn_app_with};

const HOLDS: [(&str, &str); 1] = [("ORDER_HOLD_STOCK", "true")];

const ORDER: &str = "query($id: ID!) { node(id: $id) { ... on Order {
    status expiresAt holdsStock createdAt quote { userErrors { code } } } } }";

const PRODUCT: &str = "query($id: ID!) { node(id: $id) { ... on Product { stock heldStock } } }";

async fn app(env: &[(&'static str, &str)]) -> TestApp {
    spawn_app_with(Options::with_env(env)).await
}

/// A second instance on `first`'s database.
async fn beside(first: &TestApp, env: &[(&'static str, &str)]) -> TestApp {
    spawn_app_with(Options {
        database: Some(first.db_name.clone()),
        ..Options::with_env(env)
    })
    .await
}

/// Moves the windows of `orders` so that they closed a second ago.
async fn overdue(app: &TestApp, orders: &[&str]) {
    let ids: Vec<i64> = orders.iter().map(|o| TestApp::db_id(o)).collect();
    sqlx::query(
        "UPDATE orders SET created_at = now() - interval '1 hour',
                           expires_at = now() - interval '1 second'
         WHERE id = ANY($1)",
    )
    .bind(&ids)
    .execute(&app.pool)
    .await
    .unwrap();
}

async fn order_node(app: &TestApp, sub: &str, order: &str) -> Value {
    let r = app.as_user(sub, ORDER, json!({ "id": order })).await;
    r.data()["node"].clone()
}

/// (stock, heldStock) of a product, through the API.
async fn stock_of(app: &TestApp, product: &str) -> (i64, i64) {
    let r = app
        .as_user("anyone", PRODUCT, json!({ "id": product }))
        .await;
    let node = &r.data()["node"];
    (
        node["stock"].as_i64().unwrap(),
        node["heldStock"].as_i64().unwrap(),
    )
}

async fn stored_status(app: &TestApp, order: &str) -> String {
    sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
        .bind(TestApp::db_id(order))
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn cancel(app: &TestApp, sub: &str, order: &str) -> String {
    let r = app
        .as_user(
            sub,
            "mutation($i: CancelOrderInput!) { cancelOrder(input: $i) { userErrors { code } } }",
            json!({ "i": { "orderId": order } }),
        )
        .await;
    outcome(&r, "cancelOrder")
}

#[tokio::test]
async fn an_order_reads_expired_once_its_window_closes_and_cannot_be_paid() {
    let app = app(&[("ORDER_PAYMENT_WINDOW_SECS", "1")]).await;
    let lamp = app.create_product("Lamp", 1_500, 5).await;
    app.charge("ann", 10_000).await;
    let order = app.create_order("ann", &[(&lamp, 2)]).await;
    let node = order_node(&app, "ann", &order).await;
    assert_eq!(node["status"], "PENDING");
    assert_eq!(node["holdsStock"], false, "holds are off by default");
    let created =
        chrono::DateTime::parse_from_rfc3339(node["createdAt"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(node["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(
        expires - created,
        chrono::Duration::seconds(1),
        "the window"
    );

    // Nothing sweeps in this test: the status reads EXPIRED by the
    // database's clock alone, everywhere.
    wait_until("the window to close", async || {
        order_node(&app, "ann", &order).await["status"] == "EXPIRED"
    })
    .await;
    assert_eq!(stored_status(&app, &order).await, "PENDING");
    let list = |status: &str| {
        let app = &app;
        let status = status.to_owned();
        async move {
            let r = app
                .as_user(
                    "ann",
                    "query($s: OrderStatus) { viewer { orders(status: $s) { totalCount nodes { id status } } } }",
                    json!({ "s": status }),
                )
                .await;
            r.data()["viewer"]["orders"].clone()
        }
    };
    assert_eq!(list("PENDING").await["totalCount"], 0);
    assert_eq!(list("EXPIRED").await["nodes"][0]["status"], "EXPIRED");
    assert_eq!(
        order_node(&app, "ann", &order).await["quote"]["userErrors"][0]["code"],
        "ORDER_EXPIRED"
    );

    let paid = app.pay("ann", &order, None).await;
    assert_eq!(outcome(&paid, "payOrder"), "ORDER_EXPIRED");
    assert_eq!(paid.data()["payOrder"]["order"]["status"], "EXPIRED");
    assert_eq!(cancel(&app, "ann", &order).await, "ORDER_EXPIRED");
    assert_eq!(app.balance_and_ledger("ann").await, (10_000, 10_000));
    assert_eq!(stock_of(&app, &lamp).await, (5, 0));
    assert_eq!(app.count("SELECT count(*) FROM payments").await, 0);

    // The sweep stores it, once, with its event.
    assert_eq!(app.state.sweep_expired_orders().await.unwrap(), 1);
    assert_eq!(app.state.sweep_expired_orders().await.unwrap(), 0);
    assert_eq!(stored_status(&app, &order).await, "EXPIRED");
    let event: Value = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE event_type = 'com.commerce.order.expired'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let problems = violations_of(
        include_str!("../../docs/events/order-expired.schema.json"),
        &event,
    );
    assert!(problems.is_empty(), "{problems:?}\n{event}");
    assert_eq!(event["data"]["orderId"], order.as_str());
    assert_eq!(event["data"]["totalAmount"], "3000");
    app.assert_invariants().await;
}

#[tokio::test]
async fn without_a_window_an_order_never_expires() {
    let app = app(&[("ORDER_PAYMENT_WINDOW_SECS", "0")]).await;
    let lamp = app.create_product("Lamp", 1_500, 5).await;
    let order = app.create_order("ann", &[(&lamp, 1)]).await;
    assert!(order_node(&app, "ann", &order).await["expiresAt"].is_null());
    sqlx::query("UPDATE orders SET created_at = now() - interval '10 years'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.state.sweep_expired_orders().await.unwrap(), 0);
    assert_eq!(order_node(&app, "ann", &order).await["status"], "PENDING");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_creates_for_ten_held_units_make_ten_orders() {
    let a = Arc::new(app(&HOLDS).await);
    let b = Arc::new(beside(&a, &HOLDS).await);
    let drop = a.create_product("Sneaker", 9_900, 10).await;
    let tasks = (0..40).map(|i| {
        let app = if i % 2 == 0 { a.clone() } else { b.clone() };
        let drop = drop.clone();
        tokio::spawn(async move {
            let r = app
                .as_user(
                    &format!("fan-{i}"),
                    CREATE_ORDER,
                    json!({ "i": { "items": [{ "productId": drop, "quantity": 1 }] } }),
                )
                .await;
            outcome(&r, "createOrder")
        })
    });
    let outcomes = joined(tasks).await;
    let tally = tally(&outcomes);
    assert_eq!(tally.get("ok"), Some(&10), "{tally:?}");
    assert_eq!(tally.get("PRODUCT_OUT_OF_STOCK"), Some(&30), "{tally:?}");
    assert_eq!(stock_of(&a, &drop).await, (0, 10));
    assert_eq!(
        a.count("SELECT count(*) FROM orders WHERE holds_stock AND status = 'PENDING'")
            .await,
        10
    );
    a.assert_invariants().await;
}

#[tokio::test]
async fn held_units_become_the_sale_or_go_back_on_cancel_and_expiry() {
    let app = app(&HOLDS).await;
    let lamp = app.create_product("Lamp", 1_000, 6).await;
    app.charge("ann", 100_000).await;
    let cancelled = app.create_order("ann", &[(&lamp, 2)]).await;
    let expired = app.create_order("ann", &[(&lamp, 3)]).await;
    let paid = app.create_order("ann", &[(&lamp, 1)]).await;
    assert_eq!(order_node(&app, "ann", &paid).await["holdsStock"], true);
    assert_eq!(stock_of(&app, &lamp).await, (0, 6));
    // Free stock is what new orders may take.
    let r = app
        .as_user(
            "bob",
            CREATE_ORDER,
            json!({ "i": { "items": [{ "productId": lamp, "quantity": 1 }] } }),
        )
        .await;
    assert_eq!(outcome(&r, "createOrder"), "PRODUCT_OUT_OF_STOCK");

    assert_eq!(cancel(&app, "ann", &cancelled).await, "ok");
    assert_eq!(stock_of(&app, &lamp).await, (2, 4));
    assert_eq!(cancel(&app, "ann", &cancelled).await, "ORDER_CANCELLED");
    assert_eq!(stock_of(&app, &lamp).await, (2, 4), "given back once");

    overdue(&app, &[&expired]).await;
    assert_eq!(app.state.sweep_expired_orders().await.unwrap(), 1);
    assert_eq!(stock_of(&app, &lamp).await, (5, 1));

    // Paying takes the held unit, not a free one.
    assert_eq!(
        outcome(&app.pay("ann", &paid, None).await, "payOrder"),
        "ok"
    );
    assert_eq!(stock_of(&app, &lamp).await, (5, 0));
    // A refund gives the sold unit back to free stock, as without holds.
    let refunded = app
        .as_admin(
            "mutation($i: RefundOrderInput!) { refundOrder(input: $i) { userErrors { code } } }",
            json!({ "i": { "orderId": paid } }),
        )
        .await;
    assert_eq!(outcome(&refunded, "refundOrder"), "ok");
    assert_eq!(
        stock_of(&app, &lamp).await,
        (6, 0),
        "free + held + sold = 6"
    );
    app.assert_invariants().await;
}

#[tokio::test]
async fn an_admin_cannot_take_held_units_and_archiving_leaves_holds_to_expire() {
    let app = app(&HOLDS).await;
    let lamp = app.create_product("Lamp", 1_000, 5).await;
    app.charge("ann", 100_000).await;
    let order = app.create_order("ann", &[(&lamp, 3)]).await;
    let adjust = |delta: i32| {
        let (app, lamp) = (&app, lamp.clone());
        async move {
            app.as_admin(
                "mutation($i: AdjustStockInput!) { adjustStock(input: $i) {
                    product { stock heldStock } userErrors { code message } } }",
                json!({ "i": { "productId": lamp, "delta": delta } }),
            )
            .await
        }
    };
    let refused = adjust(-3).await;
    let error = &refused.data()["adjustStock"]["userErrors"][0];
    assert_eq!(error["code"], "INVALID_INPUT");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("2 units are free") && message.contains("3 more are held"),
        "{message}"
    );
    assert_eq!(stock_of(&app, &lamp).await, (2, 3));
    let r = adjust(-2).await;
    assert_eq!(
        r.data()["adjustStock"]["product"],
        json!({ "stock": 0, "heldStock": 3 })
    );

    // An archived product is sold no more, held or not; its units come
    // back to it when the order's window closes.
    app.as_admin(
        "mutation($i: ArchiveProductInput!) { archiveProduct(input: $i) { product { id } } }",
        json!({ "i": { "productId": lamp } }),
    )
    .await;
    assert_eq!(
        outcome(&app.pay("ann", &order, None).await, "payOrder"),
        "PRODUCT_NOT_FOUND"
    );
    overdue(&app, &[&order]).await;
    assert_eq!(app.state.sweep_expired_orders().await.unwrap(), 1);
    assert_eq!(stock_of(&app, &lamp).await, (3, 0));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_sweeping_at_once_expire_and_release_each_order_once() {
    let env = [("ORDER_HOLD_STOCK", "true"), ("ORDER_SWEEP_BATCH", "7")];
    let a = Arc::new(app(&env).await);
    let b = Arc::new(beside(&a, &env).await);
    let products = [
        a.create_product("Mug", 500, 1_000).await,
        a.create_product("Cup", 700, 1_000).await,
    ];
    let mut orders = Vec::new();
    for i in 0..150 {
        let lines = [(products[0].as_str(), 1 + i % 3), (products[1].as_str(), 2)];
        orders.push(a.create_order(&format!("ann-{}", i % 10), &lines).await);
    }
    assert_eq!(stock_of(&a, &products[0]).await, (1_000 - 300, 300));
    let ids: Vec<&str> = orders.iter().map(String::as_str).collect();
    overdue(&a, &ids).await;

    // A sweep that loses its conflicts twelve times in a row gives up, as
    // any write does, and the next pass takes what it left: run passes until
    // none is left, counting what each expired.
    let sweeps = (0..6).map(|i| {
        let app = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move { app.state.sweep_expired_orders().await.unwrap_or(0) })
    });
    let mut done: usize = joined(sweeps).await.into_iter().sum();
    loop {
        let next = a.state.sweep_expired_orders().await.unwrap();
        if next == 0 {
            break;
        }
        done += next;
    }
    // A pass that gave up may have expired some orders first (its count is
    // lost with its error), so `done` may fall short; the stock and the
    // events below show each order released and announced exactly once.
    assert!(done <= 150, "no order expired twice: {done}");
    assert_eq!(stock_of(&a, &products[0]).await, (1_000, 0));
    assert_eq!(stock_of(&a, &products[1]).await, (1_000, 0));
    assert_eq!(
        a.count("SELECT count(*) FROM orders WHERE status = 'EXPIRED'")
            .await,
        150
    );
    assert_eq!(
        a.count(
            "SELECT count(DISTINCT order_id) FROM outbox WHERE event_type = 'com.commerce.order.expired'"
        )
        .await,
        150
    );
    assert_eq!(
        a.count("SELECT count(*) FROM outbox WHERE event_type = 'com.commerce.order.expired'")
            .await,
        150,
        "one event per order"
    );
    a.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payments_racing_their_deadline_end_paid_with_one_charge_or_expired_with_none() {
    // Both instances sweep all the time, so the deadline meets payments,
    // sweeps and reads at once.
    let env = [
        ("ORDER_HOLD_STOCK", "true"),
        ("ORDER_SWEEP_INTERVAL_MS", "5"),
    ];
    let a = Arc::new(app(&env).await);
    let b = Arc::new(beside(&a, &env).await);
    let lamp = a.create_product("Lamp", 1_000, 500).await;
    let mut orders = Vec::new();
    for i in 0..100 {
        let user = format!("payer-{i}");
        a.charge(&user, 5_000).await;
        orders.push((user.clone(), a.create_order(&user, &[(&lamp, 2)]).await));
    }
    // Every window closes 300 ms from now; the payments go out over 600 ms.
    let ids: Vec<i64> = orders.iter().map(|(_, o)| TestApp::db_id(o)).collect();
    sqlx::query(
        "UPDATE orders SET expires_at = now() + interval '300 milliseconds' WHERE id = ANY($1)",
    )
    .bind(&ids)
    .execute(&a.pool)
    .await
    .unwrap();
    let payments = orders.iter().enumerate().map(|(i, (user, order))| {
        let app = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (user, order) = (user.clone(), order.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(6 * i as u64)).await;
            let r = app.pay(&user, &order, None).await;
            (order, outcome(&r, "payOrder"))
        })
    });
    let answers: HashMap<String, String> = joined(payments).await.into_iter().collect();
    wait_until("every window to be swept", async || {
        a.count("SELECT count(*) FROM orders WHERE status = 'PENDING'")
            .await
            == 0
    })
    .await;

    let mut paid_units = 0;
    for (user, order) in &orders {
        let status = stored_status(&a, order).await;
        let answer = &answers[order];
        let payments: i64 = sqlx::query_scalar("SELECT count(*) FROM payments WHERE order_id = $1")
            .bind(TestApp::db_id(order))
            .fetch_one(&a.pool)
            .await
            .unwrap();
        let (balance, ledger) = a.balance_and_ledger(user).await;
        assert_eq!(balance, ledger);
        match status.as_str() {
            "PAID" => {
                assert_eq!(answer, "ok", "{order}");
                assert_eq!((payments, balance), (1, 3_000), "{order}: one charge");
                paid_units += 2;
            }
            "EXPIRED" => {
                assert_eq!(answer, "ORDER_EXPIRED", "{order}");
                assert_eq!((payments, balance), (0, 5_000), "{order}: no charge");
            }
            other => panic!("{order} ended {other}"),
        }
    }
    println!("{} paid, {} expired", paid_units / 2, 100 - paid_units / 2);
    assert_eq!(stock_of(&a, &lamp).await, (500 - paid_units, 0));
    a.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscribers_see_expired_and_the_event_is_published_once_per_order() {
    let nats = NatsServer::start().await;
    let env = [
        ("ORDER_PAYMENT_WINDOW_SECS", "1"),
        ("ORDER_SWEEP_INTERVAL_MS", "20"),
    ];
    let with_nats = |database: Option<String>| Options {
        nats: Some(nats.url()),
        database,
        ..Options::with_env(&env)
    };
    let a = spawn_app_with(with_nats(None)).await;
    let b = spawn_app_with(with_nats(Some(a.db_name.clone()))).await;
    let lamp = a.create_product("Lamp", 1_000, 50).await;
    let orders: Vec<String> = {
        let mut orders = Vec::new();
        for i in 0..20 {
            orders.push(
                a.create_order(&format!("ann-{}", i % 3), &[(&lamp, 1)])
                    .await,
            );
        }
        orders
    };
    // A subscriber on the instance that did not create the order.
    let mut ws = Ws::ready(&b, &b.token("ann-0")).await;
    ws.subscribe(
        "1",
        "subscription($id: ID!) { orderUpdated(orderId: $id) { status } }",
        json!({ "id": orders[0] }),
    )
    .await;
    let first = ws.json().await;
    let first = first["payload"]["data"]["orderUpdated"]["status"].clone();
    if first == "PENDING" {
        let update = ws.json().await;
        assert_eq!(
            update["payload"]["data"]["orderUpdated"]["status"],
            "EXPIRED"
        );
    } else {
        assert_eq!(first, "EXPIRED", "the window is a second");
    }
    assert_eq!(ws.json().await, json!({ "type": "complete", "id": "1" }));

    nats.wait_for("ORDERS", 20).await;
    wait_until("every expiry published", async || {
        a.count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .await
            == 0
    })
    .await;
    let messages = nats.messages("ORDERS").await;
    let expired: Vec<&Value> = messages
        .iter()
        .map(|(_, event)| event)
        .filter(|e| e["type"] == "com.commerce.order.expired")
        .collect();
    let subjects: HashSet<&str> = expired
        .iter()
        .filter_map(|e| e["subject"].as_str())
        .collect();
    assert_eq!(expired.len(), 20, "one message per order");
    assert_eq!(subjects.len(), 20);
    assert!(orders.iter().all(|o| subjects.contains(o.as_str())));
    a.assert_invariants().await;
}
