//! The outbox and its relay, as the event tests drive them: paid orders by
//! the hundred, and waiting until every event is published.

use std::sync::Arc;

use async_graphql::futures_util::{StreamExt, stream};

use super::app::TestApp;
use super::shop::buyers;
use super::wait::wait_until;

/// The JetStream stream the events go to (the app's default `NATS_STREAM`).
pub const STREAM: &str = "ORDERS";

/// Has `count` users (named `<prefix>-<i>`) each order two units of one
/// product; returns (user, order) pairs ready to pay.
pub async fn pending_orders(
    app: &Arc<TestApp>,
    count: usize,
    prefix: &str,
) -> Vec<(String, String)> {
    let product = app.create_product("Notebook", 1_250, 1_000_000).await;
    buyers(app, &product, count, prefix, 1_000_000, 2).await
}

/// Pays every order (spread over `apps` in turn) at concurrency 50 and
/// checks that each payment succeeded.
pub async fn pay_all(apps: &[Arc<TestApp>], orders: &[(String, String)]) {
    let payments = orders.iter().enumerate().map(|(i, (user, order))| {
        let app = apps[i % apps.len()].clone();
        async move {
            let r = app.pay(user, order, None).await;
            assert_eq!(
                r.data()["payOrder"]["order"]["status"],
                "PAID",
                "{}",
                r.body
            );
        }
    });
    stream::iter(payments)
        .buffer_unordered(50)
        .collect::<Vec<()>>()
        .await;
}

/// Waits until no outbox row is left unpublished.
pub async fn wait_until_published(app: &TestApp) {
    wait_until("every event to be published", async || {
        unpublished(app).await == 0
    })
    .await;
}

/// How many outbox rows are not published yet.
pub async fn unpublished(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .await
}
