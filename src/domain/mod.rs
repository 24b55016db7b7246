//! Domain services and repositories, one module per domain.
//!
//! Functions here take a connection (inside a facade's transaction) or the
//! pool (for reads), hold the SQL and the business rules, and know nothing of
//! GraphQL. Each rule lives in exactly one of these modules.

pub mod audit;
pub mod balance;
pub mod cart;
pub mod coupon;
pub mod idempotency;
pub mod issuance;
pub mod listing;
pub mod order;
pub mod outbox;
pub mod page;
pub mod payment;
pub mod product;
pub mod settlement;
pub mod stock;
pub mod user;
pub mod user_coupon;

use crate::error::{AppError, AppResult, Field, Rejection, Rejections};

/// The guard of a set-based write: `done` rows were written where the
/// caller had checked, in the same transaction, that `checked` would be.
/// Fewer means the checks and the data disagree: a bug, which fails the
/// whole transaction rather than commit half of what was decided.
pub(crate) fn ensure_written(what: &str, done: usize, checked: usize) -> AppResult<()> {
    if done == checked {
        return Ok(());
    }
    Err(AppError::Internal(format!(
        "{what}: wrote {done} of {checked} checked rows"
    )))
}

/// The longest display name of a product or a campaign (the tables' CHECKs
/// hold the same bound).
pub const MAX_NAME_LEN: usize = 200;

/// The rule for a display name, at `input.name`: 1 to [`MAX_NAME_LEN`]
/// characters once trimmed, none of them a control character (a name is
/// shown, and PostgreSQL's text cannot hold NUL at all).
pub(crate) fn check_name(name: &str, errors: &mut Rejections) {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        errors.push(Rejection::invalid(
            Field::Name,
            format!("name must be 1 to {MAX_NAME_LEN} characters"),
        ));
    } else if name.chars().any(char::is_control) {
        errors.push(Rejection::invalid(
            Field::Name,
            "name must not hold control characters",
        ));
    }
}

/// Whether PostgreSQL can store `text`: its `text` type (and `jsonb`'s
/// strings) cannot hold a NUL character.
pub fn is_storable(text: &str) -> bool {
    !text.contains('\0')
}
