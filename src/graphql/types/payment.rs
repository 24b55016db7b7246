//! `Payment`: the record of an order's payment.

use async_graphql::{Context, ID, Object};

use super::load_required;
use super::order::Order;
use crate::domain::payment::PaymentRecord;
use crate::global_id::types;
use crate::graphql::ids;
use crate::graphql::scalars::{DateTime, Money};

/// The payment of an order from the payer's balance.
#[derive(Debug, Clone)]
pub struct Payment(pub PaymentRecord);

/// The payment of an order, taken from its owner's balance.
#[Object]
impl Payment {
    /// The payment's global id.
    pub async fn id(&self) -> ID {
        ids::encode(types::PAYMENT, self.0.id)
    }

    /// The paid order.
    async fn order(&self, ctx: &Context<'_>) -> async_graphql::Result<Order> {
        load_required(ctx, |l| &l.orders, "order", self.0.order_id)
            .await
            .map(Order)
    }

    /// What was taken from the balance (the order's payable amount).
    async fn amount(&self) -> Money {
        Money(self.0.amount)
    }

    /// When it was paid.
    async fn paid_at(&self) -> DateTime {
        self.0.paid_at.into()
    }
}
