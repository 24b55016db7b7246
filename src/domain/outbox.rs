//! The transactional outbox: an event is written in the same transaction as
//! the change it reports, so a payment (or a refund) is never confirmed
//! without its event and an event never exists without its change. A relay
//! publishes the rows to NATS JetStream afterwards, each type on its own
//! subject ([`EventKind`]).
//!
//! Each row holds the whole CloudEvents 1.0 JSON message, exactly as it will
//! be published.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::order::{OrderItemRecord, OrderRecord};
use super::payment::PaymentRecord;
use super::user::UserRecord;
use super::user_coupon::UserCouponRecord;
use crate::error::{AppError, AppResult};
use crate::global_id::{self, types};
use crate::telemetry::TraceParent;

/// The CloudEvents `type` of an order-paid event.
pub const ORDER_PAID: &str = "com.commerce.order.paid";
/// The CloudEvents `type` of an order-refunded event.
pub const ORDER_REFUNDED: &str = "com.commerce.order.refunded";
/// The CloudEvents `type` of an order-expired event.
pub const ORDER_EXPIRED: &str = "com.commerce.order.expired";

/// The kinds of events in the outbox, told apart by their CloudEvents type.
/// Each goes to a subject of its own, chosen from the configuration when
/// the relay publishes it (not stored with the row: see migration 0002).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `com.commerce.order.paid`, on `NATS_SUBJECT`.
    OrderPaid,
    /// `com.commerce.order.refunded`, on `NATS_REFUND_SUBJECT`.
    OrderRefunded,
    /// `com.commerce.order.expired`, on `NATS_EXPIRED_SUBJECT`.
    OrderExpired,
}

impl EventKind {
    /// The kind of an outbox row's `event_type`; `None` for a type this
    /// build does not know.
    pub fn of(event_type: &str) -> Option<Self> {
        match event_type {
            ORDER_PAID => Some(Self::OrderPaid),
            ORDER_REFUNDED => Some(Self::OrderRefunded),
            ORDER_EXPIRED => Some(Self::OrderExpired),
            _ => None,
        }
    }
}
/// The CloudEvents `source` of the events this server writes.
pub const SOURCE: &str = "urn:commerce:payments";

/// An event ready to be written to the outbox.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The CloudEvents id; also the `Nats-Msg-Id` that JetStream deduplicates on.
    pub id: Uuid,
    /// The CloudEvents type.
    pub event_type: &'static str,
    /// The order the event is about.
    pub order_id: i64,
    /// The whole CloudEvents message, serialized.
    pub payload: String,
    /// The trace of the request that wrote it (see [`NewEvent::in_trace`]).
    pub traceparent: Option<TraceParent>,
}

impl NewEvent {
    /// The event as part of the trace `traceparent` (the request whose
    /// write it records), which its NATS message continues.
    pub fn in_trace(self, traceparent: Option<TraceParent>) -> Self {
        Self {
            traceparent,
            ..self
        }
    }
}

/// A CloudEvents 1.0 envelope (structured mode, JSON).
#[derive(Debug, Serialize)]
struct CloudEvent<T> {
    specversion: &'static str,
    id: Uuid,
    source: &'static str,
    #[serde(rename = "type")]
    event_type: &'static str,
    subject: String,
    time: String,
    datacontenttype: &'static str,
    data: T,
}

/// Money as a string of digits, as in the API: exact, whatever the
/// consumer's number type.
type Money = String;

/// The `data` of an order-paid event.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderPaidData {
    order_id: String,
    status: &'static str,
    user: UserData,
    items: Vec<ItemData>,
    total_amount: Money,
    discount_amount: Money,
    payable_amount: Money,
    coupon: Option<CouponData>,
    payment: PaymentData,
    created_at: String,
    paid_at: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UserData {
    id: String,
    subject: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemData {
    product_id: String,
    product_name: String,
    quantity: i32,
    unit_price: Money,
    line_total: Money,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CouponData {
    user_coupon_id: String,
    coupon_id: String,
    discount_type: &'static str,
    discount_value: i32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PaymentData {
    id: String,
    amount: Money,
}

/// The `data` of an order-refunded event.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderRefundedData {
    order_id: String,
    status: &'static str,
    user: UserData,
    items: Vec<ItemData>,
    total_amount: Money,
    discount_amount: Money,
    payable_amount: Money,
    refunded_amount: Money,
    coupon: Option<CouponData>,
    reason: Option<String>,
    created_at: String,
    paid_at: String,
    refunded_at: String,
}

/// The `data` of an order-expired event.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderExpiredData {
    order_id: String,
    status: &'static str,
    user: UserData,
    items: Vec<ItemData>,
    total_amount: Money,
    held_stock: bool,
    created_at: String,
    expires_at: String,
    expired_at: String,
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn user_data(user: &UserRecord) -> UserData {
    UserData {
        id: global_id::encode(types::USER, user.id),
        subject: user.subject.clone(),
    }
}

fn items_data(items: &[(OrderItemRecord, String)]) -> Vec<ItemData> {
    items
        .iter()
        .map(|(item, name)| ItemData {
            product_id: global_id::encode(types::PRODUCT, item.product_id),
            product_name: name.clone(),
            quantity: item.quantity,
            unit_price: item.unit_price.to_string(),
            line_total: item.line_total().to_string(),
        })
        .collect()
}

fn coupon_data(coupon: &UserCouponRecord) -> CouponData {
    CouponData {
        user_coupon_id: global_id::encode(types::USER_COUPON, coupon.id),
        coupon_id: global_id::encode(types::COUPON, coupon.coupon_id),
        discount_type: coupon.discount_type.as_str(),
        discount_value: coupon.discount_value,
    }
}

/// Wraps `data` about `order_id` in a CloudEvents envelope with a fresh id,
/// serialized as the outbox row holds it.
fn envelope<T: Serialize>(
    event_type: &'static str,
    order_id: i64,
    time: DateTime<Utc>,
    data: T,
) -> AppResult<NewEvent> {
    let id = Uuid::new_v4();
    let event = CloudEvent {
        specversion: "1.0",
        id,
        source: SOURCE,
        event_type,
        subject: global_id::encode(types::ORDER, order_id),
        time: timestamp(time),
        datacontenttype: "application/json",
        data,
    };
    let payload = serde_json::to_string(&event)
        .map_err(|e| AppError::Internal(format!("serializing an event: {e}")))?;
    Ok(NewEvent {
        id,
        event_type,
        order_id,
        payload,
        // The current span's trace; a write settled in a batch names its
        // own request's instead (`in_trace`), the batch serving several.
        traceparent: TraceParent::current(),
    })
}

/// Everything an order-paid event reports.
pub struct OrderPaid<'a> {
    /// The order, already PAID.
    pub order: &'a OrderRecord,
    /// Its lines, each with its product's name.
    pub items: &'a [(OrderItemRecord, String)],
    /// The payer.
    pub user: &'a UserRecord,
    /// The coupon used, if any.
    pub coupon: Option<&'a UserCouponRecord>,
    /// The payment record.
    pub payment: &'a PaymentRecord,
}

impl OrderPaid<'_> {
    /// The event, with a fresh id.
    pub fn to_event(&self) -> AppResult<NewEvent> {
        let order = self.order;
        let paid_at = order.paid_at.unwrap_or(self.payment.paid_at);
        let data = OrderPaidData {
            order_id: global_id::encode(types::ORDER, order.id),
            status: order.status.as_str(),
            user: user_data(self.user),
            items: items_data(self.items),
            total_amount: order.total_amount.to_string(),
            discount_amount: order.discount_amount.to_string(),
            payable_amount: order.payable_amount().to_string(),
            coupon: self.coupon.map(coupon_data),
            payment: PaymentData {
                id: global_id::encode(types::PAYMENT, self.payment.id),
                amount: self.payment.amount.to_string(),
            },
            created_at: timestamp(order.created_at),
            paid_at: timestamp(paid_at),
        };
        envelope(ORDER_PAID, order.id, paid_at, data)
    }
}

/// Everything an order-refunded event reports.
pub struct OrderRefunded<'a> {
    /// The order, already REFUNDED.
    pub order: &'a OrderRecord,
    /// Its lines, each with its product's name.
    pub items: &'a [(OrderItemRecord, String)],
    /// The payer, who got the payable amount back.
    pub user: &'a UserRecord,
    /// The coupon that had paid for it (now released), if any.
    pub coupon: Option<&'a UserCouponRecord>,
    /// Why it was refunded, if the admin said.
    pub reason: Option<&'a str>,
}

impl OrderRefunded<'_> {
    /// The event, with a fresh id.
    pub fn to_event(&self) -> AppResult<NewEvent> {
        let order = self.order;
        // A REFUNDED order has both (CHECKs of migration 0005).
        let (Some(paid_at), Some(refunded_at)) = (order.paid_at, order.refunded_at) else {
            return Err(AppError::Internal(format!(
                "refunded order {} lacks paid_at or refunded_at",
                order.id
            )));
        };
        let data = OrderRefundedData {
            order_id: global_id::encode(types::ORDER, order.id),
            status: order.status.as_str(),
            user: user_data(self.user),
            items: items_data(self.items),
            total_amount: order.total_amount.to_string(),
            discount_amount: order.discount_amount.to_string(),
            payable_amount: order.payable_amount().to_string(),
            refunded_amount: order.payable_amount().to_string(),
            coupon: self.coupon.map(coupon_data),
            reason: self.reason.map(str::to_owned),
            created_at: timestamp(order.created_at),
            paid_at: timestamp(paid_at),
            refunded_at: timestamp(refunded_at),
        };
        envelope(ORDER_REFUNDED, order.id, refunded_at, data)
    }
}

/// Everything an order-expired event reports.
pub struct OrderExpired<'a> {
    /// The order, already EXPIRED.
    pub order: &'a OrderRecord,
    /// Its lines, each with its product's name.
    pub items: &'a [(OrderItemRecord, String)],
    /// Its owner.
    pub user: &'a UserRecord,
    /// When the sweep stored it.
    pub expired_at: DateTime<Utc>,
}

impl OrderExpired<'_> {
    /// The event, with a fresh id.
    pub fn to_event(&self) -> AppResult<NewEvent> {
        let order = self.order;
        // Only an order with a window expires (a CHECK of migration 0008).
        let Some(expires_at) = order.expires_at else {
            return Err(AppError::Internal(format!(
                "expired order {} has no window",
                order.id
            )));
        };
        let data = OrderExpiredData {
            order_id: global_id::encode(types::ORDER, order.id),
            status: order.status.as_str(),
            user: user_data(self.user),
            items: items_data(self.items),
            total_amount: order.total_amount.to_string(),
            held_stock: order.holds_stock,
            created_at: timestamp(order.created_at),
            expires_at: timestamp(expires_at),
            expired_at: timestamp(self.expired_at),
        };
        envelope(ORDER_EXPIRED, order.id, self.expired_at, data)
    }
}

/// Writes events to the outbox, in this transaction.
pub async fn insert(conn: &mut PgConnection, events: &[NewEvent]) -> AppResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let types: Vec<&str> = events.iter().map(|e| e.event_type).collect();
    let orders: Vec<i64> = events.iter().map(|e| e.order_id).collect();
    let payloads: Vec<&str> = events.iter().map(|e| e.payload.as_str()).collect();
    let traces: Vec<Option<String>> = events
        .iter()
        .map(|e| e.traceparent.map(|t| t.to_string()))
        .collect();
    sqlx::query!(
        "INSERT INTO outbox (event_id, event_type, order_id, payload, traceparent)
         SELECT e.id, e.event_type, e.order_id, e.payload::JSONB, e.traceparent
         FROM unnest($1::UUID[], $2::TEXT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[])
              AS e(id, event_type, order_id, payload, traceparent)",
        &ids,
        &types as &[&str],
        &orders,
        &payloads as &[&str],
        &traces as &[Option<String>],
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An event claimed by the relay: locked by its transaction until it ends.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    /// The outbox row.
    pub id: i64,
    /// The CloudEvents id, sent as `Nats-Msg-Id`.
    pub event_id: Uuid,
    /// The CloudEvents type, which names the subject (see [`EventKind`]).
    pub event_type: String,
    /// The CloudEvents JSON message.
    pub payload: String,
    /// The W3C traceparent of the request that wrote it, if traced.
    pub traceparent: Option<String>,
}

/// Claims up to `limit` unpublished events, oldest first, in this
/// transaction. `SKIP LOCKED` passes over the rows another relay holds, so
/// relays share the backlog and never publish one row concurrently; a
/// relay that dies releases its rows with its transaction.
pub async fn claim(conn: &mut PgConnection, limit: i64) -> AppResult<Vec<PendingEvent>> {
    // Never NULL: a row keeps its payload until it is published.
    Ok(sqlx::query_as!(
        PendingEvent,
        r#"SELECT id, event_id, event_type, payload::TEXT AS "payload!", traceparent FROM outbox
           WHERE published_at IS NULL
           ORDER BY id
           LIMIT $1
           FOR UPDATE SKIP LOCKED"#,
        limit,
    )
    .fetch_all(conn)
    .await?)
}

/// Stamps claimed events as published (JetStream acknowledged them).
pub async fn mark_published(conn: &mut PgConnection, ids: &[i64]) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL
         WHERE id = ANY($1)",
        ids,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed attempt to publish claimed events.
pub async fn mark_failed(conn: &mut PgConnection, ids: &[i64], error: &str) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1)",
        ids,
        error,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The unpublished events: how many, and the age of the oldest in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backlog {
    /// Unpublished events.
    pub size: i64,
    /// Seconds since the oldest unpublished event was written (0 when none).
    pub oldest_age_secs: f64,
}

/// Measures the backlog (through the partial index of unpublished rows).
pub async fn backlog(pool: &PgPool) -> AppResult<Backlog> {
    Ok(sqlx::query_as!(
        Backlog,
        r#"SELECT count(*) AS "size!",
                  COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::FLOAT8
                    AS "oldest_age_secs!"
           FROM outbox WHERE published_at IS NULL"#,
    )
    .fetch_one(pool)
    .await?)
}

/// Drops the payload of up to `limit` events published more than
/// `retention` ago; returns how many. The slim row stays: it records that
/// the event existed and was published.
pub async fn compact(pool: &PgPool, retention: std::time::Duration, limit: i64) -> AppResult<u64> {
    let seconds = retention.as_secs_f64();
    Ok(sqlx::query!(
        "UPDATE outbox SET payload = NULL WHERE id IN (
             SELECT id FROM outbox
             WHERE published_at IS NOT NULL AND payload IS NOT NULL
               AND published_at < now() - make_interval(secs => $1)
             LIMIT $2
             FOR UPDATE SKIP LOCKED)",
        seconds,
        limit,
    )
    .execute(pool)
    .await?
    .rows_affected())
}
