//! Orders and their lines: creation rules, status changes, and reads.
//!
//! An order is created PENDING with the prices of that moment copied into
//! its lines; it becomes PAID (see [`super::settlement`]) or CANCELLED,
//! never both; a PAID order may then be REFUNDED (see
//! `facades::refund`), for good. The `WHERE status = ...` guards on every
//! transition, the CHECKs tying `status` to `paid_at`/`cancelled_at`/
//! `refunded_at` and the triggers of migration 0005 make that hold in the
//! database too.
//!
//! [`lines`] holds the rules of an order's lines, [`listing`] its pages.

mod lines;
mod listing;

pub use lines::{Line, LineRequest, PricedLine, fingerprint, price_lines, validate_lines};
pub use listing::{count_all, count_for_user, page_all, page_for_user};

use chrono::{DateTime, Utc};
use sqlx::error::BoxDynError;
use sqlx::postgres::PgValueRef;
use sqlx::{PgConnection, PgExecutor, Postgres};

use crate::db::columns::zip_columns;
use crate::error::{AppError, AppResult, ErrorCode, Field, Rejection};

/// The most lines an order may have.
pub const MAX_LINES: usize = 100;
/// The most units of one product per order (and per cart line).
pub const MAX_QUANTITY: i32 = 1_000;

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Created; nothing reserved or charged.
    Pending,
    /// Paid in full.
    Paid,
    /// Cancelled before payment.
    Cancelled,
    /// Refunded after payment.
    Refunded,
}

impl OrderStatus {
    /// The value stored in `orders.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Paid => "PAID",
            Self::Cancelled => "CANCELLED",
            Self::Refunded => "REFUNDED",
        }
    }
}

/// Read from `orders.status` (TEXT, with a type override in the statements:
/// `status AS "status: OrderStatus"`); any other value is a decoding error.
impl<'r> sqlx::Decode<'r, Postgres> for OrderStatus {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        match <&str as sqlx::Decode<Postgres>>::decode(value)? {
            "PENDING" => Ok(Self::Pending),
            "PAID" => Ok(Self::Paid),
            "CANCELLED" => Ok(Self::Cancelled),
            "REFUNDED" => Ok(Self::Refunded),
            other => Err(format!("unknown order status {other:?}").into()),
        }
    }
}

/// A row of `orders`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    /// Database id.
    pub id: i64,
    /// The owner.
    pub user_id: i64,
    /// Where the order stands.
    pub status: OrderStatus,
    /// Sum of the lines at the prices of creation.
    pub total_amount: i64,
    /// Coupon discount applied at payment.
    pub discount_amount: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was paid.
    pub paid_at: Option<DateTime<Utc>>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// When it was refunded.
    pub refunded_at: Option<DateTime<Utc>>,
}

impl OrderRecord {
    /// What the user pays: the total less the discount.
    pub fn payable_amount(&self) -> i64 {
        self.total_amount - self.discount_amount
    }

    /// The rule for paying or cancelling: only a PENDING order may be;
    /// otherwise `ORDER_ALREADY_PAID` or `ORDER_CANCELLED`.
    ///
    /// A REFUNDED order answers `ORDER_ALREADY_PAID` too: it was paid, once,
    /// and paying it again must not charge again. The contract keeps
    /// `ORDER_ALREADY_REFUNDED` for `refundOrder`, and a client retrying a
    /// payment branches on "already paid" whatever happened since.
    pub fn check_pending(&self) -> Result<(), Rejection> {
        let (code, message) = match self.status {
            OrderStatus::Pending => return Ok(()),
            OrderStatus::Paid => (ErrorCode::OrderAlreadyPaid, "the order is already paid"),
            OrderStatus::Refunded => (
                ErrorCode::OrderAlreadyPaid,
                "the order was paid, and has been refunded since",
            ),
            OrderStatus::Cancelled => (ErrorCode::OrderCancelled, "the order was cancelled"),
        };
        Err(Rejection::new(code, message).at(Field::Order))
    }

    /// The rule for refunding: only a PAID order may be; otherwise
    /// `ORDER_NOT_PAID` (PENDING or CANCELLED) or `ORDER_ALREADY_REFUNDED`.
    pub fn check_refundable(&self) -> Result<(), Rejection> {
        let (code, message) = match self.status {
            OrderStatus::Paid => return Ok(()),
            OrderStatus::Refunded => (
                ErrorCode::OrderAlreadyRefunded,
                "the order was refunded before",
            ),
            OrderStatus::Pending => (ErrorCode::OrderNotPaid, "the order is not paid"),
            OrderStatus::Cancelled => (
                ErrorCode::OrderNotPaid,
                "the order was cancelled, never paid",
            ),
        };
        Err(Rejection::new(code, message).at(Field::Order))
    }
}

/// The longest refund reason, in characters (the database holds it too).
pub const MAX_REASON_CHARS: usize = 500;

/// Checks a refund reason: at most [`MAX_REASON_CHARS`] characters and no
/// control character but line breaks (the database checks both too);
/// otherwise `INVALID_INPUT` at the reason.
pub fn validate_reason(reason: &str) -> Result<(), Rejection> {
    // A note may break lines; any other control character (an escape
    // sequence that repaints a terminal, NUL) has no place in it.
    if reason
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        return Err(Rejection::invalid(
            Field::Reason,
            "the reason may not contain control characters other than line breaks",
        ));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(Rejection::invalid(
            Field::Reason,
            format!("the reason is at most {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(())
}

/// The rejection of an order id that names no order of the caller's
/// (another user's order reads the same as a missing one).
pub fn not_found() -> Rejection {
    Rejection::new(ErrorCode::OrderNotFound, "no such order").at(Field::Order)
}

/// A row of `order_items`.
#[derive(Debug, Clone)]
pub struct OrderItemRecord {
    /// The order.
    pub order_id: i64,
    /// The product.
    pub product_id: i64,
    /// Units ordered.
    pub quantity: i32,
    /// The unit price when the order was created.
    pub unit_price: i64,
}

impl OrderItemRecord {
    /// quantity × unit price. Cannot overflow: a quantity is at most
    /// [`MAX_QUANTITY`] and a price at most [`product::MAX_PRICE`].
    pub fn line_total(&self) -> i64 {
        i64::from(self.quantity).saturating_mul(self.unit_price)
    }
}

/// Inserts a PENDING order with its priced lines.
pub async fn insert(
    conn: &mut PgConnection,
    user_id: i64,
    lines: &[PricedLine],
) -> AppResult<OrderRecord> {
    // Bounded lines, quantities and prices keep this far below i64::MAX;
    // checked all the same, so that a change of limits cannot wrap it.
    let total = lines
        .iter()
        .try_fold(0i64, |sum, l| {
            sum.checked_add(i64::from(l.quantity).checked_mul(l.unit_price)?)
        })
        .ok_or_else(|| Rejection::invalid(Field::Lines, "the order total is too large"))?;
    let products: Vec<i64> = lines.iter().map(|l| l.product_id).collect();
    let quantities: Vec<i32> = lines.iter().map(|l| l.quantity).collect();
    let prices: Vec<i64> = lines.iter().map(|l| l.unit_price).collect();
    // One round trip for the order and all its lines.
    Ok(sqlx::query_as!(
        OrderRecord,
        r#"WITH o AS (
            INSERT INTO orders (user_id, total_amount) VALUES ($1, $2)
            RETURNING id, user_id, status, total_amount, discount_amount, created_at, paid_at,
                      cancelled_at, refunded_at
         ), lines AS (
            INSERT INTO order_items (order_id, product_id, quantity, unit_price)
            SELECT o.id, l.product_id, l.quantity, l.unit_price
            FROM o, unnest($3::BIGINT[], $4::INT[], $5::BIGINT[])
                 AS l(product_id, quantity, unit_price)
         )
         SELECT id, user_id, status AS "status: OrderStatus", total_amount, discount_amount,
                created_at, paid_at, cancelled_at, refunded_at
         FROM o"#,
        user_id,
        total,
        &products,
        &quantities,
        &prices,
    )
    .fetch_one(conn)
    .await?)
}

/// The order `id` if it is `user_id`'s, or `ORDER_NOT_FOUND`.
pub async fn owned<'c>(db: impl PgExecutor<'c>, id: i64, user_id: i64) -> AppResult<OrderRecord> {
    let found = sqlx::query_as!(
        OrderRecord,
        r#"SELECT id, user_id, status AS "status: OrderStatus", total_amount, discount_amount,
                  created_at, paid_at, cancelled_at, refunded_at
           FROM orders WHERE id = $1 AND user_id = $2"#,
        id,
        user_id,
    )
    .fetch_optional(db)
    .await?;
    found.ok_or_else(|| not_found().into())
}

/// Cancels a PENDING order (checked by the caller in this transaction).
pub async fn mark_cancelled(conn: &mut PgConnection, id: i64) -> AppResult<OrderRecord> {
    let updated = sqlx::query_as!(
        OrderRecord,
        r#"UPDATE orders SET status = 'CANCELLED', cancelled_at = now()
           WHERE id = $1 AND status = 'PENDING'
           RETURNING id, user_id, status AS "status: OrderStatus", total_amount, discount_amount,
                     created_at, paid_at, cancelled_at, refunded_at"#,
        id,
    )
    .fetch_optional(conn)
    .await?;
    updated.ok_or_else(|| AppError::Internal(format!("order {id} was not PENDING to cancel")))
}

/// Marks PAID orders REFUNDED now: `refunded` holds (order, reason) pairs
/// checked by the caller in this transaction. Returns the updated orders.
pub async fn mark_refunded(
    conn: &mut PgConnection,
    refunded: &[(i64, Option<String>)],
) -> AppResult<Vec<OrderRecord>> {
    if refunded.is_empty() {
        return Ok(Vec::new());
    }
    let (ids, reasons): (Vec<i64>, Vec<Option<String>>) = refunded.iter().cloned().unzip();
    let updated = sqlx::query_as!(
        OrderRecord,
        r#"UPDATE orders o SET status = 'REFUNDED', refunded_at = now(), refund_reason = r.reason
           FROM unnest($1::BIGINT[], $2::TEXT[]) AS r(order_id, reason)
           WHERE o.id = r.order_id AND o.status = 'PAID'
           RETURNING o.id, o.user_id, o.status AS "status: OrderStatus", o.total_amount,
                     o.discount_amount, o.created_at, o.paid_at, o.cancelled_at, o.refunded_at"#,
        &ids,
        &reasons as &[Option<String>],
    )
    .fetch_all(conn)
    .await?;
    super::ensure_written("refunded orders", updated.len(), refunded.len())?;
    Ok(updated)
}

/// Marks PENDING orders PAID now: `paid` holds (order, discount) pairs
/// checked by the caller in this transaction. Returns the updated orders.
pub async fn mark_paid(
    conn: &mut PgConnection,
    paid: &[(i64, i64)],
) -> AppResult<Vec<OrderRecord>> {
    if paid.is_empty() {
        return Ok(Vec::new());
    }
    let (ids, discounts): (Vec<i64>, Vec<i64>) = paid.iter().copied().unzip();
    let updated = sqlx::query_as!(
        OrderRecord,
        r#"UPDATE orders o SET status = 'PAID', paid_at = now(), discount_amount = p.discount
           FROM unnest($1::BIGINT[], $2::BIGINT[]) AS p(order_id, discount)
           WHERE o.id = p.order_id AND o.status = 'PENDING'
           RETURNING o.id, o.user_id, o.status AS "status: OrderStatus", o.total_amount,
                     o.discount_amount, o.created_at, o.paid_at, o.cancelled_at, o.refunded_at"#,
        &ids,
        &discounts,
    )
    .fetch_all(conn)
    .await?;
    super::ensure_written("paid orders", updated.len(), paid.len())?;
    Ok(updated)
}

/// Orders by id, from the pool or inside a transaction.
pub async fn by_ids<'c>(db: impl PgExecutor<'c>, ids: &[i64]) -> AppResult<Vec<OrderRecord>> {
    Ok(sqlx::query_as!(
        OrderRecord,
        r#"SELECT id, user_id, status AS "status: OrderStatus", total_amount, discount_amount,
                  created_at, paid_at, cancelled_at, refunded_at
           FROM orders WHERE id = ANY($1)"#,
        ids,
    )
    .fetch_all(db)
    .await?)
}

/// The lines of several orders, by order then product.
pub async fn items_of<'c>(
    db: impl PgExecutor<'c>,
    order_ids: &[i64],
) -> AppResult<Vec<OrderItemRecord>> {
    // A columnar read (see `db::columns`): it comes unordered, so sorted here.
    let columns = sqlx::query!(
        r#"SELECT array_agg(order_id) AS "order_id?", array_agg(product_id) AS "product_id?",
                  array_agg(quantity) AS "quantity?", array_agg(unit_price) AS "unit_price?"
           FROM order_items WHERE order_id = ANY($1)"#,
        order_ids,
    )
    .fetch_one(db)
    .await?;
    let (order_id, product_id, quantity, unit_price) = (
        columns.order_id,
        columns.product_id,
        columns.quantity,
        columns.unit_price,
    );
    let mut lines = zip_columns!(OrderItemRecord {
        order_id,
        product_id,
        quantity,
        unit_price
    })?;
    lines.sort_unstable_by_key(|l| (l.order_id, l.product_id));
    Ok(lines)
}
