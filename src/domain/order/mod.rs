//! Orders and their lines: creation rules, status changes, and reads.
//!
//! An order is created PENDING with the prices of that moment copied into
//! its lines, open for payment until `expires_at` (when the server sets a
//! payment window); it becomes PAID (see [`super::settlement`]), CANCELLED
//! or EXPIRED, only one of them; a PAID order may then be REFUNDED (see
//! `facades::refund`), for good. A PENDING order past its window reads
//! EXPIRED at once: every statement reads the status through the
//! database's `order_status()` (migration 0008), on the database's clock,
//! and the sweep ([`expiry`]) stores it. The `WHERE status = ...` guards
//! on every transition, the CHECKs tying `status` to its timestamps and
//! the triggers of migrations 0005 and 0008 make that hold in the database
//! too.
//!
//! An order that holds stock (`holds_stock`) took its units out of free
//! stock into `products.held_stock` when it was created; paying turns the
//! hold into the sale, cancelling or expiring gives the units back.
//!
//! [`lines`] holds the rules of an order's lines, [`listing`] its pages,
//! [`expiry`] the end of the payment window.

pub mod expiry;
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
    /// Created, inside its payment window; nothing charged (units held
    /// only when it holds stock).
    Pending,
    /// Paid in full.
    Paid,
    /// Cancelled before payment.
    Cancelled,
    /// Refunded after payment.
    Refunded,
    /// Not paid before its window closed; whatever it held went back.
    Expired,
}

impl OrderStatus {
    /// The value stored in `orders.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Paid => "PAID",
            Self::Cancelled => "CANCELLED",
            Self::Refunded => "REFUNDED",
            Self::Expired => "EXPIRED",
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
            "EXPIRED" => Ok(Self::Expired),
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
    /// The end of its payment window; `None` without one.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether it took its units out of free stock when it was created.
    pub holds_stock: bool,
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
            OrderStatus::Expired => (
                ErrorCode::OrderExpired,
                "the order's payment window has closed",
            ),
        };
        Err(Rejection::new(code, message).at(Field::Order))
    }

    /// Whether nothing can happen to the order any more: CANCELLED,
    /// EXPIRED or REFUNDED (a PAID order may still be refunded).
    pub fn is_final(&self) -> bool {
        matches!(
            self.status,
            OrderStatus::Cancelled | OrderStatus::Expired | OrderStatus::Refunded
        )
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
            OrderStatus::Expired => (ErrorCode::OrderNotPaid, "the order expired, never paid"),
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

/// What an order is created with besides its lines: the server's payment
/// window and whether it holds stock (`ORDER_PAYMENT_WINDOW_SECS`,
/// `ORDER_HOLD_STOCK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Terms {
    /// How long a new order stays open for payment; `None`: for ever.
    pub window: Option<std::time::Duration>,
    /// Whether a new order takes its units out of free stock.
    pub holds_stock: bool,
}

/// The total of priced lines, or `INVALID_INPUT` should it not fit.
fn total_of(lines: &[PricedLine]) -> Result<i64, Rejection> {
    // Bounded lines, quantities and prices keep this far below i64::MAX;
    // checked all the same, so that a change of limits cannot wrap it.
    lines
        .iter()
        .try_fold(0i64, |sum, l| {
            sum.checked_add(i64::from(l.quantity).checked_mul(l.unit_price)?)
        })
        .ok_or_else(|| Rejection::invalid(Field::Lines, "the order total is too large"))
}

/// Inserts a PENDING order with its priced lines (see [`insert_many`]).
pub async fn insert(
    conn: &mut PgConnection,
    user_id: i64,
    lines: &[PricedLine],
    terms: Terms,
) -> AppResult<OrderRecord> {
    insert_many(conn, &[(user_id, lines)], terms)
        .await?
        .pop()
        .ok_or_else(|| AppError::Internal("an inserted order went missing".into()))
}

/// Inserts PENDING orders, each `(owner, priced lines)`, with all their
/// lines in one statement; returns them in the same order. Each is open
/// until the window of `terms` ends on the database's clock. The caller
/// holds their stock, when `terms` say so, in the same transaction (see
/// `stock::hold`).
pub async fn insert_many(
    conn: &mut PgConnection,
    orders: &[(i64, &[PricedLine])],
    terms: Terms,
) -> AppResult<Vec<OrderRecord>> {
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    let mut users = Vec::with_capacity(orders.len());
    let mut totals = Vec::with_capacity(orders.len());
    let (mut of_order, mut products, mut quantities, mut prices) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (ordinal, (user_id, lines)) in (1i64..).zip(orders) {
        users.push(*user_id);
        totals.push(total_of(lines)?);
        for line in lines.iter() {
            of_order.push(ordinal);
            products.push(line.product_id);
            quantities.push(line.quantity);
            prices.push(line.unit_price);
        }
    }
    let window = terms.window.map(|w| w.as_secs_f64());
    // Each order's id is drawn first, beside its ordinal, so that its lines
    // (which name their order by ordinal) and the answer can be matched to
    // it: RETURNING promises no order of rows.
    let rows = sqlx::query!(
        r#"WITH ids AS MATERIALIZED (
               SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS id, ordinal
               FROM generate_series(1, cardinality($1::BIGINT[])) AS ordinal
           ), o AS (
               INSERT INTO orders (id, user_id, total_amount, expires_at, holds_stock)
               OVERRIDING SYSTEM VALUE
               SELECT ids.id, n.user_id, n.total, now() + make_interval(secs => $7), $8
               FROM unnest($1::BIGINT[], $2::BIGINT[]) WITH ORDINALITY AS n(user_id, total, ordinal)
               JOIN ids USING (ordinal)
               RETURNING id, user_id, status, total_amount, discount_amount, created_at, paid_at,
                         cancelled_at, refunded_at, expires_at, holds_stock
           ), lines AS (
               INSERT INTO order_items (order_id, product_id, quantity, unit_price)
               SELECT ids.id, l.product_id, l.quantity, l.unit_price
               FROM unnest($3::BIGINT[], $4::BIGINT[], $5::INT[], $6::BIGINT[])
                    AS l(ordinal, product_id, quantity, unit_price)
               JOIN ids USING (ordinal)
           )
           SELECT o.id, o.user_id, o.status AS "status: OrderStatus",
                  o.total_amount, o.discount_amount, o.created_at, o.paid_at, o.cancelled_at,
                  o.refunded_at, o.expires_at, o.holds_stock
           FROM o JOIN ids USING (id)
           ORDER BY ids.ordinal"#,
        &users,
        &totals,
        &of_order,
        &products,
        &quantities,
        &prices,
        window,
        terms.holds_stock,
    )
    .fetch_all(conn)
    .await?;
    super::ensure_written("orders", rows.len(), orders.len())?;
    Ok(rows
        .into_iter()
        .map(|r| OrderRecord {
            id: r.id,
            user_id: r.user_id,
            status: r.status,
            total_amount: r.total_amount,
            discount_amount: r.discount_amount,
            created_at: r.created_at,
            paid_at: r.paid_at,
            cancelled_at: r.cancelled_at,
            refunded_at: r.refunded_at,
            expires_at: r.expires_at,
            holds_stock: r.holds_stock,
        })
        .collect())
}

/// The order `id` if it is `user_id`'s, or `ORDER_NOT_FOUND`.
pub async fn owned<'c>(db: impl PgExecutor<'c>, id: i64, user_id: i64) -> AppResult<OrderRecord> {
    let found = sqlx::query_as!(
        OrderRecord,
        r#"SELECT id, user_id, order_status(status, expires_at) AS "status!: OrderStatus",
                  total_amount, discount_amount, created_at, paid_at, cancelled_at, refunded_at,
                  expires_at, holds_stock
           FROM orders WHERE id = $1 AND user_id = $2"#,
        id,
        user_id,
    )
    .fetch_optional(db)
    .await?;
    found.ok_or_else(|| not_found().into())
}

/// Cancels a PENDING order inside its window (checked by the caller in
/// this transaction).
pub async fn mark_cancelled(conn: &mut PgConnection, id: i64) -> AppResult<OrderRecord> {
    let updated = sqlx::query_as!(
        OrderRecord,
        r#"UPDATE orders SET status = 'CANCELLED', cancelled_at = now()
           WHERE id = $1 AND status = 'PENDING' AND (expires_at IS NULL OR expires_at > now())
           RETURNING id, user_id, status AS "status: OrderStatus", total_amount, discount_amount,
                     created_at, paid_at, cancelled_at, refunded_at, expires_at, holds_stock"#,
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
                     o.discount_amount, o.created_at, o.paid_at, o.cancelled_at, o.refunded_at,
                     o.expires_at, o.holds_stock"#,
        &ids,
        &reasons as &[Option<String>],
    )
    .fetch_all(conn)
    .await?;
    super::ensure_written("refunded orders", updated.len(), refunded.len())?;
    Ok(updated)
}

/// Marks PENDING orders PAID now: `paid` holds (order, discount) pairs
/// checked by the caller in this transaction (inside their windows: the
/// guard checks it again on the same clock). Returns the updated orders.
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
             AND (o.expires_at IS NULL OR o.expires_at > now())
           RETURNING o.id, o.user_id, o.status AS "status: OrderStatus", o.total_amount,
                     o.discount_amount, o.created_at, o.paid_at, o.cancelled_at, o.refunded_at,
                     o.expires_at, o.holds_stock"#,
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
        r#"SELECT id, user_id, order_status(status, expires_at) AS "status!: OrderStatus",
                  total_amount, discount_amount, created_at, paid_at, cancelled_at, refunded_at,
                  expires_at, holds_stock
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
