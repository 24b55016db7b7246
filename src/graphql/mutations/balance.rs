//! `chargeBalance`: adds money to the caller's balance.

use async_graphql::{Context, InputObject, Object, SimpleObject};

use crate::domain::user;
use crate::error::AppError;
use crate::facades::balance;
use crate::graphql::context::{caller, services};
use crate::graphql::errors::{IntoGraphQL, Payload, UserError, respond};
use crate::graphql::scalars::Money;
use crate::graphql::types::user::User;

/// A charge to the caller's balance.
#[derive(InputObject)]
pub struct ChargeBalanceInput {
    /// How much to add: 1 to 100000000000.
    pub amount: Money,
    /// Optional. A retry with the same key charges once and returns the same result.
    pub idempotency_key: Option<String>,
}

/// The caller after a charge.
#[derive(SimpleObject, Default)]
pub struct ChargeBalancePayload {
    /// The caller with the new balance, unless the charge failed.
    pub user: Option<User>,
    /// Why the charge failed.
    pub user_errors: Vec<UserError>,
}

impl Payload for ChargeBalancePayload {
    fn from_user_errors(user_errors: Vec<UserError>) -> Self {
        Self {
            user: None,
            user_errors,
        }
    }
}

/// Balance mutations.
#[derive(Default)]
pub struct BalanceMutation;

#[Object]
impl BalanceMutation {
    /// Adds money to the caller's balance.
    async fn charge_balance(
        &self,
        ctx: &Context<'_>,
        input: ChargeBalanceInput,
    ) -> async_graphql::Result<ChargeBalancePayload> {
        let services = services(ctx).gql()?;
        let caller = caller(ctx).gql()?;
        let result = async {
            let id =
                balance::charge(services, caller, input.amount.0, input.idempotency_key).await?;
            user::by_id(&services.db.pool, id)
                .await?
                .ok_or_else(|| AppError::Internal(format!("user {id} vanished")))
        }
        .await;
        respond(result, |u| ChargeBalancePayload {
            user: Some(User(u)),
            user_errors: vec![],
        })
    }
}
