//! The edge where errors meet clients: the one mapping from [`AppError`] to
//! GraphQL, and the `extensions.code` of every top-level error.
//!
//! - Business failures become `userErrors` in the mutation's payload.
//! - Everything else is a top-level error with `extensions.code` from the
//!   contract. Internal details (SQL, driver messages) are logged here, once,
//!   and the client only sees a generic message.
//! - Errors raised by async-graphql itself (parse, validation, limits) get
//!   their code in [`assign_codes`], run on every response.

use async_graphql::{Enum, ErrorExtensions, Response, ServerError, SimpleObject, Value};

use super::loaders::LoadError;
use crate::error::{AppError, Field, Rejection};

/// The contract's top-level error codes (`extensions.code`).
pub mod codes {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
    /// Too many requests from one caller (HTTP 429 with `Retry-After`).
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    /// A subscription to an entity that does not exist or that the caller
    /// may not see.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// A persisted query's hash sent without its text, and not known to
    /// this instance (message `PersistedQueryNotFound`). Apollo clients then
    /// send the text with the hash, once; so it answers HTTP 200 whatever
    /// the media type (see `graphql::persisted`).
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
}

/// The stable code of a business failure.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::error::ErrorCode")]
pub enum ErrorCode {
    /// The input breaks a documented rule (a quantity below 1, an empty or oversized list, an id of the wrong type, an amount out of range).
    InvalidInput,
    /// A product id names no product.
    ProductNotFound,
    /// Not enough units in stock.
    ProductOutOfStock,
    /// The balance does not cover the payable amount.
    InsufficientBalance,
    /// No such order for this caller (another user's order reads the same).
    OrderNotFound,
    /// The order is already paid; nothing was charged again.
    OrderAlreadyPaid,
    /// The order was cancelled.
    OrderCancelled,
    /// A coupon id names no coupon (or no coupon of the caller's).
    CouponNotFound,
    /// The caller already holds this coupon.
    CouponAlreadyIssued,
    /// Every coupon of the campaign has been issued.
    CouponOutOfStock,
    /// The issued coupon is used, expired or not yet valid.
    CouponNotUsable,
    /// The idempotency key was already used by this caller with a different input.
    IdempotencyKeyReused,
    /// createOrderFromCart with nothing in the cart.
    CartEmpty,
    /// refundOrder on an order that is not PAID.
    OrderNotPaid,
    /// refundOrder on an order refunded before.
    OrderAlreadyRefunded,
    /// payOrder on an order whose payment window has closed.
    OrderExpired,
}

/// A business failure reported in a mutation's payload.
#[derive(SimpleObject, Debug, Clone)]
pub struct UserError {
    /// The stable code to branch on.
    pub code: ErrorCode,
    /// A human-readable explanation.
    pub message: String,
    /// Path to the input field at fault, e.g. ["input", "items", "2", "productId"].
    pub field: Option<Vec<String>>,
}

impl From<Rejection> for UserError {
    fn from(r: Rejection) -> Self {
        Self {
            code: r.code.into(),
            message: r.message,
            field: r.field.map(input_path),
        }
    }
}

/// The path of the mutation input that holds `field`, e.g.
/// `["input", "items", "2", "quantity"]` for the quantity of line 2.
fn input_path(field: Field) -> Vec<String> {
    let name = match field {
        Field::Amount => "amount",
        Field::IdempotencyKey => "idempotencyKey",
        Field::Name => "name",
        Field::Description => "description",
        Field::Price => "price",
        Field::Stock => "stock",
        Field::StockDelta => "delta",
        Field::Product => "productId",
        Field::Quantity => "quantity",
        Field::Order => "orderId",
        Field::Lines => "items",
        Field::Coupon => "couponId",
        Field::UserCoupon => "userCouponId",
        Field::DiscountValue => "discountValue",
        Field::TotalQuantity => "totalQuantity",
        Field::ValidUntil => "validUntil",
        Field::Reason => "reason",
        Field::LineProduct(line) => return line_path(line, "productId"),
        Field::LineQuantity(line) => return line_path(line, "quantity"),
    };
    vec!["input".to_owned(), name.to_owned()]
}

fn line_path(line: usize, name: &str) -> Vec<String> {
    vec![
        "input".to_owned(),
        "items".to_owned(),
        line.to_string(),
        name.to_owned(),
    ]
}

/// A mutation payload: the result on success, or `userErrors`.
pub trait Payload: Sized {
    /// The payload carrying these errors and no result.
    fn from_user_errors(errors: Vec<UserError>) -> Self;
}

/// Turns a facade's result into a mutation's payload: business failures
/// become `userErrors`, anything else a top-level error.
pub fn respond<T, P: Payload>(
    result: Result<T, AppError>,
    ok: impl FnOnce(T) -> P,
) -> async_graphql::Result<P> {
    match result {
        Ok(value) => Ok(ok(value)),
        Err(AppError::Rejected(rejections)) => Ok(P::from_user_errors(
            rejections.into_iter().map(UserError::from).collect(),
        )),
        Err(other) => Err(to_graphql(&other)),
    }
}

/// The top-level GraphQL error for an [`AppError`]; logs internal details.
pub fn to_graphql(err: &AppError) -> async_graphql::Error {
    let (code, message) = match err {
        AppError::Unauthenticated => (
            codes::UNAUTHENTICATED,
            "a valid bearer token is required".to_owned(),
        ),
        AppError::Forbidden => (
            codes::FORBIDDEN,
            "this operation needs the admin role".to_owned(),
        ),
        AppError::BadRequest(message) => (codes::BAD_REQUEST, message.clone()),
        AppError::Unavailable(detail) => {
            tracing::warn!(detail = %detail, "service unavailable");
            (
                codes::SERVICE_UNAVAILABLE,
                "the service is temporarily unavailable; please retry".to_owned(),
            )
        }
        AppError::Rejected(rejections) => {
            // Only reachable from queries, which have no userErrors: report
            // the first failure as a bad request.
            let message = rejections
                .first()
                .map(|r| r.message.clone())
                .unwrap_or_default();
            (codes::BAD_REQUEST, message)
        }
        AppError::Database(e) => {
            tracing::error!(error = %e, "database error");
            (
                codes::INTERNAL_SERVER_ERROR,
                "internal server error".to_owned(),
            )
        }
        AppError::Internal(detail) => {
            tracing::error!(detail = %detail, "internal error");
            (
                codes::INTERNAL_SERVER_ERROR,
                "internal server error".to_owned(),
            )
        }
    };
    async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", code))
}

/// Gives every error in a response an `extensions.code`, and a message of
/// at most [`MAX_MESSAGE_CHARS`].
///
/// Errors from our resolvers and guards already carry a code. The rest come
/// from async-graphql's validation and variable coercion: `BAD_REQUEST`.
/// Those messages may quote the input they refuse ("Expected input type
/// Int, found ..."), and a client may send 60 KB of it: the edge cuts them.
pub fn assign_codes(response: &mut Response) {
    for error in &mut response.errors {
        assign_code(error);
        bound_message(&mut error.message);
    }
}

/// The longest error message sent, in characters.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// Cuts `message` to [`MAX_MESSAGE_CHARS`], marking the cut with `…`.
fn bound_message(message: &mut String) {
    if let Some((at, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
        message.truncate(at);
        message.push('…');
    }
}

fn assign_code(error: &mut ServerError) {
    if error
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some())
    {
        return;
    }
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", codes::BAD_REQUEST);
}

/// Refused before execution: no data, and no error of a field (an error of
/// execution carries its field's `path`, even when it nulls all of `data`).
/// [`is_request_error`] narrows it by error code.
pub fn refused_before_execution(response: &Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// Whether `response` reports a request error, one raised before execution
/// began. async-graphql marks none, so it is read from the response: no data
/// at all, and only errors that point at no field and whose codes (given by
/// [`assign_codes`]) are `BAD_REQUEST` or `QUERY_TOO_COMPLEX` — parse,
/// validation, variable and limit errors, and a refused batch — or those of
/// a document named by a hash we do not know (`PERSISTED_QUERY_NOT_FOUND`)
/// or refused as untrusted (`FORBIDDEN`, `graphql::persisted`). An error of
/// execution always carries the `path` of its field, even when it nulls the
/// whole `data` (a `FORBIDDEN` admin field does); a timeout is
/// `SERVICE_UNAVAILABLE`: both answer 200 with `data: null`, since
/// execution did begin.
pub fn is_request_error(response: &Response) -> bool {
    refused_before_execution(response)
        && response.errors.iter().all(|error| {
            matches!(
                code_of(error),
                Some(
                    codes::BAD_REQUEST
                        | codes::QUERY_TOO_COMPLEX
                        | codes::FORBIDDEN
                        | codes::PERSISTED_QUERY_NOT_FOUND
                )
            )
        })
}

/// The `extensions.code` of `error`.
pub fn code_of(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        Value::String(code) => Some(code),
        _ => None,
    }
}

/// A top-level error with `code`, raised before execution (so with no
/// position or path).
pub fn coded_error(code: &str, message: impl Into<String>) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    error
}

/// A response holding one top-level error with `code`.
pub fn error_response(code: &str, message: impl Into<String>) -> Response {
    Response::from_errors(vec![coded_error(code, message)])
}

/// `?` on a domain result in a resolver goes through [`to_graphql`], so
/// resolvers never format errors themselves. (`AppError` has no `Display`,
/// so async-graphql's blanket conversion of displayable errors, which would
/// send their text to the client, cannot apply to it.)
impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        to_graphql(&err)
    }
}

/// The same for the error a DataLoader shares among the fields it served.
impl From<LoadError> for async_graphql::Error {
    fn from(err: LoadError) -> Self {
        to_graphql(&err.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use async_graphql::Value;

    /// The code and message a client sees for `err`.
    fn seen(err: AppError) -> (String, String) {
        let error = async_graphql::Error::from(err);
        let code = match error.extensions.as_ref().and_then(|e| e.get("code")) {
            Some(Value::String(code)) => code.clone(),
            other => panic!("no code: {other:?}"),
        };
        (code, error.message)
    }

    #[test]
    fn each_error_maps_to_its_code_and_says_nothing_internal() {
        assert_eq!(seen(AppError::Unauthenticated).0, codes::UNAUTHENTICATED);
        assert_eq!(seen(AppError::Forbidden).0, codes::FORBIDDEN);
        assert_eq!(
            seen(AppError::BadRequest("first must be 0 to 100".into())),
            (codes::BAD_REQUEST.into(), "first must be 0 to 100".into())
        );
        let (code, message) = seen(AppError::Unavailable("pool timed out on db-3".into()));
        assert_eq!(code, codes::SERVICE_UNAVAILABLE);
        assert!(!message.contains("db-3"), "{message}");
        let rejected = Rejection::new(ErrorCode::OrderNotFound, "no such order");
        assert_eq!(
            seen(AppError::reject(rejected)),
            (codes::BAD_REQUEST.into(), "no such order".into())
        );
        let sql = sqlx::Error::Protocol("SELECT secret FROM users".into());
        for err in [
            AppError::Database(sql),
            AppError::Internal("invariant broken: order 7".into()),
        ] {
            let (code, message) = seen(err);
            assert_eq!(code, codes::INTERNAL_SERVER_ERROR);
            assert_eq!(message, "internal server error");
        }
    }

    #[test]
    fn business_failures_become_user_errors_and_the_rest_top_level_errors() {
        struct Payload(Vec<UserError>);
        impl super::Payload for Payload {
            fn from_user_errors(errors: Vec<UserError>) -> Self {
                Self(errors)
            }
        }
        let rejections = vec![
            Rejection::invalid(Field::Amount, "amount must be positive"),
            Rejection::new(ErrorCode::InsufficientBalance, "too little"),
        ];
        let payload =
            respond::<(), Payload>(
                Err(AppError::Rejected(rejections)),
                |()| Payload(Vec::new()),
            )
            .unwrap_or_else(|_| panic!("a payload"));
        let codes: Vec<_> = payload.0.iter().map(|e| e.code).collect();
        assert_eq!(
            codes,
            [
                ErrorCode::InvalidInput.into(),
                ErrorCode::InsufficientBalance.into()
            ]
        );
        assert_eq!(
            payload.0[0].field.as_deref(),
            Some(&["input".to_owned(), "amount".to_owned()][..])
        );
        assert!(
            respond::<(), Payload>(Err(AppError::Forbidden), |()| Payload(Vec::new())).is_err()
        );
    }

    #[test]
    fn errors_of_async_graphql_get_bad_request_and_ours_keep_theirs() {
        let mut response = Response::from_errors(vec![
            ServerError::new("Unknown field \"nope\"", None),
            coded_error(codes::QUERY_TOO_COMPLEX, "too deep"),
        ]);
        assign_codes(&mut response);
        let codes: Vec<_> = response
            .errors
            .iter()
            .map(|e| e.extensions.as_ref().and_then(|x| x.get("code")).cloned())
            .collect();
        assert_eq!(
            codes,
            [
                Some(Value::String(codes::BAD_REQUEST.into())),
                Some(Value::String(codes::QUERY_TOO_COMPLEX.into()))
            ]
        );
    }

    #[test]
    fn a_message_quoting_a_huge_input_is_cut() {
        let huge = format!(
            "Expected input type \"Int\", found \"{}\".",
            "é".repeat(60_000)
        );
        let mut response = Response::from_errors(vec![
            ServerError::new(huge, None),
            ServerError::new("short", None),
        ]);
        assign_codes(&mut response);
        let cut = &response.errors[0].message;
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(cut.starts_with("Expected input type") && cut.ends_with('…'));
        assert_eq!(response.errors[1].message, "short");
    }
}
