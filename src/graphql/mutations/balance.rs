//! `chargeBalance`: adds money to the caller's balance.

use async_graphql::{Context, InputObject, Object};

use crate::facades::balance;
use crate::graphql::context::{caller, services};
use crate::graphql::errors::respond;
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

payload!(
    /// The caller after a charge.
    ChargeBalancePayload {
        /// The caller with the new balance.
        user: User,
    }
);

/// Balance mutations.
#[derive(Default)]
pub struct BalanceMutation;

#[Object]
impl BalanceMutation {
    /// Adds money to the caller's balance.
    async fn charge_balance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How much to add, and an optional idempotency key.")]
        input: ChargeBalanceInput,
    ) -> async_graphql::Result<ChargeBalancePayload> {
        let services = services(ctx)?;
        let caller = caller(ctx)?;
        let result = balance::charge(services, caller, input.amount.0, input.idempotency_key).await;
        respond(result, |id| ChargeBalancePayload {
            user: Some(User { id }),
            ..Default::default()
        })
    }
}
