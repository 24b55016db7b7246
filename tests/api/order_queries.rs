//! Query.order, Query.orders (admins), Query.coupon and Order.user.

use serde_json::json;

use crate::helpers::logs::AUTO_EXPLAIN;
use crate::helpers::{Options, TestApp, plans, spawn_app, spawn_app_with};

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

/// Orders of every status an order can read as, [`MANY`] of them, most PAID.
const MANY: i64 = 20_000;
const PAGE_OF: &str =
    "query($s: OrderStatus, $first: Int, $after: String, $last: Int, $before: String) {
    orders(status: $s, first: $first, after: $after, last: $last, before: $before) {
      nodes { id status } pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } }";

/// The app with every prepared statement run with its generic plan (what
/// PostgreSQL picks after five executions), and the plans it runs sent to
/// the app by `auto_explain`.
async fn generic_plans() -> TestApp {
    spawn_app_with(Options {
        database_settings: [("plan_cache_mode", "force_generic_plan")]
            .into_iter()
            .chain(AUTO_EXPLAIN)
            .collect(),
        ..Default::default()
    })
    .await
}

/// Every id the admin's list by `status` holds, newest first, with the
/// rule spelled out here rather than through the database's function: an
/// unswept PENDING order past its window reads as EXPIRED.
async fn by_status(app: &TestApp, status: &str) -> Vec<String> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM orders
         WHERE CASE WHEN status = 'PENDING' AND expires_at <= now() THEN 'EXPIRED'
                    ELSE status END = $1
         ORDER BY id DESC",
    )
    .bind(status)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    ids.into_iter()
        .map(|id| commerce::global_id::encode(commerce::global_id::types::ORDER, id))
        .collect()
}

#[tokio::test]
async fn an_admin_pages_every_status_from_its_index_under_generic_plans() {
    let app = generic_plans().await;
    let alice = app.user_id("alice").await;
    // Per hundred orders: two PENDING in their window, one PENDING past it
    // (reads EXPIRED until the sweep stores it), one EXPIRED, two
    // CANCELLED, one REFUNDED, the rest PAID.
    sqlx::query(
        "INSERT INTO orders (user_id, status, total_amount, created_at, expires_at, paid_at,
                             cancelled_at, refunded_at, expired_at)
         SELECT $1, s.status, 100,
                CASE WHEN g % 100 IN (2, 3) THEN now() - interval '2 hours' ELSE now() END,
                CASE WHEN g % 100 IN (0, 1) THEN now() + interval '1 hour'
                     WHEN g % 100 IN (2, 3) THEN now() - interval '1 hour' END,
                CASE WHEN s.status IN ('PAID', 'REFUNDED') THEN now() END,
                CASE WHEN s.status = 'CANCELLED' THEN now() END,
                CASE WHEN s.status = 'REFUNDED' THEN now() END,
                CASE WHEN s.status = 'EXPIRED' THEN now() END
         FROM generate_series(1, $2) AS g
         CROSS JOIN LATERAL (SELECT CASE WHEN g % 100 IN (0, 1, 2) THEN 'PENDING'
                                         WHEN g % 100 = 3 THEN 'EXPIRED'
                                         WHEN g % 100 IN (4, 5) THEN 'CANCELLED'
                                         WHEN g % 100 = 6 THEN 'REFUNDED'
                                         ELSE 'PAID' END AS status) AS s",
    )
    .bind(alice)
    .bind(MANY)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE orders")
        .execute(&app.pool)
        .await
        .unwrap();

    for status in ["PENDING", "EXPIRED", "CANCELLED", "REFUNDED", "PAID"] {
        let all = by_status(&app, status).await;
        assert!(all.len() >= 200, "{status}: {} orders", all.len());
        let (forward, backward) = (&all[..], all.iter().rev().cloned().collect::<Vec<_>>());
        for (direction, expected) in [("first", forward.to_vec()), ("last", backward)] {
            let (size, cursor, next) = match direction {
                "first" => ("first", "after", "endCursor"),
                _ => ("last", "before", "startCursor"),
            };
            let mut seen = Vec::new();
            let mut at: Option<String> = None;
            // Three pages each way: the deep ones cost what the first does.
            for page in 0..3 {
                let vars = json!({"s": status, size: 50, cursor: at});
                let (r, seen_plans) = plans(app.as_admin(PAGE_OF, vars)).await;
                let what = format!("{status} {direction} page {page}");
                assert_from_the_status_index(&seen_plans, &what);
                let connection = &r.data()["orders"];
                let mut nodes = ids(&r);
                assert!(
                    connection["nodes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|n| n["status"] == status),
                    "{what}: {}",
                    r.body
                );
                if direction == "last" {
                    nodes.reverse();
                }
                seen.extend(nodes);
                at = connection["pageInfo"][next].as_str().map(str::to_owned);
            }
            assert_eq!(seen, expected[..150], "{status} {direction}");
        }
        let r = app
            .as_admin(
                "query($s: OrderStatus) { orders(status: $s) { totalCount } }",
                json!({"s": status}),
            )
            .await;
        assert_eq!(r.data()["orders"]["totalCount"], all.len(), "{status}");
    }
}

/// Holds the plans of a page of the list by status to the `(status, id)`
/// index: never the primary key's walk of every order, never a scan.
fn assert_from_the_status_index(plans: &[String], what: &str) {
    let page: Vec<&String> = plans.iter().filter(|p| p.contains("FROM orders")).collect();
    assert!(!page.is_empty(), "{what}: no plan of the page:\n{plans:?}");
    for plan in page {
        assert!(plan.contains("orders_status_id_idx"), "{what}\n{plan}");
        assert!(
            !plan.contains("Seq Scan") && !plan.contains("orders_pkey"),
            "{what}\n{plan}"
        );
    }
}
