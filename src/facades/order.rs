//! `createOrder`, `createOrderFromCart` and `cancelOrder`: the first use case, "user
//! orders products" (from a list of lines or from the cart, by one code
//! path), and calling an order off before it is paid.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::{Services, identity};
use crate::auth::Principal;
use crate::domain::cart::{self, CartLine};
use crate::domain::order::{self, Line, LineRequest, OrderRecord};
use crate::domain::{idempotency, product};
use crate::error::{AppError, AppResult, ErrorCode, Field, Rejection, Rejections};
use crate::events::Change;
use crate::global_id::{self, types};

const CREATE: &str = "createOrder";
const FROM_CART: &str = "createOrderFromCart";

/// Validates every line (shape, product, stock) and saves a PENDING order
/// at today's prices. Nothing is reserved or charged. With an
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
    let user_id = identity::user_id(services, caller).await?;
    let fingerprint = order::fingerprint(&lines);
    services
        .db
        .serializable(CREATE, |tx| {
            let (lines, errors) = (lines.clone(), errors.clone());
            let (key, fingerprint) = (idempotency_key.clone(), fingerprint.clone());
            Box::pin(async move {
                if let (Some(key), true) = (&key, errors.is_empty()) {
                    let replayed =
                        idempotency::replay(tx, user_id, CREATE, key, &fingerprint).await?;
                    if let Some(order_id) = replayed {
                        return order::owned(&mut *tx, order_id, user_id).await;
                    }
                }
                let created = place(tx, user_id, &lines, errors).await?;
                if let Some(key) = &key {
                    idempotency::record(tx, user_id, CREATE, key, &fingerprint, created.id).await?;
                }
                Ok(created)
            })
        })
        .await
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
                    Ok((lines, errors)) => place(tx, user_id, &lines, errors).await,
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

/// Checks well-formed `lines` against the catalog (reporting their failures
/// with the shape failures in `errors`, all at once), prices them and saves
/// the PENDING order: the one code path of both ways to order.
async fn place(
    tx: &mut PgConnection,
    user_id: i64,
    lines: &[Line],
    mut errors: Rejections,
) -> AppResult<OrderRecord> {
    let product_ids: Vec<i64> = lines.iter().map(|l| l.product_id).collect();
    let products: HashMap<_, _> = product::by_ids(&mut *tx, &product_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let priced = order::price_lines(lines, &products, &mut errors);
    errors.finish()?;
    order::insert(tx, user_id, &priced).await
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
/// `ORDER_ALREADY_PAID`, `ORDER_CANCELLED` otherwise). When a cancel races
/// a payment of the same order, SERIALIZABLE lets exactly one of them win.
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
                order::mark_cancelled(tx, order_id).await
            })
        })
        .await?;
    services.changes.announce(&[Change::Order(order_id)]);
    Ok(cancelled)
}
