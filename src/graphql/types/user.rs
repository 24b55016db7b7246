//! `User`: the caller, with their balance, cart and orders.
//!
//! A `User` holds only its id: a query that asks for `viewer { orders }`
//! never reads the user row, and one that asks for the balance reads it
//! through the users DataLoader. Only the user themselves (as `viewer`)
//! and admins (through `node`) ever get hold of one.

use async_graphql::{Context, ID, Object};

use super::balance::{BalanceEntry, BalanceEntryConnection};
use super::cart::Cart;
use super::coupon::{UserCoupon, UserCouponConnection, UserCouponStatus};
use super::load_required;
use super::order::{Order, OrderConnection, OrderStatus};
use crate::domain::user::UserRecord;
use crate::domain::{balance, cart, order, user_coupon};
use crate::global_id::types;
use crate::graphql::connection::{self, PageArgs};
use crate::graphql::context::{reads, request};
use crate::graphql::ids;
use crate::graphql::scalars::Money;

/// A user of the shop, named by the `sub` of their tokens.
#[derive(Debug, Clone, Copy)]
pub struct User {
    /// The user's database id.
    pub id: i64,
}

impl User {
    async fn record(&self, ctx: &Context<'_>) -> async_graphql::Result<UserRecord> {
        load_required(ctx, |l| &l.users, "user", self.id).await
    }
}

/// A user, known by the `sub` of their token: their balance, cart, orders
/// and coupons. Visible to themselves and to admins.
#[Object]
impl User {
    /// The user's global id.
    pub async fn id(&self) -> ID {
        ids::encode(types::USER, self.id)
    }

    /// The `sub` claim of the caller's token.
    async fn subject(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(self.record(ctx).await?.subject)
    }

    /// Money available to pay for orders.
    async fn balance(&self, ctx: &Context<'_>) -> async_graphql::Result<Money> {
        Ok(Money(self.record(ctx).await?.balance))
    }

    /// What the user means to buy, at today's prices.
    async fn cart(&self, ctx: &Context<'_>) -> async_graphql::Result<Cart> {
        let user = self.id;
        let lines = reads(ctx)?
            .run(async move |conn| cart::lines(conn, user).await)
            .await?;
        Ok(Cart(lines))
    }

    /// The user's orders, newest first.
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "At most this many items from the start of the list (after `after`): 0 to 100, 20 when neither first nor last is given."
        )]
        first: Option<i32>,
        #[graphql(desc = "The cursor (an edge's `cursor`) after which the page starts.")]
        after: Option<String>,
        #[graphql(
            desc = "At most this many items from the end of the list (before `before`): 0 to 100."
        )]
        last: Option<i32>,
        #[graphql(desc = "The cursor before which the page ends.")] before: Option<String>,
        #[graphql(desc = "Only orders with this status.")] status: Option<OrderStatus>,
    ) -> async_graphql::Result<OrderConnection> {
        let args = PageArgs::new(first, after, last, before);
        let status = status.map(Into::into);
        // A query that asks for the orders' lines gets them, and their
        // products, on the same connection right after the page rather than
        // level by level.
        let look = ctx.look_ahead();
        let lines = [
            look.field("nodes").field("items"),
            look.field("edges").field("node").field("items"),
        ];
        let prefetch = reads(ctx)?.is_shared() && lines.iter().any(|l| l.exists());
        let products = lines.iter().any(|l| l.field("product").exists());
        let (user, data) = (self.id, request(ctx)?.clone());
        connection::resolve(
            ctx,
            args,
            async move |conn, request| {
                let page = order::page_for_user(&mut *conn, user, status, request).await?;
                if prefetch {
                    let ids: Vec<i64> = page.items.iter().map(|o| o.id).collect();
                    data.loaders()
                        .prefetch_order_lines(conn, &ids, products)
                        .await?;
                }
                Ok(page)
            },
            async move |conn| order::count_for_user(conn, user, status).await,
            |o| o.id,
            Order,
        )
        .await
    }

    /// Every change to the balance, newest first; the amounts of CHARGE and REFUND entries minus those of PAYMENT entries sum to the balance.
    async fn balance_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "At most this many items from the start of the list (after `after`): 0 to 100, 20 when neither first nor last is given."
        )]
        first: Option<i32>,
        #[graphql(desc = "The cursor (an edge's `cursor`) after which the page starts.")]
        after: Option<String>,
        #[graphql(
            desc = "At most this many items from the end of the list (before `before`): 0 to 100."
        )]
        last: Option<i32>,
        #[graphql(desc = "The cursor before which the page ends.")] before: Option<String>,
    ) -> async_graphql::Result<BalanceEntryConnection> {
        let args = PageArgs::new(first, after, last, before);
        let user = self.id;
        connection::resolve(
            ctx,
            args,
            async move |conn, request| balance::page_for_user(conn, user, request).await,
            async move |conn| balance::count_for_user(conn, user).await,
            |e| e.id,
            BalanceEntry,
        )
        .await
    }

    /// The coupons issued to the user, newest first.
    async fn coupons(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "At most this many items from the start of the list (after `after`): 0 to 100, 20 when neither first nor last is given."
        )]
        first: Option<i32>,
        #[graphql(desc = "The cursor (an edge's `cursor`) after which the page starts.")]
        after: Option<String>,
        #[graphql(
            desc = "At most this many items from the end of the list (before `before`): 0 to 100."
        )]
        last: Option<i32>,
        #[graphql(desc = "The cursor before which the page ends.")] before: Option<String>,
        #[graphql(desc = "Only coupons with this status now.")] status: Option<UserCouponStatus>,
    ) -> async_graphql::Result<UserCouponConnection> {
        let args = PageArgs::new(first, after, last, before);
        let (user, status) = (self.id, status.map(Into::into));
        connection::resolve(
            ctx,
            args,
            async move |conn, request| {
                user_coupon::page_for_user(conn, user, status, request).await
            },
            async move |conn| user_coupon::count_for_user(conn, user, status).await,
            |c| c.id,
            UserCoupon,
        )
        .await
    }
}
