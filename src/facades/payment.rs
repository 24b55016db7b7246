//! `payOrder`: the second use case, "user pays for the order".
//!
//! In one SERIALIZABLE transaction, retried on conflict: read the order (its
//! status as of the database's clock: past its window it is EXPIRED), its
//! lines, their products, the payer and the coupon; decide (see
//! [`crate::domain::settlement`]); then mark the order PAID, take the
//! stock, use the coupon, debit the balance, record the payment, remove the
//! paid products from the cart, and write the order-paid event to the
//! outbox. All of it happens or none of it does. An order that holds its
//! units turns its hold into the sale; any other takes free stock.
//!
//! Payments of one instance go through a [`Batcher`]: the requests that
//! arrive while a transaction runs are settled together in the next one.
//! A hot product's payments then share transactions instead of aborting
//! each other, and each transaction does the work of many payments. Once a
//! product has run out, payments are first checked against a fresh read by
//! the settlement's own rule, so that those it would refuse do not wait for
//! a batch ([`SoldOutProducts`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use sqlx::PgConnection;

use super::{Services, identity};
use crate::auth::Principal;
use crate::db::{Batcher, Db};
use crate::domain::order::{self, OrderRecord};
use crate::domain::outbox::{self, OrderPaid};
use crate::domain::payment::{self, PaymentRecord};
use crate::domain::settlement::{PaymentRequest, Settled, Snapshot};
use crate::domain::{balance, cart, stock, user_coupon};
use crate::error::{AppError, AppResult};
use crate::events::{Change, Changes};
use crate::sync;
use crate::telemetry::TraceParent;

const USE_CASE: &str = "payOrder";

/// The most payments settled in one transaction.
pub const MAX_BATCH: usize = 128;

/// A paid order and its payment record.
#[derive(Debug, Clone)]
pub struct PaidOrder {
    /// The order, now PAID.
    pub order: OrderRecord,
    /// Its payment.
    pub payment: PaymentRecord,
}

/// Products this instance saw run out of stock: a hint, never a decision.
/// While it holds any, each payment is first decided by the settlement's
/// own rule over a fresh read (not binding: the batch decides again), and
/// one refused there is answered at once instead of waiting for a batch. A
/// product restocked meanwhile leaves a stale hint, which only costs that
/// check until the next batch that reads the product clears it.
#[derive(Default)]
pub struct SoldOutProducts(Mutex<HashSet<i64>>);

impl SoldOutProducts {
    fn any(&self) -> bool {
        !sync::lock(&self.0).is_empty()
    }

    /// Records the stock levels a committed batch left.
    fn update(&self, levels: impl Iterator<Item = (i64, i32)>) {
        let mut sold_out = sync::lock(&self.0);
        for (product, stock) in levels {
            if stock > 0 {
                sold_out.remove(&product);
            } else {
                sold_out.insert(product);
            }
        }
    }
}

/// The payments of one instance: the batch queue and the sold-out hint.
pub struct Payments {
    queue: Batcher<PaymentRequest, PaidOrder>,
    sold_out: Arc<SoldOutProducts>,
}

impl Payments {
    /// Starts the worker that settles this instance's payments, announcing
    /// the orders it pays to subscribers through `changes`.
    pub fn new(db: Db, changes: Arc<Changes>) -> Self {
        let sold_out = Arc::new(SoldOutProducts::default());
        let hint = sold_out.clone();
        let queue = Batcher::new(&db.clone(), USE_CASE, MAX_BATCH, move |requests| {
            let (db, hint, changes) = (db.clone(), hint.clone(), changes.clone());
            async move {
                let results = pay_batch(&db, &hint, &requests).await?;
                let paid: Vec<Change> = results
                    .iter()
                    .flatten()
                    .map(|paid| Change::Order(paid.order.id))
                    .collect();
                changes.announce(&paid);
                Ok(results)
            }
        });
        Self { queue, sold_out }
    }

    /// How many payments wait for the next batch.
    pub fn waiting(&self) -> usize {
        self.queue.waiting()
    }
}

/// Pays the caller's order `order_id`, with their issued coupon
/// `user_coupon_id` if given. Paying an order twice never charges twice:
/// the second attempt answers `ORDER_ALREADY_PAID`.
pub async fn pay_order(
    services: &Services,
    caller: &Principal,
    order_id: i64,
    user_coupon_id: Option<i64>,
) -> AppResult<PaidOrder> {
    // Until a product of this instance has run out, a payment goes straight
    // to its batch, whose transaction checks everything (a missing or
    // foreign order, a paid or cancelled one, the coupon, the stock, the
    // balance). A read before the queue would cost every payment a round
    // trip and a pooled connection's return, on the cores that the batch
    // everyone waits on needs. Once
    // one has run out, most payments of the rush are refused: whatever the
    // settlement's rule refuses over a fresh read is answered at once,
    // without waiting for a batch; the transaction checks the rest again.
    let payments = &services.payments;
    let request = if payments.sold_out.any() {
        let mut conn = services.db.pool.acquire().await?;
        let request = PaymentRequest {
            user_id: identity::user_id_in(services, &mut conn, caller).await?,
            order_id,
            user_coupon_id,
            trace: TraceParent::current(),
        };
        Snapshot::load(&mut conn, &[request])
            .await?
            .decide(&request, Utc::now())?;
        request
    } else {
        PaymentRequest {
            user_id: identity::user_id(services, caller).await?,
            order_id,
            user_coupon_id,
            trace: TraceParent::current(),
        }
    };
    payments.queue.submit(request).await
}

/// The caller's order `order_id` as it stands, with its payment if it was
/// paid: what a refused `payOrder` answers beside `ORDER_ALREADY_PAID` (so
/// that a client that lost the first answer still gets its payment) or
/// `ORDER_EXPIRED`.
pub async fn as_settled(
    services: &Services,
    caller: &Principal,
    order_id: i64,
) -> AppResult<(OrderRecord, Option<PaymentRecord>)> {
    let user_id = identity::user_id(services, caller).await?;
    let mut conn = services.db.pool.acquire().await?;
    let order = order::owned(&mut *conn, order_id, user_id).await?;
    let payment = payment::of_orders(&mut *conn, &[order_id]).await?.pop();
    Ok((order, payment))
}

/// Settles a batch in one transaction (the [`Batcher`] settles the
/// requests one by one should the batch fail as a whole).
async fn pay_batch(
    db: &Db,
    sold_out: &SoldOutProducts,
    requests: &[PaymentRequest],
) -> AppResult<Vec<AppResult<PaidOrder>>> {
    let (results, levels) = db
        .serializable(USE_CASE, |tx| {
            let requests = requests.to_vec();
            Box::pin(async move { pay_in(tx, &requests).await })
        })
        .await?;
    sold_out.update(levels.into_iter());
    Ok(results)
}

/// The transaction's body: read, decide, write, in the use case's order.
/// Returns each request's outcome, and the stock of every product read as
/// the batch leaves it.
async fn pay_in(
    tx: &mut PgConnection,
    requests: &[PaymentRequest],
) -> AppResult<(Vec<AppResult<PaidOrder>>, Vec<(i64, i32)>)> {
    let mut snapshot = Snapshot::load(tx, requests).await?;
    let now = Utc::now();
    let decisions: Vec<AppResult<Settled>> =
        requests.iter().map(|r| snapshot.decide(r, now)).collect();
    let settled: Vec<&Settled> = decisions.iter().filter_map(|d| d.as_ref().ok()).collect();
    // The trace of each settled request, for its event.
    let traces: Vec<Option<TraceParent>> = requests
        .iter()
        .zip(&decisions)
        .filter(|(_, d)| d.is_ok())
        .map(|(r, _)| r.trace)
        .collect();

    // The orders first, in id order: cancelling and expiring lock an order
    // before its products too, so neither can deadlock with a payment over
    // an order that holds stock.
    let mut discounts: Vec<(i64, i64)> = settled
        .iter()
        .map(|s| (s.debit.order_id, s.discount))
        .collect();
    discounts.sort_unstable();
    let mut orders: HashMap<i64, OrderRecord> = order::mark_paid(tx, &discounts)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    stock::take(tx, &snapshot.stock_takes(&settled)).await?;
    let uses: Vec<(i64, i64)> = settled
        .iter()
        .filter_map(|s| s.user_coupon_id.map(|c| (c, s.debit.order_id)))
        .collect();
    user_coupon::mark_used(tx, &uses).await?;
    let debits: Vec<balance::Debit> = settled.iter().map(|s| s.debit).collect();
    balance::pay(tx, &debits).await?;
    let mut payments: HashMap<i64, PaymentRecord> = payment::insert(tx, &debits)
        .await?
        .into_iter()
        .map(|p| (p.order_id, p))
        .collect();
    let cart_lines: Vec<(i64, i64)> = settled
        .iter()
        .flat_map(|s| {
            snapshot
                .lines(s.debit.order_id)
                .iter()
                .map(|line| (s.debit.user_id, line.product_id))
        })
        .collect();
    cart::remove_paid(tx, &cart_lines).await?;

    let mut events = Vec::with_capacity(settled.len());
    let mut paid = Vec::with_capacity(settled.len());
    for (s, trace) in settled.iter().zip(traces) {
        let order_id = s.debit.order_id;
        let (Some(order), Some(payment)) = (orders.remove(&order_id), payments.remove(&order_id))
        else {
            return Err(AppError::Internal(format!(
                "order {order_id} was settled but not written"
            )));
        };
        let user = snapshot
            .user(s.debit.user_id)
            .ok_or_else(|| AppError::Internal("a settled payer vanished".into()))?;
        events.push(
            OrderPaid {
                order: &order,
                items: &snapshot.named_lines(order_id),
                user,
                coupon: s.user_coupon_id.and_then(|id| snapshot.coupon(id)),
                payment: &payment,
            }
            .to_event()?
            .in_trace(trace),
        );
        paid.push(PaidOrder { order, payment });
    }
    outbox::insert(tx, &events).await?;

    // Hand each request its outcome, in the order they came.
    let mut paid = paid.into_iter();
    let results = decisions
        .into_iter()
        .map(|d| {
            d.and_then(|_| {
                paid.next()
                    .ok_or_else(|| AppError::Internal("a settled payment went missing".into()))
            })
        })
        .collect();
    Ok((results, snapshot.stock_levels()))
}
