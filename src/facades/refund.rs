//! `refundOrder` (admins only): undoing a payment.
//!
//! In one SERIALIZABLE transaction, retried on conflict: read the order
//! (it must be PAID), give its units back to each product, release the
//! coupon that paid for it, mark it REFUNDED with its reason, return the
//! payable amount to the payer as a REFUND ledger row, and write the
//! order-refunded event to the outbox. All of it happens or none of it
//! does; the database holds the result to the same rules (migration 0005).
//!
//! **The coupon.** Released, not reissued: it is no longer used, so its
//! status follows its campaign's window again, AVAILABLE while the window
//! is open and EXPIRED once it has closed (a campaign is never "not yet
//! valid" for a coupon that paid). The campaign's issued count does not
//! move: the coupon was issued once and still is.
//!
//! **Stock.** Every line's units go back to its product, archived or not:
//! the stock counts the units the shop holds, and an archived product's
//! stock is simply not on sale.
//!
//! **Batches.** Refunds of one product, like payments, all update its
//! row, so they go through a [`Batcher`]: the refunds that arrive while
//! one transaction runs are settled together in the next, decided in
//! arrival order over one read of their orders and payers, and written
//! with one set-based statement per table. A hot product's refunds then
//! share transactions instead of aborting each other (or queueing one
//! transaction at a time, which two instances refunding the same product
//! turned into retry storms). Should a batch fail as a whole, each of its
//! refunds is settled alone.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::PgConnection;

use super::{Services, require_admin};
use crate::auth::Principal;
use crate::db::{Batcher, Db};
use crate::domain::balance::{self, Debit};
use crate::domain::order::{self, OrderItemRecord, OrderRecord, OrderStatus};
use crate::domain::outbox::{self, OrderRefunded};
use crate::domain::user::{self, UserRecord};
use crate::domain::user_coupon::{self, UserCouponRecord};
use crate::domain::{product, stock};
use crate::error::{AppError, AppResult, Rejection};
use crate::events::{Change, Changes};
use crate::telemetry::TraceParent;

const USE_CASE: &str = "refundOrder";

/// The most refunds settled in one transaction.
pub const MAX_BATCH: usize = 128;

/// The refunds of one instance, settled in batches.
pub struct Refunds {
    queue: Batcher<RefundRequest, OrderRecord>,
}

impl Refunds {
    /// Starts the worker that settles this instance's refunds, announcing
    /// the orders it refunds to subscribers through `changes`.
    pub fn new(db: Db, changes: Arc<Changes>) -> Self {
        let queue = Batcher::new(&db.clone(), USE_CASE, MAX_BATCH, move |requests| {
            let (db, changes) = (db.clone(), changes.clone());
            async move {
                let results = db
                    .serializable(USE_CASE, |tx| {
                        let requests = requests.clone();
                        Box::pin(async move { refund_in(tx, &requests).await })
                    })
                    .await?;
                let refunded: Vec<Change> = results
                    .iter()
                    .flatten()
                    .map(|order| Change::Order(order.id))
                    .collect();
                changes.announce(&refunded);
                Ok(results)
            }
        });
        Self { queue }
    }
}

/// One `refundOrder` request, checked and decoded.
#[derive(Debug, Clone)]
struct RefundRequest {
    order_id: i64,
    reason: Option<String>,
    /// The request's trace, which the order-refunded event continues.
    trace: Option<TraceParent>,
}

/// Refunds the PAID order `order_id`, keeping `reason` with it. Refunding
/// twice refunds once: the second attempt answers `ORDER_ALREADY_REFUNDED`.
///
/// `order_id` is the client's id as decoded (its rejection when it named
/// no order): a caller who is no admin learns nothing more than
/// `FORBIDDEN`, and an admin learns every bad input at once.
pub async fn refund_order(
    services: &Services,
    caller: &Principal,
    order_id: Result<i64, Rejection>,
    reason: Option<String>,
) -> AppResult<OrderRecord> {
    require_admin(caller)?;
    let bad_reason = reason
        .as_deref()
        .map(order::validate_reason)
        .and_then(Result::err);
    let order_id = match (order_id, bad_reason) {
        (Ok(id), None) => id,
        // Both inputs are checked before either is reported.
        (id, bad_reason) => {
            return Err(AppError::Rejected(
                id.err().into_iter().chain(bad_reason).collect(),
            ));
        }
    };
    services
        .refunds
        .queue
        .submit(RefundRequest {
            order_id,
            reason,
            trace: TraceParent::current(),
        })
        .await
}

/// The order `order_id` as it stands, for the answer beside
/// `ORDER_ALREADY_REFUNDED` (admins only, like the refund).
pub async fn refunded_order(
    services: &Services,
    caller: &Principal,
    order_id: i64,
) -> AppResult<Option<OrderRecord>> {
    require_admin(caller)?;
    Ok(order::by_ids(&services.db.pool, &[order_id]).await?.pop())
}

/// The transaction's body for a batch: read the orders and their payers,
/// decide each refund in arrival order, then write what was decided, one
/// statement per table. Returns each request's outcome, in order.
async fn refund_in(
    tx: &mut PgConnection,
    requests: &[RefundRequest],
) -> AppResult<Vec<AppResult<OrderRecord>>> {
    let ids: Vec<i64> = requests.iter().map(|r| r.order_id).collect();
    let mut orders: HashMap<i64, OrderRecord> = order::by_ids(&mut *tx, &ids)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let payer_ids: Vec<i64> = orders.values().map(|o| o.user_id).collect();
    let mut payers: HashMap<i64, UserRecord> = user::by_ids(&mut *tx, &payer_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();

    // Decide in arrival order; a later request of the batch sees the
    // earlier ones (the same order twice: refunded once).
    let decisions: Vec<AppResult<Debit>> = requests
        .iter()
        .map(|request| {
            let order = orders
                .get_mut(&request.order_id)
                .ok_or_else(order::not_found)?;
            order.check_refundable()?;
            let payer = payers.get_mut(&order.user_id).ok_or_else(|| {
                AppError::Internal(format!("the payer of order {} vanished", order.id))
            })?;
            let amount = order.payable_amount();
            balance::check_room(payer.balance, amount)?;
            payer.balance += amount;
            order.status = OrderStatus::Refunded;
            Ok(Debit {
                user_id: order.user_id,
                order_id: order.id,
                amount,
            })
        })
        .collect();
    let credits: Vec<Debit> = decisions
        .iter()
        .filter_map(|d| d.as_ref().ok())
        .copied()
        .collect();
    if credits.is_empty() {
        // Every request was refused: nothing to write, only the refusals
        // to hand back (so the closure below never runs).
        return Ok(decisions
            .into_iter()
            .map(|d| d.and_then(|_| Err(AppError::Internal("no refund was decided".into()))))
            .collect());
    }
    let refunded_ids: Vec<i64> = credits.iter().map(|c| c.order_id).collect();

    let lines = order::items_of(&mut *tx, &refunded_ids).await?;
    let mut returns: HashMap<i64, i32> = HashMap::new();
    for line in &lines {
        *returns.entry(line.product_id).or_default() += line.quantity;
    }
    let mut returns: Vec<(i64, i32)> = returns.into_iter().collect();
    // A fixed order of updates, so two instances' batches cannot deadlock.
    returns.sort_unstable();
    stock::restore(tx, &returns).await?;

    let coupons: HashMap<i64, UserCouponRecord> = user_coupon::of_orders(&mut *tx, &refunded_ids)
        .await?
        .into_iter()
        .filter_map(|c| c.order_id.map(|order| (order, c)))
        .collect();
    user_coupon::release(tx, &refunded_ids).await?;

    let reasons: Vec<(i64, Option<String>)> = requests
        .iter()
        .zip(&decisions)
        .filter(|(_, d)| d.is_ok())
        .map(|(r, _)| (r.order_id, r.reason.clone()))
        .collect();
    let mut refunded: HashMap<i64, OrderRecord> = order::mark_refunded(tx, &reasons)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    balance::refund(tx, &credits).await?;

    // What the events report: the payers (as read) and the lines' product names.
    let product_ids: Vec<i64> = returns.iter().map(|(id, _)| *id).collect();
    let names: HashMap<i64, String> = product::by_ids(&mut *tx, &product_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let mut items: HashMap<i64, Vec<(OrderItemRecord, String)>> = HashMap::new();
    for line in lines {
        let name = names.get(&line.product_id).cloned().unwrap_or_default();
        items.entry(line.order_id).or_default().push((line, name));
    }
    let traces: Vec<Option<TraceParent>> = requests
        .iter()
        .zip(&decisions)
        .filter(|(_, d)| d.is_ok())
        .map(|(r, _)| r.trace)
        .collect();
    let mut events = Vec::with_capacity(reasons.len());
    for ((order_id, reason), trace) in reasons.iter().zip(traces) {
        let order = refunded
            .get(order_id)
            .ok_or_else(|| AppError::Internal(format!("order {order_id} was not refunded")))?;
        let payer = payers
            .get(&order.user_id)
            .ok_or_else(|| AppError::Internal(format!("the payer of order {order_id} vanished")))?;
        events.push(
            OrderRefunded {
                order,
                items: items.get(order_id).map(Vec::as_slice).unwrap_or(&[]),
                user: payer,
                coupon: coupons.get(order_id),
                reason: reason.as_deref(),
            }
            .to_event()?
            .in_trace(trace),
        );
    }
    outbox::insert(tx, &events).await?;

    // Hand each request its outcome, in the order they came.
    Ok(requests
        .iter()
        .zip(decisions)
        .map(|(request, decision)| {
            decision.and_then(|_| {
                refunded.remove(&request.order_id).ok_or_else(|| {
                    AppError::Internal(format!("order {} went missing", request.order_id))
                })
            })
        })
        .collect())
}
