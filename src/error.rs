//! The one error type of the server, [`AppError`].
//!
//! Domain services and facades return specific errors; the GraphQL layer maps
//! them to responses in exactly one place (`graphql::errors`). Business
//! failures ([`AppError::Rejected`]) become `userErrors` with a stable
//! [`ErrorCode`]; everything else becomes a top-level error whose internal
//! details are logged once and never sent to the client.
//!
//! `AppError` deliberately does not implement `Display`: async-graphql turns
//! any `Display` error into a client-visible message through a blanket
//! `From`, and we want `?` on an `AppError` in a resolver to go through our
//! mapping instead, so that no SQL or internal text can leak by accident.

/// The contract's business error codes (`ErrorCode` in the schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The input breaks a documented rule.
    InvalidInput,
    ProductNotFound,
    ProductOutOfStock,
    InsufficientBalance,
    OrderNotFound,
    OrderAlreadyPaid,
    OrderCancelled,
    CouponNotFound,
    CouponAlreadyIssued,
    CouponOutOfStock,
    CouponNotUsable,
    IdempotencyKeyReused,
    CartEmpty,
    /// A refund of an order that is not PAID (PENDING or CANCELLED).
    OrderNotPaid,
    /// A refund of an order refunded before.
    OrderAlreadyRefunded,
    /// A payment (or cancel) of an order whose payment window has closed.
    OrderExpired,
}

/// The input a business failure is about, in the domain's words. The
/// GraphQL layer writes it as the path of the input field at fault
/// (`graphql::errors`), so the domain knows nothing of the API's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// An amount of money to charge.
    Amount,
    /// A client's idempotency key.
    IdempotencyKey,
    /// A product's or a campaign's name.
    Name,
    /// A product's description.
    Description,
    /// A product's price.
    Price,
    /// A product's stock.
    Stock,
    /// A change of a product's stock.
    StockDelta,
    /// The product a request is about.
    Product,
    /// A quantity of units.
    Quantity,
    /// The order a request is about.
    Order,
    /// The lines of an order.
    Lines,
    /// The product of line `n` of an order.
    LineProduct(usize),
    /// The quantity of line `n` of an order.
    LineQuantity(usize),
    /// The coupon campaign a request is about.
    Coupon,
    /// An issued coupon to pay with.
    UserCoupon,
    /// A campaign's discount.
    DiscountValue,
    /// How many coupons a campaign issues.
    TotalQuantity,
    /// The end of a campaign's window.
    ValidUntil,
    /// Why an order is refunded.
    Reason,
}

/// One business failure: what went wrong and which input field caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The stable code clients branch on.
    pub code: ErrorCode,
    /// A human-readable explanation.
    pub message: String,
    /// The input at fault.
    pub field: Option<Field>,
}

impl Rejection {
    /// A failure not tied to one input field.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }

    /// The same failure, pinned to an input field.
    pub fn at(mut self, field: Field) -> Self {
        self.field = Some(field);
        self
    }

    /// Shorthand for an `INVALID_INPUT` failure of `field`.
    pub fn invalid(field: Field, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message).at(field)
    }
}

/// Everything that can go wrong while serving a request.
#[derive(Debug)]
pub enum AppError {
    /// Business failures: reported to the client as `userErrors`, one per failing input.
    Rejected(Vec<Rejection>),
    /// No valid bearer token where one is needed.
    Unauthenticated,
    /// The caller is known but may not do this.
    Forbidden,
    /// The request itself is malformed in a way GraphQL validation cannot see
    /// (a page size out of range, a bad cursor).
    BadRequest(String),
    /// The database is unreachable, the pool is exhausted, a timeout fired, or
    /// transaction retries ran out. Safe for the client to retry.
    Unavailable(String),
    /// A database error not covered above.
    Database(sqlx::Error),
    /// A bug or an impossible state.
    Internal(String),
}

/// Results of the domain and facade layers.
pub type AppResult<T> = Result<T, AppError>;

/// SQLSTATE codes the retry helper retries.
const SERIALIZATION_FAILURE: &str = "40001";
const DEADLOCK_DETECTED: &str = "40P01";

impl AppError {
    /// A single business failure.
    pub fn reject(rejection: Rejection) -> Self {
        Self::Rejected(vec![rejection])
    }

    /// Whether the transaction that produced this error should be retried:
    /// a serialization failure or a deadlock, never a business error.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::Database(db)) => {
                matches!(
                    db.code().as_deref(),
                    Some(SERIALIZATION_FAILURE | DEADLOCK_DETECTED)
                )
            }
            _ => false,
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            // The database is away or overloaded: the client may retry later.
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Protocol(_) => Self::Unavailable(format!("database: {err}")),
            sqlx::Error::Database(db) => match db.code().as_deref() {
                // query_canceled (statement_timeout), admin_shutdown,
                // crash_shutdown, cannot_connect_now, too_many_connections.
                Some("57014" | "57P01" | "57P02" | "57P03" | "53300")
                // read_only_sql_transaction: a write reached a server that
                // is (still, or again) a standby, which happens for a
                // moment around a failover; nothing was written.
                | Some("25006") => Self::Unavailable(format!("database: {err}")),
                // Connection exceptions (class 08): the server went away.
                Some(code) if code.starts_with("08") => {
                    Self::Unavailable(format!("database: {err}"))
                }
                _ => Self::Database(err),
            },
            _ => Self::Database(err),
        }
    }
}

impl From<Rejection> for AppError {
    fn from(rejection: Rejection) -> Self {
        Self::reject(rejection)
    }
}

impl From<Vec<Rejection>> for AppError {
    fn from(rejections: Vec<Rejection>) -> Self {
        Self::Rejected(rejections)
    }
}

/// Collects every failing input before giving up, so a client sees all of
/// its mistakes at once (as the design brief asks: validation reports every
/// failing input, not only the first).
#[derive(Debug, Default, Clone)]
pub struct Rejections(Vec<Rejection>);

impl Rejections {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one failure.
    pub fn push(&mut self, rejection: Rejection) {
        self.0.push(rejection);
    }

    /// Records the failure of `check`, if any.
    pub fn check(&mut self, check: Result<(), Rejection>) {
        if let Err(r) = check {
            self.0.push(r);
        }
    }

    /// Whether nothing has failed so far.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing failed, else every failure at once.
    pub fn finish(self) -> AppResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Rejected(self.0))
        }
    }
}
