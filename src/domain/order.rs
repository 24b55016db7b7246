//! Orders and their lines: creation rules, status changes, and reads.
//!
//! An order is created PENDING with the prices of that moment copied into
//! its lines; it becomes PAID (see [`super::settlement`]) or CANCELLED,
//! never both; a PAID order may then be REFUNDED (see
//! `facades::refund`), for good. The `WHERE status = ...` guards on every
//! transition, the CHECKs tying `status` to `paid_at`/`cancelled_at`/
//! `refunded_at` and the triggers of migration 0005 make that hold in the
//! database too.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::error::BoxDynError;
use sqlx::postgres::PgValueRef;
use sqlx::{PgConnection, PgExecutor, Postgres};

use super::page::{Page, PageRequest, fetch_page};
use super::product::{self, ProductRecord};
use super::stock;
use crate::db::columns::zip_columns;
use crate::error::{AppError, AppResult, ErrorCode, Field, Rejection, Rejections};

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

/// One requested line, as the client sent it.
#[derive(Debug, Clone)]
pub struct LineRequest {
    /// The product's database id; `None` when the client's id did not decode.
    pub product_id: Option<i64>,
    /// Units wanted.
    pub quantity: i32,
}

/// A well-formed line: duplicates of one product merged into the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The index of the (first) request line, for error paths.
    pub index: usize,
    /// The product.
    pub product_id: i64,
    /// Units wanted, summed over duplicates.
    pub quantity: i32,
}

/// Checks the shape of the requested lines: 1 to [`MAX_LINES`] of them
/// (else one rejection for the whole list), each with a Product id and 1 to
/// [`MAX_QUANTITY`] units. Duplicates of a product are merged into its first
/// line, and the merged quantity is bounded too.
///
/// Returns the well-formed lines together with a rejection for every
/// malformed one, so that the caller can check the rest against the catalog
/// and report every failing line at once.
pub fn validate_lines(requests: &[LineRequest]) -> Result<(Vec<Line>, Rejections), Rejection> {
    if requests.is_empty() || requests.len() > MAX_LINES {
        return Err(Rejection::invalid(
            Field::Lines,
            format!("an order has 1 to {MAX_LINES} lines"),
        ));
    }
    let mut errors = Rejections::new();
    let mut lines: Vec<Line> = Vec::with_capacity(requests.len());
    for (index, request) in requests.iter().enumerate() {
        let mut ok = true;
        if !(1..=MAX_QUANTITY).contains(&request.quantity) {
            errors.push(Rejection::invalid(
                Field::LineQuantity(index),
                format!("quantity must be 1 to {MAX_QUANTITY}"),
            ));
            ok = false;
        }
        let Some(product_id) = request.product_id else {
            errors.push(Rejection::invalid(
                Field::LineProduct(index),
                "not a valid Product id",
            ));
            continue;
        };
        if !ok {
            continue;
        }
        match lines.iter_mut().find(|l| l.product_id == product_id) {
            // Both are at most MAX_QUANTITY, so the sum cannot overflow.
            Some(line) => line.quantity += request.quantity,
            None => lines.push(Line {
                index,
                product_id,
                quantity: request.quantity,
            }),
        }
    }
    lines.retain(|line| {
        let fits = line.quantity <= MAX_QUANTITY;
        if !fits {
            errors.push(Rejection::invalid(
                Field::LineQuantity(line.index),
                format!("at most {MAX_QUANTITY} units of one product per order"),
            ));
        }
        fits
    });
    Ok((lines, errors))
}

/// A line priced from the catalog, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    /// The product.
    pub product_id: i64,
    /// Units ordered.
    pub quantity: i32,
    /// The product's price now, copied into the order.
    pub unit_price: i64,
}

/// Checks each line against the catalog (the product exists and is not
/// archived: `PRODUCT_NOT_FOUND`; its stock covers the line:
/// `PRODUCT_OUT_OF_STOCK`) and prices it. Every failing line is added to
/// `errors`. Every way of creating an order goes through here.
pub fn price_lines(
    lines: &[Line],
    products: &HashMap<i64, ProductRecord>,
    errors: &mut Rejections,
) -> Vec<PricedLine> {
    let mut priced = Vec::with_capacity(lines.len());
    for line in lines {
        let found = products.get(&line.product_id);
        let product = match product::orderable(found, Field::LineProduct(line.index)) {
            Ok(product) => product,
            Err(gone) => {
                errors.push(gone);
                continue;
            }
        };
        match stock::check(
            product.stock,
            line.quantity,
            Field::LineQuantity(line.index),
        ) {
            Ok(()) => priced.push(PricedLine {
                product_id: line.product_id,
                quantity: line.quantity,
                unit_price: product.price,
            }),
            Err(short) => errors.push(short),
        }
    }
    priced
}

/// A canonical text of an order's lines (by product), so that a retry with
/// the same idempotency key is recognised whatever the order of its lines.
pub fn fingerprint(lines: &[Line]) -> String {
    let mut pairs: Vec<(i64, i32)> = lines.iter().map(|l| (l.product_id, l.quantity)).collect();
    pairs.sort_unstable();
    pairs
        .iter()
        .map(|(p, q)| format!("{p}x{q}"))
        .collect::<Vec<_>>()
        .join(",")
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

/// One page of a user's orders, newest first, optionally of one status.
pub async fn page_for_user<'c>(
    db: impl PgExecutor<'c>,
    user_id: i64,
    status: Option<OrderStatus>,
    req: &PageRequest,
) -> AppResult<Page<OrderRecord>> {
    let rows = fetch_page!(
        db,
        req,
        OrderRecord,
        r#"SELECT id, user_id, status AS "status: OrderStatus", total_amount, discount_amount,
                  created_at, paid_at, cancelled_at, refunded_at
           FROM orders WHERE user_id = $1 AND ($2::TEXT IS NULL OR status = $2)
             AND ($3::BIGINT IS NULL OR id < $3) AND ($4::BIGINT IS NULL OR id > $4)
           ORDER BY id"#,
        "LIMIT $5",
        user_id,
        status.map(OrderStatus::as_str),
        req.after,
        req.before,
        req.fetch_limit(),
    )?;
    Ok(req.finish(rows))
}

/// How many orders a user has, optionally of one status.
pub async fn count_for_user<'c>(
    db: impl PgExecutor<'c>,
    user_id: i64,
    status: Option<OrderStatus>,
) -> AppResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM orders
           WHERE user_id = $1 AND ($2::TEXT IS NULL OR status = $2)"#,
        user_id,
        status.map(OrderStatus::as_str),
    )
    .fetch_one(db)
    .await?)
}

/// One page of every user's orders (an admin's view), newest first,
/// optionally of one status and one user.
pub async fn page_all<'c>(
    db: impl PgExecutor<'c>,
    status: Option<OrderStatus>,
    user_id: Option<i64>,
    req: &PageRequest,
) -> AppResult<Page<OrderRecord>> {
    let rows = fetch_page!(
        db,
        req,
        OrderRecord,
        r#"SELECT id, user_id, status AS "status: OrderStatus", total_amount, discount_amount,
                  created_at, paid_at, cancelled_at, refunded_at
           FROM orders WHERE ($1::BIGINT IS NULL OR user_id = $1) AND ($2::TEXT IS NULL OR status = $2)
             AND ($3::BIGINT IS NULL OR id < $3) AND ($4::BIGINT IS NULL OR id > $4)
           ORDER BY id"#,
        "LIMIT $5",
        user_id,
        status.map(OrderStatus::as_str),
        req.after,
        req.before,
        req.fetch_limit(),
    )?;
    Ok(req.finish(rows))
}

/// How many orders there are, optionally of one status and one user.
pub async fn count_all<'c>(
    db: impl PgExecutor<'c>,
    status: Option<OrderStatus>,
    user_id: Option<i64>,
) -> AppResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM orders
           WHERE ($1::BIGINT IS NULL OR user_id = $1) AND ($2::TEXT IS NULL OR status = $2)"#,
        user_id,
        status.map(OrderStatus::as_str),
    )
    .fetch_one(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(product_id: Option<i64>, quantity: i32) -> LineRequest {
        LineRequest {
            product_id,
            quantity,
        }
    }

    fn fields(errors: Rejections) -> Vec<Option<Field>> {
        let Err(AppError::Rejected(errors)) = errors.finish() else {
            panic!("no rejections")
        };
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn duplicates_merge_into_the_first_line() {
        let (lines, errors) =
            validate_lines(&[req(Some(1), 2), req(Some(2), 1), req(Some(1), 3)]).unwrap();
        assert!(errors.is_empty());
        assert_eq!(
            lines,
            vec![
                Line {
                    index: 0,
                    product_id: 1,
                    quantity: 5
                },
                Line {
                    index: 1,
                    product_id: 2,
                    quantity: 1
                }
            ]
        );
    }

    #[test]
    fn every_bad_line_is_reported_and_the_good_ones_kept() {
        let (lines, errors) = validate_lines(&[
            req(Some(1), 0),
            req(None, 1),
            req(Some(2), MAX_QUANTITY + 1),
            req(Some(3), 2),
        ])
        .unwrap();
        assert_eq!(
            fields(errors),
            [
                Some(Field::LineQuantity(0)),
                Some(Field::LineProduct(1)),
                Some(Field::LineQuantity(2))
            ]
        );
        assert_eq!(
            lines.len(),
            1,
            "line 3 is still checked against the catalog"
        );
        assert!(validate_lines(&[]).is_err());
        assert!(validate_lines(&vec![req(Some(1), 1); MAX_LINES + 1]).is_err());
        let (lines, errors) =
            validate_lines(&[req(Some(1), MAX_QUANTITY), req(Some(1), 1)]).unwrap();
        assert!(lines.is_empty());
        assert_eq!(
            fields(errors),
            [Some(Field::LineQuantity(0))],
            "the merged quantity is bounded too"
        );
    }

    #[test]
    fn lines_are_priced_from_the_catalog_or_rejected() {
        let product = |id, price, stock| {
            (
                id,
                ProductRecord {
                    id,
                    name: "p".into(),
                    description: String::new(),
                    price,
                    stock,
                    created_at: Utc::now(),
                    archived_at: (id == 3).then(Utc::now),
                },
            )
        };
        let products: HashMap<_, _> =
            [product(1, 500, 3), product(2, 700, 1), product(3, 100, 9)].into();
        let lines = [
            Line {
                index: 0,
                product_id: 1,
                quantity: 3,
            },
            Line {
                index: 1,
                product_id: 2,
                quantity: 2,
            },
            Line {
                index: 2,
                product_id: 9,
                quantity: 1,
            },
            Line {
                index: 3,
                product_id: 3,
                quantity: 1,
            },
        ];
        let mut errors = Rejections::new();
        let priced = price_lines(&lines, &products, &mut errors);
        assert_eq!(
            priced,
            [PricedLine {
                product_id: 1,
                quantity: 3,
                unit_price: 500
            }]
        );
        let Err(AppError::Rejected(errors)) = errors.finish() else {
            panic!()
        };
        let codes: Vec<_> = errors.iter().map(|e| e.code).collect();
        assert_eq!(
            codes,
            [
                ErrorCode::ProductOutOfStock,
                ErrorCode::ProductNotFound,
                ErrorCode::ProductNotFound
            ],
            "product 9 does not exist, product 3 is archived"
        );
    }

    #[test]
    fn fingerprints_ignore_line_order() {
        let a = Line {
            index: 0,
            product_id: 1,
            quantity: 2,
        };
        let b = Line {
            index: 1,
            product_id: 5,
            quantity: 1,
        };
        assert_eq!(
            fingerprint(&[a.clone(), b.clone()]),
            fingerprint(&[b.clone(), a.clone()])
        );
        assert_ne!(
            fingerprint(std::slice::from_ref(&a)),
            fingerprint(&[Line { quantity: 3, ..a }])
        );
    }
}
