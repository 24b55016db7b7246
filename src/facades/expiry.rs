//! The sweep: PENDING orders whose payment window has closed are stored
//! EXPIRED, their holds given back, their subscribers told and their
//! order-expired events written, in one SERIALIZABLE transaction per set.
//!
//! Every instance runs a [`Sweeper`] (unless `ORDER_SWEEP_INTERVAL_MS=0`);
//! they share the work without coordinating, because each transaction
//! claims its orders with `FOR UPDATE SKIP LOCKED` (see
//! [`crate::domain::order::expiry`]): an order is expired, released and
//! announced by exactly one of them.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::PgConnection;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Services;
use super::order::released;
use crate::domain::order::expiry::{self, ExpiredOrder};
use crate::domain::order::{self, OrderItemRecord};
use crate::domain::outbox::{self, OrderExpired};
use crate::domain::{product, stock, user};
use crate::error::{AppError, AppResult};
use crate::events::Change;

const USE_CASE: &str = "expireOrders";

/// Expires up to `limit` overdue orders in one transaction; returns how
/// many it expired (fewer than `limit`: none are left, or other instances'
/// sweeps hold the rest).
pub async fn sweep_once(services: &Services, limit: usize) -> AppResult<usize> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let expired = services
        .db
        .serializable(USE_CASE, |tx| Box::pin(expire_in(tx, limit)))
        .await?;
    let changes: Vec<Change> = expired.iter().map(|&id| Change::Order(id)).collect();
    services.changes.announce(&changes);
    Ok(expired.len())
}

/// Sweeps until a batch comes back short: every order overdue now is
/// expired (by this instance or another). Returns how many this one did.
pub async fn sweep(services: &Services) -> AppResult<usize> {
    let batch = services.config.orders.sweep_batch;
    let mut total = 0;
    loop {
        let done = sweep_once(services, batch).await?;
        total += done;
        if done < batch {
            return Ok(total);
        }
    }
}

/// The transaction's body: claim and expire, release the holds, write the
/// events. Returns the expired orders' ids.
async fn expire_in(tx: &mut PgConnection, limit: i64) -> AppResult<Vec<i64>> {
    let expired = expiry::expire_due(tx, limit).await?;
    if expired.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = expired.iter().map(|e| e.order.id).collect();
    let mut lines: HashMap<i64, Vec<OrderItemRecord>> = HashMap::new();
    for line in order::items_of(&mut *tx, &ids).await? {
        lines.entry(line.order_id).or_default().push(line);
    }
    let held: Vec<OrderItemRecord> = expired
        .iter()
        .filter(|e| e.order.holds_stock)
        .flat_map(|e| lines.get(&e.order.id).cloned().unwrap_or_default())
        .collect();
    stock::release(tx, &released(&held)).await?;
    let events = events(tx, &expired, &lines).await?;
    outbox::insert(tx, &events).await?;
    Ok(ids)
}

/// The order-expired events of `expired`, with their owners and their
/// lines' product names.
async fn events(
    tx: &mut PgConnection,
    expired: &[ExpiredOrder],
    lines: &HashMap<i64, Vec<OrderItemRecord>>,
) -> AppResult<Vec<outbox::NewEvent>> {
    let user_ids: Vec<i64> = expired.iter().map(|e| e.order.user_id).collect();
    let users: HashMap<i64, _> = user::by_ids(&mut *tx, &user_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let product_ids: Vec<i64> = lines.values().flatten().map(|l| l.product_id).collect();
    let names: HashMap<i64, String> = product::by_ids(&mut *tx, &product_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    expired
        .iter()
        .map(|e| {
            let user = users.get(&e.order.user_id).ok_or_else(|| {
                AppError::Internal(format!("the owner of order {} vanished", e.order.id))
            })?;
            let items: Vec<(OrderItemRecord, String)> = lines
                .get(&e.order.id)
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .map(|l| {
                    (
                        l.clone(),
                        names.get(&l.product_id).cloned().unwrap_or_default(),
                    )
                })
                .collect();
            OrderExpired {
                order: &e.order,
                items: &items,
                user,
                expired_at: e.expired_at,
            }
            .to_event()
        })
        .collect()
}

/// This instance's sweep, every `ORDER_SWEEP_INTERVAL_MS`: stop it with
/// [`Sweeper::stop`], which lets it finish the transaction it is in.
pub struct Sweeper {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Sweeper {
    /// Starts sweeping; `None` when `ORDER_SWEEP_INTERVAL_MS` is 0.
    pub fn start(services: Services) -> Option<Self> {
        let every = services.config.orders.sweep_interval;
        if every.is_zero() {
            return None;
        }
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(services, every, stopped));
        Some(Self { stop, task })
    }

    /// Asks the sweep to stop after its current transaction, and waits.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the order sweep panicked");
        }
    }
}

async fn run(services: Services, every: Duration, mut stopped: watch::Receiver<bool>) {
    loop {
        match sweep(&services).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(orders = n, "expired orders"),
            // The orders stay overdue and the next sweep takes them; their
            // status already reads EXPIRED meanwhile.
            Err(e) => tracing::warn!(error = ?e, "the order sweep failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            // Stopped, or the sweeper dropped: either way, no more sweeps.
            _ = stopped.changed() => return,
        }
    }
}
