//! Coupon campaigns: createCoupon's checks, the reads, issueCoupon's rules,
//! and the rush: many users (and one user many times) racing for a limited
//! quantity, on one instance and on two sharing a database.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::futures_util::{StreamExt, stream};
use serde_json::{Value, json};

use crate::helpers::races::{outcome, tally, two_instances};
use crate::helpers::{Gql, Options, TestApp, count_statements, spawn_app, spawn_app_with};

const CREATE_COUPON: &str = "mutation($i: CreateCouponInput!) { createCoupon(input: $i) {
    coupon { id name discountType discountValue totalQuantity issuedQuantity remainingQuantity validFrom validUntil }
    userErrors { code field message } } }";

const ISSUE_COUPON: &str = "mutation($i: IssueCouponInput!) { issueCoupon(input: $i) {
    userCoupon { id status issuedAt usedAt coupon { id issuedQuantity } }
    userErrors { code field message } } }";

const COUPONS: &str = "query($only: Boolean) { coupons(first: 100, availableOnly: $only) {
    totalCount nodes { id name remainingQuantity } } }";

const MY_COUPONS: &str = "query($s: UserCouponStatus) { viewer { coupons(first: 100, status: $s) {
    totalCount nodes { id status usedAt order { id } coupon { id } } } } }";

fn campaign_input(total: i32) -> Value {
    json!({ "name": "Spring rush", "discountType": "PERCENTAGE", "discountValue": 10, "totalQuantity": total })
}

/// Starts a campaign through the API; returns its global id.
async fn create_coupon(app: &TestApp, input: Value) -> String {
    let r = app.as_admin(CREATE_COUPON, json!({ "i": input })).await;
    r.data()["createCoupon"]["coupon"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("campaign created: {}", r.body))
        .to_owned()
}

async fn issue(app: &TestApp, sub: &str, coupon: &str) -> Gql {
    app.as_user(sub, ISSUE_COUPON, json!({ "i": { "couponId": coupon } }))
        .await
}

/// The outcome of an `issueCoupon` ([`outcome`]), "ok" only with the
/// coupon issued.
fn issue_outcome(r: &Gql) -> String {
    let outcome = outcome(r, "issueCoupon");
    if outcome == "ok" {
        let coupon = &r.data()["issueCoupon"]["userCoupon"]["id"];
        assert!(coupon.is_string(), "{}", r.body);
    }
    outcome
}

/// Issues a coupon of `coupon` to each of `subs` at `concurrency`, spread
/// over `apps` in turn; returns how many of each outcome.
async fn rush(
    apps: &[Arc<TestApp>],
    coupon: &str,
    subs: Vec<String>,
    concurrency: usize,
) -> HashMap<String, usize> {
    let requests = subs.into_iter().enumerate().map(|(i, sub)| {
        let app = apps[i % apps.len()].clone();
        let coupon = coupon.to_owned();
        async move { issue_outcome(&issue(&app, &sub, &coupon).await) }
    });
    let outcomes: Vec<String> = stream::iter(requests)
        .buffer_unordered(concurrency)
        .collect()
        .await;
    tally(&outcomes)
        .into_iter()
        .map(|(o, n)| (o.to_owned(), n))
        .collect()
}

/// Checks that the campaign issued exactly `expected` coupons: its counter,
/// its rows, and the cross-table invariants.
async fn assert_issued(app: &TestApp, coupon: &str, expected: i64) {
    let id = TestApp::db_id(coupon);
    let (issued, rows): (i32, i64) = sqlx::query_as(
        "SELECT c.issued_quantity, (SELECT count(*) FROM user_coupons WHERE coupon_id = c.id)
         FROM coupons c WHERE c.id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((i64::from(issued), rows), (expected, expected));
    app.assert_invariants().await;
}

#[tokio::test]
async fn an_admin_starts_a_campaign_that_everyone_can_read() {
    let app = spawn_app().await;
    let until = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    let r = app
        .as_admin(
            CREATE_COUPON,
            json!({ "i": { "name": "  Welcome  ", "discountType": "FIXED_AMOUNT", "discountValue": 500,
                           "totalQuantity": 3, "validUntil": until } }),
        )
        .await;
    let coupon = &r.data()["createCoupon"]["coupon"];
    assert_eq!(coupon["name"], "Welcome", "trimmed");
    assert_eq!(coupon["discountType"], "FIXED_AMOUNT");
    assert_eq!(coupon["discountValue"], 500);
    assert_eq!(coupon["totalQuantity"], 3);
    assert_eq!(coupon["issuedQuantity"], 0);
    assert_eq!(coupon["remainingQuantity"], 3);
    assert!(coupon["validFrom"].is_string(), "defaults to now");
    assert!(coupon["validUntil"].is_string());
    let id = coupon["id"].as_str().unwrap().to_owned();

    // A campaign is public: node() and coupons answer without a token.
    let r = app
        .gql(
            None,
            "query($id: ID!) { node(id: $id) { ... on Coupon { name issuedQuantity } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(r.data()["node"]["name"], "Welcome");
    let r = app.gql(None, COUPONS, json!({})).await;
    assert_eq!(r.data()["coupons"]["totalCount"], 1);
    assert_eq!(r.data()["coupons"]["nodes"][0]["id"], id.as_str());
}

#[tokio::test]
async fn available_only_lists_the_campaigns_still_issuable_now() {
    let app = spawn_app().await;
    let open = app.create_campaign("PERCENTAGE", 10, 5, (-1, None)).await;
    let _ended = app
        .create_campaign("PERCENTAGE", 10, 5, (-2, Some(-1)))
        .await;
    let _later = app.create_campaign("PERCENTAGE", 10, 5, (1, Some(2))).await;
    let sold_out = app.create_campaign("PERCENTAGE", 10, 1, (-1, None)).await;
    app.grant_coupon("first", sold_out).await;

    let all = app.gql(None, COUPONS, json!({ "only": false })).await;
    assert_eq!(all.data()["coupons"]["totalCount"], 4);
    let default = app.gql(None, COUPONS, json!({})).await;
    assert_eq!(
        default.data()["coupons"]["totalCount"],
        4,
        "the default is all"
    );
    let available = app.gql(None, COUPONS, json!({ "only": true })).await;
    let coupons = &available.data()["coupons"];
    assert_eq!(coupons["totalCount"], 1);
    let open_id = commerce::global_id::encode("Coupon", open);
    assert_eq!(coupons["nodes"][0]["id"], open_id.as_str());
    assert_eq!(coupons["nodes"][0]["remainingQuantity"], 5);
}

#[tokio::test]
async fn bad_campaigns_are_refused_field_by_field_and_create_nothing() {
    let app = spawn_app().await;
    let r = app
        .as_user("shopper", CREATE_COUPON, json!({ "i": campaign_input(10) }))
        .await;
    assert_eq!(r.error_code(), "FORBIDDEN");

    let now = chrono::Utc::now();
    let at = |days: i64| (now + chrono::Duration::days(days)).to_rfc3339();
    let with = |changes: Value| {
        let mut input = campaign_input(10);
        for (k, v) in changes.as_object().unwrap() {
            input[k] = v.clone();
        }
        input
    };
    let cases = [
        (with(json!({ "name": "   " })), vec!["input.name"]),
        (with(json!({ "name": "x".repeat(201) })), vec!["input.name"]),
        (
            with(json!({ "discountValue": 0 })),
            vec!["input.discountValue"],
        ),
        (
            with(json!({ "discountValue": 101 })),
            vec!["input.discountValue"],
        ),
        (
            with(json!({ "discountType": "FIXED_AMOUNT", "discountValue": -5 })),
            vec!["input.discountValue"],
        ),
        (
            with(json!({ "totalQuantity": 0 })),
            vec!["input.totalQuantity"],
        ),
        (
            with(json!({ "totalQuantity": -1 })),
            vec!["input.totalQuantity"],
        ),
        (
            with(json!({ "totalQuantity": 10_000_001 })),
            vec!["input.totalQuantity"],
        ),
        (
            with(json!({ "validFrom": at(3), "validUntil": at(2) })),
            vec!["input.validUntil"],
        ),
        (
            with(json!({ "validFrom": at(3), "validUntil": at(3) })),
            vec!["input.validUntil"],
        ),
        (
            with(json!({ "validFrom": at(-3), "validUntil": at(-2) })),
            vec!["input.validUntil"],
        ),
        (
            with(json!({ "name": "", "discountValue": 0, "totalQuantity": 0 })),
            vec!["input.name", "input.discountValue", "input.totalQuantity"],
        ),
    ];
    for (input, fields) in cases {
        let r = app.as_admin(CREATE_COUPON, json!({ "i": input })).await;
        let codes = r.user_error_codes("createCoupon");
        assert!(
            !codes.is_empty() && codes.iter().all(|c| c == "INVALID_INPUT"),
            "{input}: {}",
            r.body
        );
        assert_eq!(r.user_error_fields("createCoupon"), fields, "{input}");
        assert!(r.data()["createCoupon"]["coupon"].is_null());
    }
    // Values that are not even of the input's types never reach the checks.
    for input in [
        with(json!({ "totalQuantity": 2_147_483_648_i64 })),
        with(json!({ "discountType": "HALF_OFF" })),
        with(json!({ "validFrom": "yesterday" })),
        with(json!({ "discountValue": "10" })),
    ] {
        let r = app.as_admin(CREATE_COUPON, json!({ "i": input })).await;
        assert_eq!(r.error_code(), "BAD_REQUEST", "{input}: {}", r.body);
    }
    assert_eq!(app.count("SELECT count(*) FROM coupons").await, 0);
    // The upper bounds themselves are fine.
    create_coupon(
        &app,
        with(json!({ "totalQuantity": 10_000_000, "discountValue": 100 })),
    )
    .await;
}

#[tokio::test]
async fn issuing_follows_the_rules_in_order() {
    let app = spawn_app().await;
    let coupon = create_coupon(&app, campaign_input(2)).await;

    let r = issue(&app, "ann", &coupon).await;
    assert_eq!(issue_outcome(&r), "ok");
    let issued = &r.data()["issueCoupon"]["userCoupon"];
    assert_eq!(issued["status"], "AVAILABLE");
    assert!(issued["usedAt"].is_null());
    assert_eq!(issued["coupon"]["id"], coupon.as_str());
    assert_eq!(issued["coupon"]["issuedQuantity"], 1);

    let again = issue(&app, "ann", &coupon).await;
    assert_eq!(issue_outcome(&again), "COUPON_ALREADY_ISSUED");
    assert_eq!(again.user_error_fields("issueCoupon"), ["input.couponId"]);
    assert_eq!(issue_outcome(&issue(&app, "bob", &coupon).await), "ok");
    assert_eq!(
        issue_outcome(&issue(&app, "cat", &coupon).await),
        "COUPON_OUT_OF_STOCK"
    );
    // Sold out, the holders still hear that they hold one; twice, so that
    // the answer from the instance's sold-out memory is checked too.
    for _ in 0..2 {
        assert_eq!(
            issue_outcome(&issue(&app, "bob", &coupon).await),
            "COUPON_ALREADY_ISSUED"
        );
        assert_eq!(
            issue_outcome(&issue(&app, "dan", &coupon).await),
            "COUPON_OUT_OF_STOCK"
        );
    }
    assert_issued(&app, &coupon, 2).await;

    // Outside the window: not usable, whether over or not started.
    let ended = app
        .create_campaign("PERCENTAGE", 10, 5, (-2, Some(-1)))
        .await;
    let later = app.create_campaign("PERCENTAGE", 10, 5, (1, None)).await;
    for id in [ended, later] {
        let r = issue(&app, "ann", &commerce::global_id::encode("Coupon", id)).await;
        assert_eq!(issue_outcome(&r), "COUPON_NOT_USABLE");
        assert_eq!(r.user_error_fields("issueCoupon"), ["input.couponId"]);
    }

    // Ids: unknown, of another type, malformed.
    let product = app.create_product("Mug", 1_000, 1).await;
    let cases = [
        (
            commerce::global_id::encode("Coupon", 999_999),
            "COUPON_NOT_FOUND",
        ),
        (product, "INVALID_INPUT"),
        ("not-an-id".to_owned(), "INVALID_INPUT"),
        (String::new(), "INVALID_INPUT"),
    ];
    for (id, code) in cases {
        let r = issue(&app, "ann", &id).await;
        assert_eq!(issue_outcome(&r), code, "{id:?}");
        assert_eq!(r.user_error_fields("issueCoupon"), ["input.couponId"]);
    }
    let r = app
        .gql(None, ISSUE_COUPON, json!({ "i": { "couponId": coupon } }))
        .await;
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
    assert_eq!(app.count("SELECT count(*) FROM user_coupons").await, 2);
    assert_eq!(
        app.count("SELECT sum(issued_quantity) FROM coupons").await,
        2,
        "the refusals changed nothing"
    );
}

#[tokio::test]
async fn viewer_coupons_are_available_used_or_expired_and_private() {
    let app = spawn_app().await;
    let product = app.create_product("Lamp", 10_000, 5).await;
    app.charge("ann", 100_000).await;
    let open = app
        .create_campaign("FIXED_AMOUNT", 1_000, 10, (-1, None))
        .await;
    let closing = app
        .create_campaign("PERCENTAGE", 10, 10, (-1, Some(1)))
        .await;
    let spent = app.create_campaign("PERCENTAGE", 50, 10, (-1, None)).await;
    let available = app.grant_coupon("ann", open).await;
    let expired = app.grant_coupon("ann", closing).await;
    let used = app.grant_coupon("ann", spent).await;
    let order = app.create_order("ann", &[(&product, 1)]).await;
    let r = app.pay("ann", &order, Some(&used)).await;
    assert_eq!(r.data()["payOrder"]["order"]["payableAmount"], "5000");
    sqlx::query("UPDATE coupons SET valid_from = now() - interval '2 hours', valid_until = now() - interval '1 hour' WHERE id = $1")
        .bind(closing)
        .execute(&app.pool)
        .await
        .unwrap();

    let mine = |status: Value| {
        let app = &app;
        async move {
            let r = app.as_user("ann", MY_COUPONS, json!({ "s": status })).await;
            r.data()["viewer"]["coupons"].clone()
        }
    };
    let all = mine(Value::Null).await;
    assert_eq!(all["totalCount"], 3);
    let ids: Vec<&str> = all["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [&used, &expired, &available], "newest first");
    for (status, id) in [
        ("AVAILABLE", &available),
        ("USED", &used),
        ("EXPIRED", &expired),
    ] {
        let page = mine(json!(status)).await;
        assert_eq!(page["totalCount"], 1, "{status}");
        assert_eq!(page["nodes"][0]["id"], id.as_str(), "{status}");
        assert_eq!(page["nodes"][0]["status"], status);
    }
    let used_node = &mine(json!("USED")).await["nodes"][0];
    assert_eq!(used_node["order"]["id"], order.as_str());
    assert!(used_node["usedAt"].is_string());

    // A UserCoupon is its holder's and the admins' only.
    let node = "query($id: ID!) { node(id: $id) { ... on UserCoupon { status } } }";
    let r = app.as_user("ann", node, json!({ "id": available })).await;
    assert_eq!(r.data()["node"]["status"], "AVAILABLE");
    let r = app.as_admin(node, json!({ "id": available })).await;
    assert_eq!(r.data()["node"]["status"], "AVAILABLE");
    let r = app.as_user("bob", node, json!({ "id": available })).await;
    assert!(r.data()["node"].is_null(), "{}", r.body);
    let r = app.gql(None, node, json!({ "id": available })).await;
    assert!(r.data()["node"].is_null() || r.error_code() == "UNAUTHENTICATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_users_rush_a_hundred_coupons() {
    let app = Arc::new(spawn_app().await);
    let coupon = create_coupon(&app, campaign_input(100)).await;
    let users = (0..1_000).map(|i| format!("rusher-{i}")).collect();
    let tally = rush(std::slice::from_ref(&app), &coupon, users, 200).await;
    assert_eq!(
        tally,
        HashMap::from([("ok".into(), 100), ("COUPON_OUT_OF_STOCK".into(), 900)]),
        "no other outcome"
    );
    assert_issued(&app, &coupon, 100).await;
    let holders = app
        .count("SELECT count(DISTINCT user_id) FROM user_coupons")
        .await;
    assert_eq!(holders, 100, "one coupon per user");
    // One instance settles a campaign's requests in batches, one after the
    // other: the contention never reaches the database as conflicts.
    let retries = |name| {
        app.state
            .metrics()
            .counter(name, &[("use_case", "issueCoupon")])
    };
    assert_eq!(
        (retries("tx_retries_total"), retries("tx_giveups_total")),
        (0, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_user_asking_fifty_times_at_once_gets_one_coupon() {
    let app = Arc::new(spawn_app().await);
    let coupon = create_coupon(&app, campaign_input(10)).await;
    let tally = rush(
        std::slice::from_ref(&app),
        &coupon,
        vec!["eager".into(); 50],
        50,
    )
    .await;
    assert_eq!(
        tally,
        HashMap::from([("ok".into(), 1), ("COUPON_ALREADY_ISSUED".into(), 49)])
    );
    assert_issued(&app, &coupon, 1).await;
}

#[tokio::test]
async fn a_sold_out_campaign_refuses_the_rest_of_the_rush_without_the_database() {
    let first = spawn_app().await;
    let second = spawn_app_with(Options {
        database: Some(first.db_name.clone()),
        ..Default::default()
    })
    .await;
    let coupon = create_coupon(&first, campaign_input(2)).await;
    assert_eq!(issue_outcome(&issue(&first, "ann", &coupon).await), "ok");
    // The second instance sells the last one, the first learns it sold out
    // from its own batch: each then knows every holder, whoever issued it.
    assert_eq!(issue_outcome(&issue(&second, "bob", &coupon).await), "ok");
    assert_eq!(
        issue_outcome(&issue(&first, "cat", &coupon).await),
        "COUPON_OUT_OF_STOCK"
    );
    for app in [&first, &second] {
        for (who, code) in [
            ("ann", "COUPON_ALREADY_ISSUED"),
            ("bob", "COUPON_ALREADY_ISSUED"),
            ("cat", "COUPON_OUT_OF_STOCK"),
            ("someone-new", "COUPON_OUT_OF_STOCK"),
        ] {
            let (r, statements) = count_statements(issue(app, who, &coupon)).await;
            assert_eq!(issue_outcome(&r), code, "{who}");
            assert_eq!(statements, 0, "{who}: answered from the instance's memory");
        }
    }
    let new_users = first
        .count("SELECT count(*) FROM users WHERE subject = 'someone-new'")
        .await;
    assert_eq!(new_users, 0, "a refusal creates no user");

    // A campaign larger than the instance keeps the holders of: the same
    // answers, each with a read.
    let small = spawn_app_with(Options {
        database: Some(first.db_name.clone()),
        ..Options::with_env(&[("COUPON_SOLD_OUT_HOLDERS", "1")])
    })
    .await;
    assert_eq!(
        issue_outcome(&issue(&small, "dan", &coupon).await),
        "COUPON_OUT_OF_STOCK"
    );
    for (who, code) in [
        ("ann", "COUPON_ALREADY_ISSUED"),
        ("dan", "COUPON_OUT_OF_STOCK"),
    ] {
        let (r, statements) = count_statements(issue(&small, who, &coupon)).await;
        assert_eq!(issue_outcome(&r), code, "{who}");
        assert!(statements > 0, "{who}: read from the database");
    }
    assert_issued(&first, &coupon, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_sharing_a_database_still_issue_exactly_a_hundred() {
    let (first, second) = two_instances().await;
    let coupon = create_coupon(&first, campaign_input(100)).await;
    // Every user asks twice, once on each instance, so that the instances
    // also race for the same user.
    let users: Vec<String> = (0..500)
        .flat_map(|i| [format!("twice-{i}"), format!("twice-{i}")])
        .collect();
    let tally = rush(&[first.clone(), second.clone()], &coupon, users, 200).await;
    assert_eq!(tally.get("ok"), Some(&100), "{tally:?}");
    assert_eq!(
        tally.values().sum::<usize>(),
        tally.get("ok").unwrap_or(&0)
            + tally.get("COUPON_OUT_OF_STOCK").unwrap_or(&0)
            + tally.get("COUPON_ALREADY_ISSUED").unwrap_or(&0),
        "no other outcome: {tally:?}"
    );
    assert_issued(&first, &coupon, 100).await;
    let holders = first
        .count("SELECT count(DISTINCT user_id) FROM user_coupons")
        .await;
    assert_eq!(holders, 100);
    let retries: u64 = [&first, &second]
        .iter()
        .map(|a| {
            a.state
                .metrics()
                .counter("tx_retries_total", &[("use_case", "issueCoupon")])
        })
        .sum();
    println!("two instances, 1,000 requests: {retries} issueCoupon retries");
}
