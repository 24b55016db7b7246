//! `User`: the caller, with their balance (and, as features land, their
//! cart, orders and coupons).

use async_graphql::{ID, Object};

use crate::domain::user::UserRecord;
use crate::graphql::ids;
use crate::graphql::scalars::Money;

/// The type name in global ids.
pub const TYPE_NAME: &str = "User";

/// A user of the shop, named by the `sub` of their tokens.
#[derive(Debug, Clone)]
pub struct User(pub UserRecord);

#[Object]
impl User {
    /// The user's global id.
    pub async fn id(&self) -> ID {
        ids::encode(TYPE_NAME, self.0.id)
    }

    /// The `sub` claim of the caller's token.
    async fn subject(&self) -> &str {
        &self.0.subject
    }

    /// Money available to pay for orders.
    async fn balance(&self) -> Money {
        Money(self.0.balance)
    }
}
