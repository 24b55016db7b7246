//! `createOrder` and `cancelOrder`: the seed's "user orders products", and
//! calling an order off before it is paid.

use std::collections::HashMap;

use super::{Services, identity};
use crate::auth::Principal;
use crate::domain::order::{self, LineRequest, OrderRecord};
use crate::domain::{idempotency, product};
use crate::error::AppResult;
use crate::events::Change;

const CREATE: &str = "createOrder";

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
    let product_ids: Vec<i64> = lines.iter().map(|l| l.product_id).collect();
    services
        .db
        .serializable(CREATE, |tx| {
            let (lines, product_ids, mut errors) =
                (lines.clone(), product_ids.clone(), errors.clone());
            let (key, fingerprint) = (idempotency_key.clone(), fingerprint.clone());
            Box::pin(async move {
                if let (Some(key), true) = (&key, errors.is_empty()) {
                    let replayed =
                        idempotency::replay(tx, user_id, CREATE, key, &fingerprint).await?;
                    if let Some(order_id) = replayed {
                        return order::owned(&mut *tx, order_id, user_id).await;
                    }
                }
                // Lines that failed their shape are reported with the ones
                // that fail against the catalog, all at once.
                let products: HashMap<_, _> = product::by_ids(&mut *tx, &product_ids)
                    .await?
                    .into_iter()
                    .map(|p| (p.id, p))
                    .collect();
                let priced = order::price_lines(&lines, &products, &mut errors);
                errors.finish()?;
                let created = order::insert(tx, user_id, &priced).await?;
                if let Some(key) = &key {
                    idempotency::record(tx, user_id, CREATE, key, &fingerprint, created.id).await?;
                }
                Ok(created)
            })
        })
        .await
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
