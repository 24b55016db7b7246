//! Query.order, Query.orders (admins), Query.coupon and Order.user.

use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

const ORDER: &str = "query($id: ID!) { order(id: $id) { id status user { subject } } }";
const ORDERS: &str = "query($s: OrderStatus, $u: ID, $first: Int, $after: String, $last: Int, $before: String) {
    orders(status: $s, userId: $u, first: $first, after: $after, last: $last, before: $before) {
      totalCount nodes { id status user { subject } } pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } }";

fn ids(r: &crate::helpers::Gql) -> Vec<String> {
    r.data()["orders"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.body))
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn shop(app: &TestApp) -> Vec<String> {
    let tea = app.create_product("Tea", 100, 100).await;
    app.charge("alice", 1_000).await;
    let mut orders = Vec::new();
    for sub in ["alice", "bob", "alice", "carol", "alice"] {
        orders.push(app.create_order(sub, &[(&tea, 1)]).await);
    }
    let paid = app.pay("alice", &orders[0], None).await;
    assert!(
        paid.user_error_codes("payOrder").is_empty(),
        "{}",
        paid.body
    );
    orders
}

#[tokio::test]
async fn an_order_is_seen_by_its_owner_and_admins_only() {
    let app = spawn_app().await;
    let orders = shop(&app).await;
    let r = app.as_user("alice", ORDER, json!({"id": orders[0]})).await;
    assert_eq!(r.data()["order"]["status"], "PAID");
    assert_eq!(r.data()["order"]["user"]["subject"], "alice");
    let r = app.as_admin(ORDER, json!({"id": orders[1]})).await;
    assert_eq!(r.data()["order"]["user"]["subject"], "bob");
    // Someone else's order, a missing one, another type's id, garbage: null.
    for (sub, id) in [
        ("bob", orders[0].as_str()),
        ("alice", "T3JkZXI6OTk5OQ=="),
        ("alice", "UHJvZHVjdDox"),
        ("alice", "not an id"),
    ] {
        let r = app.as_user(sub, ORDER, json!({"id": id})).await;
        assert!(r.data()["order"].is_null(), "{sub} {id}: {}", r.body);
    }
    let r = app.gql(None, ORDER, json!({"id": orders[0]})).await;
    assert!(r.data()["order"].is_null(), "anonymous: {}", r.body);
}

#[tokio::test]
async fn admins_list_every_order_newest_first_with_filters_and_pages() {
    let app = spawn_app().await;
    let orders = shop(&app).await;
    let newest_first: Vec<String> = orders.iter().rev().cloned().collect();
    let r = app.as_admin(ORDERS, json!({})).await;
    assert_eq!(ids(&r), newest_first);
    assert_eq!(r.data()["orders"]["totalCount"], 5);

    let r = app.as_admin(ORDERS, json!({"s": "PAID"})).await;
    assert_eq!(ids(&r), [orders[0].clone()]);
    let alice = app.as_user("alice", "{ viewer { id } }", json!({})).await;
    let alice = alice.data()["viewer"]["id"].as_str().unwrap().to_owned();
    let r = app.as_admin(ORDERS, json!({"u": alice})).await;
    assert_eq!(
        ids(&r),
        [orders[4].clone(), orders[2].clone(), orders[0].clone()]
    );
    assert_eq!(r.data()["orders"]["totalCount"], 3);
    let r = app
        .as_admin(ORDERS, json!({"u": alice, "s": "PENDING"}))
        .await;
    assert_eq!(ids(&r), [orders[4].clone(), orders[2].clone()]);

    // Forward pages, then backward from the end, meet with no gap or overlap.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let r = app
            .as_admin(ORDERS, json!({"first": 2, "after": after}))
            .await;
        seen.extend(ids(&r));
        let info = &r.data()["orders"]["pageInfo"];
        if info["hasNextPage"] != true {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, newest_first);
    let r = app.as_admin(ORDERS, json!({"last": 2})).await;
    assert_eq!(ids(&r), newest_first[3..]);
    let before = r.data()["orders"]["pageInfo"]["startCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .as_admin(ORDERS, json!({"last": 2, "before": before}))
        .await;
    assert_eq!(ids(&r), newest_first[1..3]);
}

#[tokio::test]
async fn only_admins_list_every_order() {
    let app = spawn_app().await;
    shop(&app).await;
    let r = app.as_user("alice", ORDERS, json!({})).await;
    assert_eq!(r.error_code(), "FORBIDDEN");
    let r = app.gql(None, ORDERS, json!({})).await;
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
    // A userId of another type is a clear error, not an empty list.
    let r = app.as_admin(ORDERS, json!({"u": "UHJvZHVjdDox"})).await;
    assert_eq!(r.error_code(), "BAD_REQUEST", "{}", r.body);
}

#[tokio::test]
async fn a_coupon_campaign_is_public_by_id() {
    let app = spawn_app().await;
    let campaign = app.create_campaign("PERCENTAGE", 15, 7, (-1, None)).await;
    let id = commerce::global_id::encode(commerce::global_id::types::COUPON, campaign);
    let q = "query($id: ID!) { coupon(id: $id) { id discountValue totalQuantity } }";
    let r = app.gql(None, q, json!({"id": id})).await;
    assert_eq!(r.data()["coupon"]["discountValue"], 15);
    assert_eq!(r.data()["coupon"]["totalQuantity"], 7);
    for missing in ["Q291cG9uOjk5OTk=", "UHJvZHVjdDox", "x"] {
        let r = app.gql(None, q, json!({"id": missing})).await;
        assert!(r.data()["coupon"].is_null(), "{missing}: {}", r.body);
    }
}
