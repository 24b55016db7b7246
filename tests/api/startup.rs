//! Startup: the database is created and migrated, an empty catalog gets
//! the demo data, once, and the pool opens its connections.

use serde_json::json;

use crate::helpers::wait::wait_until;
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

#[tokio::test]
async fn the_previous_release_still_starts_on_a_database_migrated_by_the_next() {
    let migrated = spawn_app_with(Options::default()).await;
    // The next release added a migration this binary does not know.
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99990101000000, 'from the next release', TRUE, '\\x00', 1)",
    )
    .execute(&migrated.pool)
    .await
    .unwrap();
    let previous = spawn_app_with(Options {
        database: Some(migrated.db_name.clone()),
        ..Default::default()
    })
    .await;
    let r = previous
        .gql(None, "{ products { totalCount } }", json!({}))
        .await;
    assert_eq!(r.data()["products"]["totalCount"], 0, "it serves");
}

/// The pool opens `DATABASE_MIN_CONNECTIONS` connections from startup on,
/// before any request, so that the first burst after a start does not wait
/// for them to be made.
#[tokio::test]
async fn the_pool_opens_its_connections_at_startup() {
    let app = spawn_app_with(Options {
        env: vec![
            ("DATABASE_MAX_CONNECTIONS", "6".into()),
            ("DATABASE_MIN_CONNECTIONS", "4".into()),
        ],
        ..Default::default()
    })
    .await;
    let open = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = 'commerce'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    wait_until("the pool to open its connections", async || {
        open().await >= 4
    })
    .await;
    assert_eq!(
        open().await,
        4,
        "4 connections open, none more, no request made"
    );
}
