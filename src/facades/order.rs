//! `createOrder`, `createOrderFromCart` and `cancelOrder`: the first use case, "user
//! orders products" (from a list of lines or from the cart, by one code
//! path), and calling an order off before it is paid.
//!
//! A new order is open for payment until the server's payment window ends
//! (`ORDER_PAYMENT_WINDOW_SECS`); when the server holds stock
//! (`ORDER_HOLD_STOCK`) it takes its units out of free stock in its own
//! transaction, and cancelling gives them back.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::{Services, identity};
use crate::auth::Principal;
use crate::config::Config;
use crate::db::{Batcher, Db};
use crate::domain::cart::{self, CartLine};
use crate::domain::order::{
    self, Line, LineRequest, OrderItemRecord, OrderRecord, PricedLine, Terms,
};
use crate::domain::{idempotency, product, stock};
use crate::error::{AppError, AppResult, ErrorCode, Field, Rejection, Rejections};
use crate::events::Change;
use crate::global_id::{self, types};

const CREATE: &str = "createOrder";
const FROM_CART: &str = "createOrderFromCart";

/// The most createOrder requests settled in one transaction.
pub const MAX_BATCH: usize = 128;

/// One `createOrder` request, checked for shape and ready to settle.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    user_id: i64,
    lines: Vec<Line>,
    /// What was wrong with the request's shape: reported with the catalog's
    /// findings, all at once.
    errors: Rejections,
    key: Option<String>,
    fingerprint: String,
}

/// This instance's `createOrder` requests. When the server holds stock, a
/// limited drop makes every order of it update one product row: they are
/// then settled in batches, as payments are, one transaction per batch
/// (instead of one per order, each aborting the others), which keeps that
/// exact and fast. Without holds an order writes no shared row, so each
/// runs in a transaction of its own at once, by the same code, without the
/// queue's hops.
pub struct Creates {
    db: Db,
    terms: Terms,
    /// The batches' queue, when the server holds stock.
    queue: Option<Batcher<CreateRequest, OrderRecord>>,
}

impl Creates {
    /// Starts the worker that settles this instance's orders, if they hold
    /// stock.
    pub fn new(db: Db, terms: Terms) -> Self {
        let queue = terms.holds_stock.then(|| {
            let db = db.clone();
            Batcher::new(&db.clone(), CREATE, MAX_BATCH, move |requests| {
                let db = db.clone();
                async move { settle(&db, requests, terms).await }
            })
        });
        Self { db, terms, queue }
    }

    async fn submit(&self, request: CreateRequest) -> AppResult<OrderRecord> {
        match &self.queue {
            Some(queue) => queue.submit(request).await,
            None => settle(&self.db, vec![request], self.terms)
                .await?
                .pop()
                .unwrap_or_else(|| {
                    Err(AppError::Internal("an order request went unsettled".into()))
                }),
        }
    }
}

/// Settles `requests` in one SERIALIZABLE transaction (see [`create_in`]).
async fn settle(
    db: &Db,
    requests: Vec<CreateRequest>,
    terms: Terms,
) -> AppResult<Vec<AppResult<OrderRecord>>> {
    db.serializable(CREATE, |tx| {
        let requests = requests.clone();
        Box::pin(async move { create_in(tx, &requests, terms).await })
    })
    .await
}

/// Validates every line (shape, product, stock) and saves a PENDING order
/// at today's prices, open until the payment window ends, holding its
/// units when the server holds stock. Nothing is charged. With an
/// `idempotency_key`, a retry returns the order the first request created.
pub async fn create_order(
    services: &Services,
    caller: &Principal,
    requests: &[LineRequest],
    idempotency_key: Option<String>,
) -> AppResult<OrderRecord> {
    let (lines, mut errors) = order::validate_lines(requests)?;
    if let Some(key) = &idempotency_key {
        errors.check(idempotency::validate_key(key));
    }
    let request = CreateRequest {
        user_id: identity::user_id(services, caller).await?,
        fingerprint: order::fingerprint(&lines),
        lines,
        errors,
        key: idempotency_key,
    };
    services.creates.submit(request).await
}

/// A batch's transaction: each request replayed by its idempotency key or
/// placed, in arrival order, then the keys recorded. One result per request.
async fn create_in(
    tx: &mut PgConnection,
    requests: &[CreateRequest],
    terms: Terms,
) -> AppResult<Vec<AppResult<OrderRecord>>> {
    let mut results: Vec<Option<AppResult<OrderRecord>>> = std::iter::repeat_with(|| None)
        .take(requests.len())
        .collect();
    let mut fresh = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter().enumerate() {
        if let (Some(key), true) = (&r.key, r.errors.is_empty()) {
            match idempotency::replay(tx, r.user_id, CREATE, key, &r.fingerprint).await {
                Ok(Some(order_id)) => {
                    results[i] = Some(order::owned(&mut *tx, order_id, r.user_id).await);
                    continue;
                }
                Ok(None) => {}
                Err(rejected @ AppError::Rejected(_)) => {
                    results[i] = Some(Err(rejected));
                    continue;
                }
                Err(failed) => return Err(failed),
            }
        }
        fresh.push(i);
    }
    let placements: Vec<Placement> = fresh
        .iter()
        .map(|&i| Placement {
            user_id: requests[i].user_id,
            lines: &requests[i].lines,
            errors: requests[i].errors.clone(),
        })
        .collect();
    let placed = place_all(tx, placements, terms).await?;
    for (i, outcome) in fresh.into_iter().zip(placed) {
        let r = &requests[i];
        if let (Ok(created), Some(key)) = (&outcome, &r.key) {
            idempotency::record(tx, r.user_id, CREATE, key, &r.fingerprint, created.id).await?;
        }
        results[i] = Some(outcome);
    }
    Ok(results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| Err(AppError::Internal("an order request went unsettled".into())))
        })
        .collect())
}

/// Orders every line of the caller's cart through the same rules as
/// [`create_order`] (`CART_EMPTY` when it holds nothing). The cart is read in
/// the order's transaction, so the order holds the cart as it was at one
/// moment; its lines leave the cart when the order is paid. With an
/// `idempotency_key`, a retry returns the order the first request created,
/// even once paying it has emptied the cart.
pub async fn create_order_from_cart(
    services: &Services,
    caller: &Principal,
    idempotency_key: Option<String>,
) -> AppResult<OrderRecord> {
    if let Some(key) = &idempotency_key {
        idempotency::validate_key(key)?;
    }
    let user_id = identity::user_id(services, caller).await?;
    let terms = terms(&services.config);
    services
        .db
        .serializable(FROM_CART, |tx| {
            let key = idempotency_key.clone();
            Box::pin(async move {
                if let Some(key) = &key {
                    let replayed =
                        idempotency::replay(tx, user_id, FROM_CART, key, CART_FINGERPRINT).await?;
                    if let Some(order_id) = replayed {
                        return order::owned(&mut *tx, order_id, user_id).await;
                    }
                }
                let cart = cart::lines(&mut *tx, user_id).await?;
                if cart.is_empty() {
                    return Err(Rejection::new(ErrorCode::CartEmpty, "the cart is empty").into());
                }
                let requests: Vec<LineRequest> = cart
                    .iter()
                    .map(|line| LineRequest {
                        product_id: Some(line.product_id),
                        quantity: line.quantity,
                    })
                    .collect();
                let placed = match order::validate_lines(&requests) {
                    Ok((lines, errors)) => place(tx, user_id, &lines, errors, terms).await,
                    Err(rejection) => Err(rejection.into()),
                };
                let created = placed.map_err(|e| of_cart_lines(e, &cart))?;
                if let Some(key) = &key {
                    idempotency::record(tx, user_id, FROM_CART, key, CART_FINGERPRINT, created.id)
                        .await?;
                }
                Ok(created)
            })
        })
        .await
}

/// What an idempotency key of `createOrderFromCart` is recorded with: the
/// key alone names the request, whatever the cart holds on a retry.
const CART_FINGERPRINT: &str = "cart";

/// What this server creates orders with (its `ORDER_` settings).
pub(crate) fn terms(config: &Config) -> Terms {
    Terms {
        window: config.orders.payment_window,
        holds_stock: config.orders.hold_stock,
    }
}

/// An order to place: its owner, its well-formed lines, and what was
/// already found wrong with its request.
struct Placement<'a> {
    user_id: i64,
    lines: &'a [Line],
    errors: Rejections,
}

/// Checks each placement's lines against the catalog (reporting their
/// failures with the shape failures, all at once), prices them and saves
/// the PENDING orders that pass, holding their units if `terms` say so:
/// the one code path of every way to order. Placements are decided in
/// order over one read of their products, each seeing the units the
/// earlier ones held. One result per placement.
async fn place_all(
    tx: &mut PgConnection,
    placements: Vec<Placement<'_>>,
    terms: Terms,
) -> AppResult<Vec<AppResult<OrderRecord>>> {
    let product_ids: Vec<i64> = placements
        .iter()
        .flat_map(|p| p.lines.iter().map(|l| l.product_id))
        .collect();
    let mut products: HashMap<_, _> = product::by_ids(&mut *tx, &product_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut decided: Vec<Result<(i64, Vec<PricedLine>), AppError>> =
        Vec::with_capacity(placements.len());
    for Placement {
        user_id,
        lines,
        mut errors,
    } in placements
    {
        let priced = order::price_lines(lines, &products, &mut errors);
        if let Err(rejected) = errors.finish() {
            decided.push(Err(rejected));
            continue;
        }
        if terms.holds_stock {
            for line in &priced {
                if let Some(p) = products.get_mut(&line.product_id) {
                    p.stock -= line.quantity;
                }
            }
        }
        decided.push(Ok((user_id, priced)));
    }
    let to_insert: Vec<(i64, &[PricedLine])> = decided
        .iter()
        .filter_map(|d| d.as_ref().ok())
        .map(|(user_id, lines)| (*user_id, lines.as_slice()))
        .collect();
    let mut created = order::insert_many(tx, &to_insert, terms).await?.into_iter();
    if terms.holds_stock {
        let held: Vec<(i64, i32)> = to_insert
            .iter()
            .flat_map(|(_, lines)| lines.iter().map(|l| (l.product_id, l.quantity)))
            .collect();
        stock::hold(tx, &summed(held)).await?;
    }
    Ok(decided
        .into_iter()
        .map(|d| {
            d.and_then(|_| {
                created
                    .next()
                    .ok_or_else(|| AppError::Internal("a placed order went missing".into()))
            })
        })
        .collect())
}

/// [`place_all`] of one order.
async fn place(
    tx: &mut PgConnection,
    user_id: i64,
    lines: &[Line],
    errors: Rejections,
    terms: Terms,
) -> AppResult<OrderRecord> {
    let placement = Placement {
        user_id,
        lines,
        errors,
    };
    place_all(tx, vec![placement], terms)
        .await?
        .pop()
        .unwrap_or_else(|| Err(AppError::Internal("a placed order went missing".into())))
}

/// A cart's lines are no input of the request, so their failures name the
/// product in the message rather than an input path.
fn of_cart_lines(err: AppError, cart: &[CartLine]) -> AppError {
    let AppError::Rejected(rejections) = err else {
        return err;
    };
    let rejections = rejections
        .into_iter()
        .map(|mut r| {
            if let Some(Field::LineProduct(i) | Field::LineQuantity(i)) = r.field {
                if let Some(line) = cart.get(i) {
                    let product = global_id::encode(types::PRODUCT, line.product_id);
                    r.message = format!("the cart's product {product}: {}", r.message);
                }
                r.field = None;
            }
            r
        })
        .collect();
    AppError::Rejected(rejections)
}

/// Cancels the caller's PENDING order (`ORDER_NOT_FOUND`,
/// `ORDER_ALREADY_PAID`, `ORDER_CANCELLED`, `ORDER_EXPIRED` otherwise),
/// giving back the units it held. When a cancel races a payment or the
/// expiry of the same order, SERIALIZABLE lets exactly one of them win.
pub async fn cancel_order(
    services: &Services,
    caller: &Principal,
    order_id: i64,
) -> AppResult<OrderRecord> {
    let user_id = identity::user_id(services, caller).await?;
    let cancelled = services
        .db
        .serializable("cancelOrder", |tx| {
            Box::pin(async move {
                order::owned(&mut *tx, order_id, user_id)
                    .await?
                    .check_pending()?;
                let cancelled = order::mark_cancelled(tx, order_id).await?;
                if cancelled.holds_stock {
                    let lines = order::items_of(&mut *tx, &[order_id]).await?;
                    stock::release(tx, &released(&lines)).await?;
                }
                Ok(cancelled)
            })
        })
        .await?;
    services.changes.announce(&[Change::Order(order_id)]);
    Ok(cancelled)
}

/// The units `lines` held, summed per product (see [`summed`]).
pub(crate) fn released(lines: &[OrderItemRecord]) -> Vec<(i64, i32)> {
    summed(lines.iter().map(|l| (l.product_id, l.quantity)))
}

/// Units summed per product, each product once and in id order, so that
/// concurrent transactions update products in the same order and cannot
/// deadlock.
fn summed(units: impl IntoIterator<Item = (i64, i32)>) -> Vec<(i64, i32)> {
    let mut sums: HashMap<i64, i32> = HashMap::new();
    for (product, quantity) in units {
        *sums.entry(product).or_default() += quantity;
    }
    let mut sums: Vec<(i64, i32)> = sums.into_iter().collect();
    sums.sort_unstable();
    sums
}
