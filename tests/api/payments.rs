//! payOrder: what a payment changes, coupons, and every refusal (each of
//! which changes nothing).

use serde_json::{Value, json};

use crate::helpers::wait::{eventually, wait_until};
use crate::helpers::{PAY_ORDER, TestApp, spawn_app};

const ADD_TO_CART: &str =
    "mutation($i: AddCartItemInput!) { addCartItem(input: $i) { userErrors { code } } }";

/// Everything a payment may change, to compare before and after.
#[derive(Debug, PartialEq)]
struct State {
    balances: Vec<(String, i64)>,
    stock: Vec<(i64, i32)>,
    orders: Vec<(i64, String, i64)>,
    payments: i64,
    ledger: i64,
    outbox: i64,
    used_coupons: i64,
    cart: i64,
}

async fn state(app: &TestApp) -> State {
    State {
        balances: sqlx::query_as("SELECT subject, balance FROM users ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap(),
        stock: sqlx::query_as("SELECT id, stock FROM products ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap(),
        orders: sqlx::query_as("SELECT id, status, discount_amount FROM orders ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap(),
        payments: app.count("SELECT count(*) FROM payments").await,
        ledger: app.count("SELECT count(*) FROM balance_ledger").await,
        outbox: app.count("SELECT count(*) FROM outbox").await,
        used_coupons: app
            .count("SELECT count(*) FROM user_coupons WHERE used_at IS NOT NULL")
            .await,
        cart: app.count("SELECT count(*) FROM cart_items").await,
    }
}

#[tokio::test]
async fn a_payment_takes_stock_and_balance_and_records_everything_once() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 1_500, 10).await;
    let mug = app.create_product("Mug", 12_000, 3).await;
    let pot = app.create_product("Pot", 30_000, 1).await;
    app.charge("alice", 50_000).await;
    for product in [&tea, &pot] {
        let r = app
            .as_user(
                "alice",
                ADD_TO_CART,
                json!({"i": {"productId": product, "quantity": 1}}),
            )
            .await;
        assert!(r.user_error_codes("addCartItem").is_empty());
    }
    let order = app.create_order("alice", &[(&tea, 4), (&mug, 1)]).await;

    let r = app.pay("alice", &order, None).await;
    assert!(r.user_error_codes("payOrder").is_empty(), "{}", r.body);
    let paid = &r.data()["payOrder"];
    assert_eq!(paid["order"]["status"], "PAID");
    assert_eq!(paid["order"]["payableAmount"], "18000");
    assert!(paid["order"]["coupon"].is_null());
    assert_eq!(paid["payment"]["amount"], "18000");
    assert_eq!(paid["payment"]["order"]["id"], order);
    assert_eq!(paid["payment"]["paidAt"], paid["order"]["paidAt"]);

    assert_eq!(app.balance_and_ledger("alice").await, (32_000, 32_000));
    let stock: Vec<i32> = sqlx::query_scalar("SELECT stock FROM products ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(stock, [6, 2, 1]);
    let cart: Vec<i64> = sqlx::query_scalar("SELECT product_id FROM cart_items")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        cart,
        [TestApp::db_id(&pot)],
        "the paid tea left the cart, the pot stayed"
    );

    // The outbox row is the complete CloudEvents message.
    let (event_id, payload): (uuid::Uuid, Value) =
        sqlx::query_as("SELECT event_id, payload FROM outbox WHERE order_id = $1")
            .bind(TestApp::db_id(&order))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(payload["specversion"], "1.0");
    assert_eq!(payload["id"], event_id.to_string());
    assert_eq!(payload["type"], "com.commerce.order.paid");
    assert!(payload["source"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(payload["subject"], order);
    let time = chrono::DateTime::parse_from_rfc3339(payload["time"].as_str().unwrap()).unwrap();
    let paid_at =
        chrono::DateTime::parse_from_rfc3339(paid["order"]["paidAt"].as_str().unwrap()).unwrap();
    assert_eq!(time, paid_at);
    let data = &payload["data"];
    assert_eq!(data["orderId"], order);
    assert_eq!(data["status"], "PAID");
    assert_eq!(data["user"]["subject"], "alice");
    assert_eq!(data["totalAmount"], "18000");
    assert_eq!(data["discountAmount"], "0");
    assert_eq!(data["payableAmount"], "18000");
    assert_eq!(data["payment"]["id"], paid["payment"]["id"]);
    assert_eq!(data["payment"]["amount"], "18000");
    assert!(data["coupon"].is_null());
    let items = data["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["productId"], tea);
    assert_eq!(items[0]["productName"], "Tea");
    assert_eq!(items[0]["quantity"], 4);
    assert_eq!(items[0]["unitPrice"], "1500");
    assert_eq!(items[0]["lineTotal"], "6000");

    // Paying again charges nothing.
    let before = state(&app).await;
    let again = app.pay("alice", &order, None).await;
    assert_eq!(again.user_error_codes("payOrder"), ["ORDER_ALREADY_PAID"]);
    assert_eq!(again.user_error_fields("payOrder"), ["input.orderId"]);
    // The retry learns the outcome: the paid order and its one payment.
    assert_eq!(again.data()["payOrder"]["order"]["status"], "PAID");
    assert_eq!(again.data()["payOrder"]["order"]["id"], order);
    assert_eq!(
        again.data()["payOrder"]["payment"]["id"],
        paid["payment"]["id"]
    );
    assert_eq!(state(&app).await, before);
    // Someone else paying it learns nothing about it.
    let foreign = app.pay("bob", &order, None).await;
    assert_eq!(foreign.user_error_codes("payOrder"), ["ORDER_NOT_FOUND"]);
    assert!(foreign.data()["payOrder"]["order"].is_null());
    assert!(foreign.data()["payOrder"]["payment"].is_null());
    app.assert_invariants().await;
}

#[tokio::test]
async fn coupons_take_a_fixed_amount_or_a_percentage_rounded_down() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 12_345, 100).await;
    app.charge("alice", 1_000_000).await;
    let cases = [
        ("FIXED_AMOUNT", 3_000, 12_345 - 3_000),
        ("PERCENTAGE", 15, 12_345 - 1_851),
        ("PERCENTAGE", 100, 0),
        ("FIXED_AMOUNT", 50_000, 0),
    ];
    let mut balance = 1_000_000;
    for (kind, value, payable) in cases {
        let campaign = app.create_campaign(kind, value, 10, (-1, Some(1))).await;
        let coupon = app.grant_coupon("alice", campaign).await;
        let order = app.create_order("alice", &[(&tea, 1)]).await;
        let r = app.pay("alice", &order, Some(&coupon)).await;
        assert!(r.user_error_codes("payOrder").is_empty(), "{}", r.body);
        let paid = &r.data()["payOrder"]["order"];
        assert_eq!(paid["payableAmount"], payable.to_string(), "{kind} {value}");
        assert_eq!(
            paid["discountAmount"],
            (12_345 - payable).to_string(),
            "{kind} {value}"
        );
        assert_eq!(paid["coupon"]["id"], coupon);
        assert_eq!(paid["coupon"]["status"], "USED");
        balance -= payable;
        assert_eq!(app.balance_and_ledger("alice").await, (balance, balance));
        let event: Value = sqlx::query_scalar("SELECT payload FROM outbox WHERE order_id = $1")
            .bind(TestApp::db_id(&order))
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(event["data"]["coupon"]["userCouponId"], coupon);
        assert_eq!(event["data"]["coupon"]["discountType"], kind);
        assert_eq!(event["data"]["coupon"]["discountValue"], value);
        assert_eq!(event["data"]["payableAmount"], payable.to_string());
    }
    app.assert_invariants().await;
}

#[tokio::test]
async fn unusable_coupons_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 1_000, 100).await;
    app.charge("alice", 100_000).await;
    let order = app.create_order("alice", &[(&tea, 1)]).await;

    let open = app
        .create_campaign("FIXED_AMOUNT", 100, 10, (-1, None))
        .await;
    let bobs = app.grant_coupon("bob", open).await;
    let expired = app
        .create_campaign("FIXED_AMOUNT", 100, 10, (-2, Some(-1)))
        .await;
    let expired = app.grant_coupon("alice", expired).await;
    let later = app
        .create_campaign("FIXED_AMOUNT", 100, 10, (1, None))
        .await;
    let not_yet = app.grant_coupon("alice", later).await;
    let used_campaign = app
        .create_campaign("FIXED_AMOUNT", 100, 10, (-1, None))
        .await;
    let used = app.grant_coupon("alice", used_campaign).await;
    let other_order = app.create_order("alice", &[(&tea, 1)]).await;
    assert!(
        app.pay("alice", &other_order, Some(&used))
            .await
            .user_error_codes("payOrder")
            .is_empty()
    );
    let missing = commerce::global_id::encode("UserCoupon", 999_999);

    let before = state(&app).await;
    for (coupon, code) in [
        (bobs.as_str(), "COUPON_NOT_FOUND"),
        (missing.as_str(), "COUPON_NOT_FOUND"),
        (expired.as_str(), "COUPON_NOT_USABLE"),
        (not_yet.as_str(), "COUPON_NOT_USABLE"),
        (used.as_str(), "COUPON_NOT_USABLE"),
        (tea.as_str(), "INVALID_INPUT"),
    ] {
        let r = app.pay("alice", &order, Some(coupon)).await;
        assert_eq!(r.user_error_codes("payOrder"), [code], "{coupon}");
        assert_eq!(r.user_error_fields("payOrder"), ["input.userCouponId"]);
        assert!(r.data()["payOrder"]["order"].is_null());
    }
    assert_eq!(state(&app).await, before, "nothing changed");
    let r = app
        .as_user(
            "alice",
            "{ viewer { orders(status: PENDING) { nodes { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.data()["viewer"]["orders"]["nodes"][0]["id"], order);
    app.assert_invariants().await;
}

#[tokio::test]
async fn an_uncovered_balance_or_a_sold_out_line_refuses_the_whole_payment() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 1_000, 5).await;
    let mug = app.create_product("Mug", 2_000, 1).await;
    app.charge("alice", 2_999).await;
    let order = app.create_order("alice", &[(&tea, 1), (&mug, 1)]).await;
    let before = state(&app).await;
    let r = app.pay("alice", &order, None).await;
    assert_eq!(r.user_error_codes("payOrder"), ["INSUFFICIENT_BALANCE"]);
    assert_eq!(state(&app).await, before);

    // Someone buys the last mug after alice ordered hers.
    app.charge("bob", 10_000).await;
    let bobs = app.create_order("bob", &[(&mug, 1)]).await;
    assert!(
        app.pay("bob", &bobs, None)
            .await
            .user_error_codes("payOrder")
            .is_empty()
    );
    app.charge("alice", 1).await;
    let before = state(&app).await;
    let r = app.pay("alice", &order, None).await;
    assert_eq!(r.user_error_codes("payOrder"), ["PRODUCT_OUT_OF_STOCK"]);
    assert!(
        r.body.to_string().contains("Mug"),
        "names the line: {}",
        r.body
    );
    assert_eq!(state(&app).await, before, "the tea was not taken either");

    // Several failures at once: sold out and not covered.
    let carols = app.create_order("carol", &[(&tea, 1)]).await;
    sqlx::query("UPDATE products SET stock = 0")
        .execute(&app.pool)
        .await
        .unwrap();
    let r = app.pay("carol", &carols, None).await;
    assert_eq!(
        r.user_error_codes("payOrder"),
        ["PRODUCT_OUT_OF_STOCK", "INSUFFICIENT_BALANCE"]
    );
    app.assert_invariants().await;
}

#[tokio::test]
async fn only_the_owner_can_pay_and_ids_are_checked() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 1_000, 5).await;
    app.charge("alice", 5_000).await;
    app.charge("mallory", 5_000).await;
    let order = app.create_order("alice", &[(&tea, 1)]).await;
    let before = state(&app).await;
    let r = app.pay("mallory", &order, None).await;
    assert_eq!(r.user_error_codes("payOrder"), ["ORDER_NOT_FOUND"]);
    let missing = commerce::global_id::encode("Order", 424_242);
    let r = app.pay("alice", &missing, None).await;
    assert_eq!(r.user_error_codes("payOrder"), ["ORDER_NOT_FOUND"]);
    for bad in [tea.as_str(), "bm9wZQ==", "", "!!"] {
        let r = app.pay("alice", bad, None).await;
        assert_eq!(r.user_error_codes("payOrder"), ["INVALID_INPUT"], "{bad}");
        assert_eq!(r.user_error_fields("payOrder"), ["input.orderId"]);
    }
    let r = app.pay("alice", &tea, Some(&tea)).await;
    assert_eq!(
        r.user_error_fields("payOrder"),
        ["input.orderId", "input.userCouponId"],
        "both bad ids at once"
    );
    let r = app
        .gql(None, PAY_ORDER, json!({"i": {"orderId": order}}))
        .await;
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
    assert_eq!(state(&app).await, before);
}

/// A payment the database refuses for a reason the checks did not foresee
/// (here a constraint added behind the app's back) fails alone: the other
/// payments settled in its batch still go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_payment_failing_in_the_database_does_not_fail_its_batch() {
    let app = std::sync::Arc::new(spawn_app().await);
    let cheap = app.create_product("Cheap", 100, 1_000).await;
    let cursed = app.create_product("Cursed", 1_313, 1_000).await;
    sqlx::query("ALTER TABLE payments ADD CONSTRAINT no_1313 CHECK (amount <> 1313)")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut payers = Vec::new();
    for i in 0..20 {
        let buyer = format!("buyer-{i}");
        app.charge(&buyer, 10_000).await;
        let product = if i == 19 { &cursed } else { &cheap };
        let order = app.create_order(&buyer, &[(product, 1)]).await;
        payers.push((buyer, order));
    }
    // Hold the stock table so that the first batch (the first payment)
    // waits; the other payments queue up behind it, the cursed one last,
    // so that it is settled in a batch with eighteen others.
    let mut lock = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE products IN EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let pay = |(buyer, order): (String, String)| {
        let app = app.clone();
        tokio::spawn(async move {
            let r = app.pay(&buyer, &order, None).await;
            (buyer, r)
        })
    };
    let mut payers = payers.into_iter();
    let mut payments = vec![pay(payers.next().unwrap())];
    wait_until("the first payment to wait on the lock", async || {
        app.queries_waiting_on_a_lock().await == 1
    })
    .await;
    for (i, payer) in payers.enumerate() {
        payments.push(pay(payer));
        let queued = i as i64 + 1;
        wait_until("the payment to queue for the next batch", async || {
            payments_waiting(&app).await == queued
        })
        .await;
    }
    lock.commit().await.unwrap();
    for payment in async_graphql::futures_util::future::join_all(payments).await {
        let (buyer, r) = payment.unwrap();
        if buyer == "buyer-19" {
            assert_eq!(r.error_code(), "INTERNAL_SERVER_ERROR");
            assert!(
                !r.body.to_string().contains("no_1313"),
                "no SQL detail leaks"
            );
        } else {
            assert!(
                r.user_error_codes("payOrder").is_empty(),
                "{buyer}: {}",
                r.body
            );
        }
    }
    let splits = app
        .state
        .metrics()
        .counter("tx_batch_splits_total", &[("use_case", "payOrder")]);
    assert_eq!(
        splits, 1,
        "the cursed payment's batch was settled one by one"
    );
    assert_eq!(app.count("SELECT count(*) FROM payments").await, 19);
    assert_eq!(app.balance_and_ledger("buyer-19").await, (10_000, 10_000));
    app.assert_invariants().await;
}

/// Once a product has run out, payments are checked before the queue, so
/// a refusal does not wait for batches; a restock (here through the API, as
/// from another instance) sells again.
#[tokio::test]
async fn a_sold_out_product_is_refused_at_once_and_sells_again_after_a_restock() {
    let app = spawn_app().await;
    let lamp = app.create_product("Lamp", 1_000, 1).await;
    for buyer in ["ann", "ben", "bea"] {
        app.charge(buyer, 5_000).await;
    }
    let anns = app.create_order("ann", &[(&lamp, 1)]).await;
    let bens = app.create_order("ben", &[(&lamp, 1)]).await;
    let beas = app.create_order("bea", &[(&lamp, 1)]).await;
    assert!(
        app.pay("ann", &anns, None)
            .await
            .user_error_codes("payOrder")
            .is_empty()
    );
    let before = state(&app).await;
    let r = app.pay("ben", &bens, None).await;
    assert_eq!(r.user_error_codes("payOrder"), ["PRODUCT_OUT_OF_STOCK"]);
    assert!(
        r.body.to_string().contains("Lamp"),
        "names the line: {}",
        r.body
    );
    assert_eq!(state(&app).await, before, "nothing changed");

    // At once: while the payment queue is stuck (a batch waits for a row
    // this test locks), Bea's refusal does not wait behind it.
    let mug = app.create_product("Mug", 500, 10).await;
    app.charge("cid", 5_000).await;
    let cids = app.create_order("cid", &[(&mug, 1)]).await;
    let mut lock = app.pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM products WHERE name = 'Mug' FOR UPDATE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let stuck = app.pay("cid", &cids, None);
    let refused = async {
        wait_until("the batch to wait on the lock", async || {
            app.queries_waiting_on_a_lock().await > 0
        })
        .await;
        let answer = eventually("Bea's refusal", app.pay("bea", &beas, None)).await;
        // Refused while the batch still waits for the row: not behind it.
        assert!(
            app.queries_waiting_on_a_lock().await > 0,
            "the batch is still stuck"
        );
        lock.rollback().await.unwrap();
        answer
    };
    let (cids_payment, beas_refusal) = tokio::join!(stuck, refused);
    assert_eq!(
        beas_refusal.user_error_codes("payOrder"),
        ["PRODUCT_OUT_OF_STOCK"]
    );
    assert!(
        cids_payment.user_error_codes("payOrder").is_empty(),
        "{}",
        cids_payment.body
    );

    let restock = app
        .as_admin(
            "mutation($i: AdjustStockInput!) { adjustStock(input: $i) { product { stock } } }",
            json!({ "i": { "productId": lamp, "delta": 1 } }),
        )
        .await;
    assert_eq!(restock.data()["adjustStock"]["product"]["stock"], 1);
    let r = app.pay("ben", &bens, None).await;
    assert!(r.user_error_codes("payOrder").is_empty(), "{}", r.body);
    assert_eq!(r.data()["payOrder"]["order"]["status"], "PAID");
    app.assert_invariants().await;
}

/// How many payments wait for the next batch (`/metrics`), -1 while
/// `/metrics` shows none.
async fn payments_waiting(app: &TestApp) -> i64 {
    app.metric("payment_queue_waiting ")
        .await
        .map_or(-1, |waiting| waiting as i64)
}
