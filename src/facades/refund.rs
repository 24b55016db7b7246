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
//! Refunds of one product, like payments, all update its row. Before the
//! transaction a refund reads the order's products (lines never change)
//! and lines up behind the other refunds of this instance for those rows
//! ([`crate::db::RowLocks`]), so that an instance's refunds of a hot
//! product take turns instead of aborting each other; across instances
//! the database decides and the retry helper retries the loser.

use std::collections::HashMap;

use super::{Services, require_admin};
use crate::auth::Principal;
use crate::db::RowKey;
use crate::domain::balance::{self, Debit};
use crate::domain::order::{self, OrderRecord};
use crate::domain::outbox::{self, OrderRefunded};
use crate::domain::{product, stock, user, user_coupon};
use crate::error::{AppError, AppResult, Rejection};
use crate::events::Change;
use sqlx::PgConnection;

const USE_CASE: &str = "refundOrder";

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
    // Only which rows to line up behind: the transaction reads the lines
    // again (an unknown order has none, and is reported there).
    let mut products: Vec<i64> = order::items_of(&services.db.pool, &[order_id])
        .await?
        .iter()
        .map(|line| line.product_id)
        .collect();
    products.sort_unstable();
    let rows: Vec<RowKey> = products
        .iter()
        .map(|&id| RowKey::new("products", id))
        .collect();
    let refunded = services
        .db
        .serializable_on(USE_CASE, &rows, |tx| {
            let reason = reason.clone();
            Box::pin(async move { refund_in(tx, order_id, reason.as_deref()).await })
        })
        .await?;
    services.changes.announce(&[Change::Order(order_id)]);
    Ok(refunded)
}

/// The order `order_id` as it stands, for the answer beside
/// `ORDER_ALREADY_REFUNDED` (admins only, like the refund).
pub async fn order(
    services: &Services,
    caller: &Principal,
    order_id: i64,
) -> AppResult<Option<OrderRecord>> {
    require_admin(caller)?;
    Ok(order::by_ids(&services.db.pool, &[order_id]).await?.pop())
}

/// The transaction's body: read, check, write.
async fn refund_in(
    tx: &mut PgConnection,
    order_id: i64,
    reason: Option<&str>,
) -> AppResult<OrderRecord> {
    let order = order::by_ids(&mut *tx, &[order_id])
        .await?
        .pop()
        .ok_or_else(order::not_found)?;
    order.check_refundable()?;

    let lines = order::items_of(&mut *tx, &[order_id]).await?;
    let mut returns: HashMap<i64, i32> = HashMap::new();
    for line in &lines {
        *returns.entry(line.product_id).or_default() += line.quantity;
    }
    let mut returns: Vec<(i64, i32)> = returns.into_iter().collect();
    // A fixed order of updates, so two refunds cannot deadlock.
    returns.sort_unstable();
    stock::restore(tx, &returns).await?;

    let coupon = user_coupon::of_orders(&mut *tx, &[order_id]).await?.pop();
    user_coupon::release(tx, order_id).await?;

    let refunded = order::mark_refunded(tx, order_id, reason).await?;
    balance::refund(
        tx,
        Debit {
            user_id: refunded.user_id,
            order_id,
            amount: refunded.payable_amount(),
        },
    )
    .await?;

    // What the event reports: the payer and the lines' product names.
    let payer = user::by_ids(&mut *tx, &[refunded.user_id])
        .await?
        .pop()
        .ok_or_else(|| AppError::Internal(format!("the payer of order {order_id} vanished")))?;
    let product_ids: Vec<i64> = returns.iter().map(|(id, _)| *id).collect();
    let names: HashMap<i64, String> = product::by_ids(&mut *tx, &product_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let items: Vec<_> = lines
        .into_iter()
        .map(|line| {
            let name = names.get(&line.product_id).cloned().unwrap_or_default();
            (line, name)
        })
        .collect();
    let event = OrderRefunded {
        order: &refunded,
        items: &items,
        user: &payer,
        coupon: coupon.as_ref(),
        reason,
    }
    .to_event()?;
    outbox::insert(tx, &[event]).await?;
    Ok(refunded)
}
