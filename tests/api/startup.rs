//! Startup: the database is created and migrated, and an empty catalog gets
//! the demo data, once.

use serde_json::json;

use crate::helpers::{Options, spawn_app_with};

#[tokio::test]
async fn an_empty_database_is_seeded_once() {
    let first = spawn_app_with(Options {
        seed: true,
        ..Default::default()
    })
    .await;
    let r = first
        .gql(None, "{ products { totalCount } }", json!({}))
        .await;
    let products = r.data()["products"]["totalCount"].as_i64().unwrap();
    assert!(products >= 3, "a small demo catalog");
    let coupons: i64 = sqlx::query_scalar("SELECT count(*) FROM coupons")
        .fetch_one(&first.pool)
        .await
        .unwrap();
    assert_eq!(coupons, 1, "one coupon campaign");

    // A second instance on the same database neither fails nor seeds again.
    let second = spawn_app_with(Options {
        seed: true,
        database: Some(first.db_name.clone()),
        ..Default::default()
    })
    .await;
    let r = second
        .gql(None, "{ products { totalCount } }", json!({}))
        .await;
    assert_eq!(
        r.data()["products"]["totalCount"].as_i64().unwrap(),
        products
    );
}
