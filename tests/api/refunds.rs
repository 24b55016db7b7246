//! `refundOrder` and `User.balanceHistory`: what a refund gives back (stock,
//! balance, coupon), its rules and bad input, what the database refuses by
//! itself, refunds that race (two instances on one database), and the
//! order-refunded event on its own subject of the `ORDERS` stream.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::event_schema::violations_of;
use crate::helpers::nats::{JetStream, NatsServer};
use crate::helpers::outbox::{STREAM, wait_until_published};
use crate::helpers::races::{joined, outcome, tally, two_instances};
use crate::helpers::{Gql, Options, TestApp, buyers, spawn_app, spawn_app_with};

const REFUND: &str = "mutation($i: RefundOrderInput!) { refundOrder(input: $i) {
    order { id status paidAt refundedAt payableAmount } userErrors { code field message } } }";

const HISTORY: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
    viewer { balance balanceHistory(first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor startCursor }
        edges { cursor node { id kind amount order { id status } createdAt } } } } }";

async fn refund(app: &TestApp, order: &str, reason: Option<&str>) -> Gql {
    app.as_admin(
        REFUND,
        json!({ "i": { "orderId": order, "reason": reason } }),
    )
    .await
}

async fn stock(app: &TestApp, product: &str) -> i32 {
    sqlx::query_scalar("SELECT stock FROM products WHERE id = $1")
        .bind(TestApp::db_id(product))
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// A paid order of `user` (charged `balance` first) for `quantity` units of `product`.
async fn paid_order(app: &TestApp, user: &str, product: &str, quantity: i32) -> String {
    app.charge(user, 100_000).await;
    let order = app.create_order(user, &[(product, quantity)]).await;
    let paid = app.pay(user, &order, None).await;
    assert_eq!(
        paid.data()["payOrder"]["order"]["status"],
        "PAID",
        "{}",
        paid.body
    );
    order
}

#[tokio::test]
async fn a_refund_gives_back_stock_and_balance_and_records_both() {
    let app = spawn_app().await;
    let mug = app.create_product("Mug", 1_200, 10).await;
    let order = paid_order(&app, "ann", &mug, 3).await;
    assert_eq!(stock(&app, &mug).await, 7);
    assert_eq!(app.balance_and_ledger("ann").await, (96_400, 96_400));

    let r = refund(&app, &order, Some("damaged in transit")).await;
    assert_eq!(outcome(&r, "refundOrder"), "ok");
    let refunded = &r.data()["refundOrder"]["order"];
    assert_eq!(refunded["status"], "REFUNDED");
    assert!(refunded["refundedAt"].is_string() && refunded["paidAt"].is_string());
    assert_eq!(stock(&app, &mug).await, 10, "the three units are back");
    assert_eq!(app.balance_and_ledger("ann").await, (100_000, 100_000));
    let reason: Option<String> =
        sqlx::query_scalar("SELECT refund_reason FROM orders WHERE id = $1")
            .bind(TestApp::db_id(&order))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(reason.as_deref(), Some("damaged in transit"));

    // The owner sees it refunded; the payment is still on record.
    let seen = app
        .as_user(
            "ann",
            "query($id: ID!) { node(id: $id) { ... on Order { status refundedAt payment { amount } } } }",
            json!({ "id": order }),
        )
        .await;
    assert_eq!(seen.data()["node"]["status"], "REFUNDED");
    assert_eq!(seen.data()["node"]["payment"]["amount"], "3600");

    // One event in the outbox, with the refund's data.
    let payload: Value = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE event_type = 'com.commerce.order.refunded'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(payload["type"], "com.commerce.order.refunded");
    assert_eq!(payload["subject"], order.as_str());
    let data = &payload["data"];
    assert_eq!(data["orderId"], order.as_str());
    assert_eq!(data["status"], "REFUNDED");
    assert_eq!(data["user"]["subject"], "ann");
    assert_eq!(data["refundedAmount"], "3600");
    assert_eq!(data["payableAmount"], "3600");
    assert_eq!(data["reason"], "damaged in transit");
    assert_eq!(data["items"][0]["productId"], mug.as_str());
    assert_eq!(data["items"][0]["quantity"], 3);
    assert_eq!(data["refundedAt"], refunded["refundedAt"]);
    app.assert_invariants().await;
}

#[tokio::test]
async fn balance_history_lists_the_ledger_newest_first() {
    let app = spawn_app().await;
    let mug = app.create_product("Mug", 1_000, 10).await;
    let order = paid_order(&app, "ann", &mug, 2).await;
    assert_eq!(
        outcome(&refund(&app, &order, None).await, "refundOrder"),
        "ok"
    );

    let all = app.as_user("ann", HISTORY, json!({ "first": 10 })).await;
    let history = &all.data()["viewer"]["balanceHistory"];
    assert_eq!(history["totalCount"], 3);
    let entries: Vec<(&str, &str)> = history["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["kind"].as_str().unwrap(),
                e["node"]["amount"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("REFUND", "2000"),
            ("PAYMENT", "2000"),
            ("CHARGE", "100000")
        ]
    );
    let edges = history["edges"].as_array().unwrap();
    assert_eq!(edges[0]["node"]["order"]["id"], order.as_str());
    assert_eq!(edges[1]["node"]["order"]["status"], "REFUNDED");
    assert!(edges[2]["node"]["order"].is_null(), "a charge has no order");

    // Keyset pages, both ways.
    let first = app.as_user("ann", HISTORY, json!({ "first": 2 })).await;
    let page = &first.data()["viewer"]["balanceHistory"];
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let next = app
        .as_user(
            "ann",
            HISTORY,
            json!({ "first": 2, "after": page["pageInfo"]["endCursor"] }),
        )
        .await;
    let rest = &next.data()["viewer"]["balanceHistory"];
    assert_eq!(rest["edges"][0]["node"]["kind"], "CHARGE");
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    assert_eq!(rest["pageInfo"]["hasPreviousPage"], true);
    let back = app
        .as_user(
            "ann",
            HISTORY,
            json!({ "last": 1, "before": rest["edges"][0]["cursor"] }),
        )
        .await;
    assert_eq!(
        back.data()["viewer"]["balanceHistory"]["edges"][0]["node"]["kind"],
        "PAYMENT"
    );

    // node(id): the owner and admins, no one else.
    let entry = edges[0]["node"]["id"].as_str().unwrap();
    let node = "query($id: ID!) { node(id: $id) { ... on BalanceEntry { kind amount } } }";
    let own = app.as_user("ann", node, json!({ "id": entry })).await;
    assert_eq!(own.data()["node"]["kind"], "REFUND");
    let other = app.as_user("bob", node, json!({ "id": entry })).await;
    assert!(other.data()["node"].is_null(), "{}", other.body);
    let admin = app.as_admin(node, json!({ "id": entry })).await;
    assert_eq!(admin.data()["node"]["amount"], "2000");
}

#[tokio::test]
async fn refund_rules_and_bad_input_change_nothing() {
    let app = spawn_app().await;
    let mug = app.create_product("Mug", 1_000, 10).await;
    let paid = paid_order(&app, "ann", &mug, 1).await;
    let pending = app.create_order("ann", &[(&mug, 1)]).await;
    let cancelled = app.create_order("ann", &[(&mug, 1)]).await;
    app.as_user(
        "ann",
        "mutation($i: CancelOrderInput!) { cancelOrder(input: $i) { userErrors { code } } }",
        json!({ "i": { "orderId": cancelled } }),
    )
    .await;
    let before = (stock(&app, &mug).await, app.balance_and_ledger("ann").await);

    // Admins only.
    let user = app
        .as_user("ann", REFUND, json!({ "i": { "orderId": paid } }))
        .await;
    assert_eq!(user.error_code(), "FORBIDDEN");

    let codes = |r: &Gql| {
        (
            r.user_error_codes("refundOrder"),
            r.user_error_fields("refundOrder"),
        )
    };
    let order_field = || vec!["input.orderId".to_owned()];
    assert_eq!(
        codes(&refund(&app, &pending, None).await),
        (vec!["ORDER_NOT_PAID".to_owned()], order_field())
    );
    assert_eq!(
        codes(&refund(&app, &cancelled, None).await).0,
        ["ORDER_NOT_PAID"]
    );
    let missing = commerce::global_id::encode("Order", 999_999);
    assert_eq!(
        codes(&refund(&app, &missing, None).await),
        (vec!["ORDER_NOT_FOUND".to_owned()], order_field())
    );
    // Another type's id, per the id-decoding convention of every input.
    assert_eq!(
        codes(&refund(&app, &mug, None).await),
        (vec!["INVALID_INPUT".to_owned()], order_field())
    );
    let long = "x".repeat(501);
    assert_eq!(
        codes(&refund(&app, &paid, Some(&long)).await),
        (
            vec!["INVALID_INPUT".to_owned()],
            vec!["input.reason".to_owned()]
        )
    );
    assert_eq!(
        codes(&refund(&app, &paid, Some("bad\u{0}byte")).await).1,
        ["input.reason"]
    );
    assert_eq!(
        codes(&refund(&app, &mug, Some(&long)).await).1,
        ["input.orderId", "input.reason"],
        "every bad input at once"
    );
    assert_eq!(
        (stock(&app, &mug).await, app.balance_and_ledger("ann").await),
        before,
        "nothing changed"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM orders WHERE status = 'REFUNDED'")
            .await,
        0
    );

    // 500 characters is fine; the second refund refunds nothing.
    let ok = refund(&app, &paid, Some(&"é".repeat(500))).await;
    assert_eq!(outcome(&ok, "refundOrder"), "ok");
    let again = refund(&app, &paid, None).await;
    assert_eq!(codes(&again).0, ["ORDER_ALREADY_REFUNDED"]);
    assert_eq!(
        again.data()["refundOrder"]["order"]["status"],
        "REFUNDED",
        "the retry learns the outcome"
    );
    // A refunded order cannot be paid again: it was paid.
    let repay = app.pay("ann", &paid, None).await;
    assert_eq!(repay.user_error_codes("payOrder"), ["ORDER_ALREADY_PAID"]);
    assert_eq!(
        app.count("SELECT count(*) FROM balance_ledger WHERE kind = 'REFUND'")
            .await,
        1
    );
    assert_eq!(app.balance_and_ledger("ann").await.0, 100_000);
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_refund_never_takes_a_balance_past_its_limit() {
    let app = spawn_app().await;
    let mug = app.create_product("Mug", 1_000, 10).await;
    let order = paid_order(&app, "ann", &mug, 1).await;
    // Charged up to the limit since paying (written directly: a charge is
    // at most 10^11).
    sqlx::query(
        "INSERT INTO balance_ledger (user_id, kind, amount)
         SELECT id, 'CHARGE', 1000000000000000 - balance FROM users WHERE subject = 'ann'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let r = refund(&app, &order, None).await;
    assert_eq!(r.user_error_codes("refundOrder"), ["INVALID_INPUT"]);
    assert_eq!(r.user_error_fields("refundOrder"), ["input.orderId"]);
    assert_eq!(stock(&app, &mug).await, 9, "nothing changed");
    assert_eq!(
        app.count("SELECT count(*) FROM orders WHERE status = 'REFUNDED'")
            .await,
        0
    );
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_refunded_coupon_is_available_again_while_its_campaign_runs() {
    let app = spawn_app().await;
    let mug = app.create_product("Mug", 1_000, 10).await;
    let open = app
        .create_campaign("FIXED_AMOUNT", 300, 10, (-1, None))
        .await;
    let closing = app
        .create_campaign("PERCENTAGE", 50, 10, (-2, Some(1)))
        .await;
    app.charge("ann", 100_000).await;
    let coupons = "{ viewer { coupons(first: 10) { nodes { id status } } } }";
    let status_of = async |coupon: &str| -> String {
        let r = app.as_user("ann", coupons, json!({})).await;
        r.data()["viewer"]["coupons"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == coupon)
            .map(|c| c["status"].as_str().unwrap().to_owned())
            .unwrap()
    };

    // A coupon of a running campaign comes back AVAILABLE, and pays again.
    let coupon = app.grant_coupon("ann", open).await;
    let first = app.create_order("ann", &[(&mug, 1)]).await;
    let paid = app.pay("ann", &first, Some(&coupon)).await;
    assert_eq!(paid.data()["payOrder"]["order"]["payableAmount"], "700");
    assert_eq!(status_of(&coupon).await, "USED");
    assert_eq!(
        outcome(&refund(&app, &first, None).await, "refundOrder"),
        "ok"
    );
    assert_eq!(status_of(&coupon).await, "AVAILABLE");
    assert_eq!(app.balance_and_ledger("ann").await.0, 100_000);
    let second = app.create_order("ann", &[(&mug, 1)]).await;
    let again = app.pay("ann", &second, Some(&coupon)).await;
    assert_eq!(
        again.data()["payOrder"]["order"]["status"],
        "PAID",
        "{}",
        again.body
    );

    // One whose campaign has closed since is EXPIRED, not USED.
    let late = app.grant_coupon("ann", closing).await;
    let third = app.create_order("ann", &[(&mug, 2)]).await;
    assert_eq!(
        app.pay("ann", &third, Some(&late)).await.data()["payOrder"]["order"]["payableAmount"],
        "1000"
    );
    sqlx::query(
        "UPDATE coupons SET valid_from = now() - interval '2 hours', valid_until = now() - interval '1 hour'
         WHERE id = $1",
    )
    .bind(closing)
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        outcome(&refund(&app, &third, None).await, "refundOrder"),
        "ok"
    );
    assert_eq!(status_of(&late).await, "EXPIRED");
    // The event names the coupon the refund released.
    let payload: Value = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE event_type = 'com.commerce.order.refunded' AND order_id = $1",
    )
    .bind(TestApp::db_id(&third))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(payload["data"]["coupon"]["userCouponId"], late.as_str());
    assert_eq!(payload["data"]["refundedAmount"], "1000");
    let problems = violations_of(
        include_str!("../../docs/events/order-refunded.schema.json"),
        &payload,
    );
    assert!(problems.is_empty(), "{problems:?}");
    app.assert_invariants().await;
}

#[tokio::test]
async fn the_database_refuses_a_refund_that_is_not_whole() {
    let app = spawn_app().await;
    let mug = app.create_product("Mug", 1_000, 10).await;
    let order = TestApp::db_id(&paid_order(&app, "ann", &mug, 1).await);
    let refused = async |sql: &str| {
        let mut tx = app.pool.begin().await.unwrap();
        let statement = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(order)
            .execute(&mut *tx)
            .await;
        statement.is_err() || tx.commit().await.is_err()
    };
    assert!(
        refused("UPDATE orders SET status = 'REFUNDED', refunded_at = now() WHERE id = $1").await,
        "a REFUNDED order without its REFUND row"
    );
    assert!(
        refused(
            "INSERT INTO balance_ledger (user_id, kind, amount, order_id)
             SELECT user_id, 'REFUND', 1000, id FROM orders WHERE id = $1"
        )
        .await,
        "a REFUND row of a PAID order"
    );
    assert!(
        refused(
            "WITH o AS (UPDATE orders SET status = 'REFUNDED', refunded_at = now() WHERE id = $1
                        RETURNING user_id, id)
             INSERT INTO balance_ledger (user_id, kind, amount, order_id)
             SELECT user_id, 'REFUND', 999, id FROM o"
        )
        .await,
        "a REFUND row of another amount"
    );
    assert!(
        refused("UPDATE orders SET status = 'REFUNDED', paid_at = NULL WHERE id = $1").await,
        "a REFUNDED order without paid_at"
    );
    assert_eq!(
        outcome(
            &refund(&app, &commerce::global_id::encode("Order", order), None).await,
            "refundOrder"
        ),
        "ok"
    );
    assert!(
        refused("UPDATE orders SET status = 'PAID', refunded_at = NULL WHERE id = $1").await,
        "a refund is final"
    );
    assert!(
        refused(
            "INSERT INTO balance_ledger (user_id, kind, amount, order_id)
             SELECT user_id, 'REFUND', 1000, id FROM orders WHERE id = $1"
        )
        .await,
        "a second REFUND row"
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_refunds_of_one_order_refund_it_once() {
    let (a, b) = two_instances().await;
    let mug = a.create_product("Mug", 1_500, 20).await;
    let order = paid_order(&a, "ann", &mug, 4).await;
    let refunds = (0..10).map(|i| {
        let app = if i % 2 == 0 { a.clone() } else { b.clone() };
        let order = order.clone();
        tokio::spawn(async move { outcome(&refund(&app, &order, None).await, "refundOrder") })
    });
    let outcomes: Vec<String> = joined(refunds).await;
    let tally = tally(&outcomes);
    assert_eq!(tally.get("ok"), Some(&1), "{tally:?}");
    assert_eq!(tally.get("ORDER_ALREADY_REFUNDED"), Some(&9), "{tally:?}");
    assert_eq!(stock(&a, &mug).await, 20, "the units came back once");
    assert_eq!(a.balance_and_ledger("ann").await, (100_000, 100_000));
    assert_eq!(
        a.count("SELECT count(*) FROM balance_ledger WHERE kind = 'REFUND'")
            .await,
        1
    );
    a.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refund_racing_payments_of_its_order_never_charges_twice() {
    let (a, b) = two_instances().await;
    let mug = a.create_product("Mug", 1_000, 100).await;
    // Paid orders, each refunded while its payer tries to pay it again.
    for round in 0..5 {
        let user = format!("payer-{round}");
        let order = paid_order(&a, &user, &mug, 1).await;
        let refund = {
            let (app, order) = (b.clone(), order.clone());
            tokio::spawn(async move { outcome(&refund(&app, &order, None).await, "refundOrder") })
        };
        let payments = (0..6).map(|i| {
            let app = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (user, order) = (user.clone(), order.clone());
            tokio::spawn(async move { outcome(&app.pay(&user, &order, None).await, "payOrder") })
        });
        let paid: Vec<String> = joined(payments).await;
        assert_eq!(refund.await.unwrap(), "ok");
        assert!(paid.iter().all(|p| p == "ORDER_ALREADY_PAID"), "{paid:?}");
        assert_eq!(a.balance_and_ledger(&user).await, (100_000, 100_000));
    }
    // A first payment racing a refund of its still PENDING order: the
    // refund is refused (not paid yet) or refunds the payment that won.
    for round in 0..5 {
        let user = format!("racer-{round}");
        a.charge(&user, 100_000).await;
        let order = a.create_order(&user, &[(&mug, 1)]).await;
        let refund = {
            let (app, order) = (b.clone(), order.clone());
            tokio::spawn(async move { outcome(&refund(&app, &order, None).await, "refundOrder") })
        };
        let pay = {
            let (app, user, order) = (a.clone(), user.clone(), order.clone());
            tokio::spawn(async move { outcome(&app.pay(&user, &order, None).await, "payOrder") })
        };
        let (refunded, paid) = (refund.await.unwrap(), pay.await.unwrap());
        assert_eq!(paid, "ok");
        let balance = a.balance_and_ledger(&user).await.0;
        match refunded.as_str() {
            "ok" => assert_eq!(balance, 100_000),
            "ORDER_NOT_PAID" => assert_eq!(balance, 99_000),
            other => panic!("refund answered {other}"),
        }
    }
    let sold = a
        .count("SELECT COALESCE(sum(i.quantity), 0)::BIGINT FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.status = 'PAID'")
        .await;
    assert_eq!(i64::from(stock(&a, &mug).await), 100 - sold);
    a.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refunds_of_many_orders_of_a_hot_product_restore_its_stock_exactly() {
    let (a, b) = two_instances().await;
    let mug = a.create_product("Hot mug", 700, 300).await;
    let orders = buyers(&a, &mug, 150, "hot", 10_000, 2).await;
    let payments = orders.iter().map(|(user, order)| {
        let (app, user, order) = (a.clone(), user.clone(), order.clone());
        tokio::spawn(async move { outcome(&app.pay(&user, &order, None).await, "payOrder") })
    });
    for paid in joined(payments).await {
        assert_eq!(paid, "ok");
    }
    assert_eq!(stock(&a, &mug).await, 0);
    // Two of every three refunded, split across the instances.
    let refunds = orders
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 0)
        .map(|(i, (_, order))| {
            let app = if i % 2 == 0 { a.clone() } else { b.clone() };
            let order = order.clone();
            tokio::spawn(async move { outcome(&refund(&app, &order, None).await, "refundOrder") })
        });
    let outcomes: Vec<String> = joined(refunds).await;
    assert_eq!(
        tally(&outcomes).get("ok"),
        Some(&100),
        "{:?}",
        tally(&outcomes)
    );
    assert_eq!(
        stock(&a, &mug).await,
        200,
        "two units back per refund, exactly"
    );
    for (i, (user, _)) in orders.iter().enumerate() {
        let expected = if i % 3 == 0 { 8_600 } else { 10_000 };
        assert_eq!(a.balance_and_ledger(user).await.0, expected, "{user}");
    }
    a.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refund_is_one_message_on_the_refunded_subject_of_an_older_stream() {
    let nats = NatsServer::start().await;
    // The stream as an older version created it: order-paid events only.
    let js = nats.jetstream().await;
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "ORDERS".into(),
        subjects: vec!["orders.paid".into()],
        ..Default::default()
    })
    .await
    .unwrap();

    let app = spawn_app_with(Options {
        nats: Some(nats.url()),
        ..Default::default()
    })
    .await;
    let mug = app.create_product("Mug", 1_000, 10).await;
    let order = paid_order(&app, "ann", &mug, 2).await;
    nats.wait_for(STREAM, 1).await;
    let mut stream = js.get_stream("ORDERS").await.unwrap();
    let subjects = stream.info().await.unwrap().config.subjects.clone();
    assert_eq!(
        subjects,
        ["orders.paid", "orders.refunded", "orders.expired"],
        "the subjects were added"
    );

    assert_eq!(
        outcome(
            &refund(&app, &order, Some("customer changed their mind")).await,
            "refundOrder"
        ),
        "ok"
    );
    nats.wait_for(STREAM, 2).await;
    // The relay has nothing more to publish: two events, both published.
    wait_until_published(&app).await;
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 2);
    let info = stream.info().await.unwrap().state.clone();
    assert_eq!(info.messages, 2, "one paid, one refunded: nothing else");
    let mut by_subject = HashMap::new();
    for seq in info.first_sequence..=info.last_sequence {
        let message = stream.get_raw_message(seq).await.unwrap();
        let event: Value = serde_json::from_slice(&message.payload).unwrap();
        by_subject.insert(message.subject.to_string(), event);
    }
    let event = &by_subject["orders.refunded"];
    let problems = violations_of(
        include_str!("../../docs/events/order-refunded.schema.json"),
        event,
    );
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(event["type"], "com.commerce.order.refunded");
    assert_eq!(event["source"], "urn:commerce:payments");
    assert_eq!(event["specversion"], "1.0");
    let data = &event["data"];
    assert_eq!(data["orderId"], order.as_str());
    assert_eq!(data["status"], "REFUNDED");
    assert_eq!(data["user"]["subject"], "ann");
    assert_eq!(data["totalAmount"], "2000");
    assert_eq!(data["refundedAmount"], "2000");
    assert_eq!(data["reason"], "customer changed their mind");
    assert_eq!(data["items"][0]["quantity"], 2);
    assert!(data["refundedAt"].is_string() && data["paidAt"].is_string());
    assert_eq!(by_subject["orders.paid"]["type"], "com.commerce.order.paid");
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_refund_reason_holds_no_control_characters() {
    let app = spawn_app().await;
    let product = app.create_product("Lamp", 1_000, 5).await;
    let order = paid_order(&app, "ann", &product, 1).await;
    for bad in ["wrong\u{1b}[31m colour", "tab\tseparated", "bell\u{7}"] {
        let r = refund(&app, &order, Some(bad)).await;
        assert_eq!(
            r.user_error_codes("refundOrder"),
            ["INVALID_INPUT"],
            "{bad:?}"
        );
        assert_eq!(r.user_error_fields("refundOrder"), ["input.reason"]);
    }
    assert_eq!(stock(&app, &product).await, 4, "nothing was refunded");
    // Line breaks are text, as in any note.
    let r = refund(&app, &order, Some("broken on arrival\nsee photos")).await;
    assert_eq!(outcome(&r, "refundOrder"), "ok", "{}", r.body);
    // And the database keeps a direct write to the rule.
    let written = sqlx::query("UPDATE orders SET refund_reason = $1 WHERE id = $2")
        .bind("\u{1b}[2J")
        .bind(TestApp::db_id(&order))
        .execute(&app.pool)
        .await;
    let error = written.expect_err("refused").to_string();
    assert!(error.contains("orders_refund_reason_is_text"), "{error}");
}
