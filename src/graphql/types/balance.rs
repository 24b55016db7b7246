//! `BalanceEntry`: one row of a user's balance ledger, for
//! `User.balanceHistory` and `node`.

use async_graphql::{Context, Enum, ID, Object};

use super::order::Order;
use crate::domain::balance::EntryRecord;
use crate::global_id::types;
use crate::graphql::connection::connection;
use crate::graphql::context::loaders;
use crate::graphql::ids;
use crate::graphql::scalars::{DateTime, Money};

/// What a balance entry records.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::balance::EntryKind")]
pub enum BalanceEntryKind {
    /// Money added with chargeBalance.
    Charge,
    /// Money taken by payOrder.
    Payment,
    /// Money returned by refundOrder.
    Refund,
}

/// One change to a user's balance.
#[derive(Debug, Clone)]
pub struct BalanceEntry(pub EntryRecord);

connection!(BalanceEntry, BalanceEntryConnection, BalanceEntryEdge);

/// One change to a user's balance: a charge, a payment or a refund. Visible
/// to the user and to admins.
#[Object]
impl BalanceEntry {
    /// The entry's global id.
    pub async fn id(&self) -> ID {
        ids::encode(types::BALANCE_ENTRY, self.0.id)
    }

    /// What the entry records.
    async fn kind(&self) -> BalanceEntryKind {
        self.0.kind.into()
    }

    /// The size of the change (never negative; kind says its direction).
    async fn amount(&self) -> Money {
        // The ledger stores payments negative; the API gives sizes.
        Money(self.0.amount.saturating_abs())
    }

    /// The order paid or refunded, for PAYMENT and REFUND entries.
    async fn order(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Order>> {
        let Some(order_id) = self.0.order_id else {
            return Ok(None);
        };
        let found = loaders(ctx)?.orders.load_one(order_id).await?;
        Ok(found.map(Order))
    }

    /// When the entry was written.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}
