//! The subscription root: an order's or a coupon campaign's state as it
//! changes, over WebSocket (`http::websocket`).
//!
//! Each stream starts with the entity's current state and follows the
//! instance's watch of it ([`crate::events::changes`]), which every
//! instance keeps current, whichever instance committed the change.

use std::time::Duration;

use async_graphql::futures_util::{Stream, StreamExt, stream};
use async_graphql::{Context, ID, Subscription};
use tokio::sync::watch;

use super::context::{can_see, services};
use super::errors::codes;
use super::types::coupon::Coupon;
use super::types::order::Order;
use crate::domain::order::OrderRecord;
use crate::events::Seen;
use crate::global_id::{self, types};

/// Every subscription.
#[derive(Default)]
pub struct SubscriptionRoot;

/// The error of a subscription to something that does not exist or that
/// the caller may not see (the two read the same, so ids cannot be probed).
fn not_found(what: &str) -> async_graphql::Error {
    use async_graphql::ErrorExtensions;
    async_graphql::Error::new(format!("no such {what}"))
        .extend_with(|_, e| e.set("code", codes::NOT_FOUND))
}

/// Changes as they happen, over a WebSocket on `/graphql`
/// (graphql-transport-ws; the token in `connection_init`).
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// An order of the caller's (any order, for an admin) as it changes:
    /// its current state first, then each change (paid, cancelled,
    /// expired, refunded); the stream ends after CANCELLED, EXPIRED or
    /// REFUNDED. `NOT_FOUND` when there is no such order or it is someone
    /// else's.
    async fn order_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order's global id.")] order_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = Order> + use<>> {
        let id = global_id::decode(types::ORDER, &order_id).ok_or_else(|| not_found("order"))?;
        let mut seen = services(ctx)?.changes.watch_order(id);
        // Boxed: a subscription keeps its resolver's future for as long as
        // it runs, sized for its largest step (a possible user lookup).
        let order = match Box::pin(first(&mut seen)).await {
            Some(order) if Box::pin(can_see(ctx, order.user_id)).await? => order,
            _ => return Err(not_found("order")),
        };
        Ok(follow(seen, order, Duration::ZERO, OrderRecord::is_final).map(Order))
    }

    /// A coupon campaign as coupons are issued: its current state first,
    /// then at most one update per interval, always the latest; the stream
    /// ends once the campaign is sold out. `NOT_FOUND` when there is no
    /// such campaign.
    async fn coupon_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign's global id.")] coupon_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = Coupon> + use<>> {
        let id = global_id::decode(types::COUPON, &coupon_id).ok_or_else(|| not_found("coupon"))?;
        let services = services(ctx)?;
        let mut seen = services.changes.watch_coupon(id);
        let campaign = first(&mut seen).await.ok_or_else(|| not_found("coupon"))?;
        let every = services.config.subscriptions.coupon_update_interval;
        Ok(follow(seen, campaign, every, |c| c.remaining() == 0).map(Coupon))
    }
}

/// The first state the watch shows once read; `None` when missing.
async fn first<T: Clone>(seen: &mut watch::Receiver<Seen<T>>) -> Option<T> {
    let state = seen
        .wait_for(|s| !matches!(s, Seen::Loading))
        .await
        .ok()?
        .clone();
    match state {
        Seen::Found(row) => Some((*row).clone()),
        _ => None,
    }
}

/// `current`, then every later state of `seen` (at most one per `every`,
/// always the latest), until `last` holds of one or the entity vanishes.
fn follow<T: Clone + Send + Sync + 'static>(
    seen: watch::Receiver<Seen<T>>,
    current: T,
    every: Duration,
    last: fn(&T) -> bool,
) -> impl Stream<Item = T> {
    struct Following<T> {
        seen: watch::Receiver<Seen<T>>,
        next: Option<T>,
        done: bool,
    }
    let start = Following {
        seen,
        next: Some(current),
        done: false,
    };
    stream::unfold(start, move |mut state| async move {
        if state.done {
            return None;
        }
        let item = match state.next.take() {
            Some(item) => item,
            None => {
                tokio::time::sleep(every).await;
                state.seen.changed().await.ok()?;
                let Seen::Found(row) = &*state.seen.borrow_and_update() else {
                    return None;
                };
                (**row).clone()
            }
        };
        state.done = last(&item);
        Some((item, state))
    })
}
