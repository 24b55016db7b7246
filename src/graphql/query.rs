//! The query root, merged from one object per domain.

use async_graphql::{Context, ID, MergedObject, Object};

use super::connection::{self, PageArgs};
use super::context::{caller, can_see, loaders, viewer_id};
use super::node::NodeQuery;
use super::types::coupon::{Coupon, CouponConnection};
use super::types::order::{Order, OrderConnection, OrderStatus};
use super::types::product::{Product, ProductConnection};
use super::types::user::User;
use crate::domain::{coupon, order, product};
use crate::error::AppError;
use crate::facades::require_admin;
use crate::global_id::{self, types};

/// Every query.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    NodeQuery,
    ViewerQuery,
    CatalogQuery,
    CouponQuery,
    OrderQuery,
);

/// `viewer`: the authenticated caller.
#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// The authenticated caller. Errors with UNAUTHENTICATED without a valid token.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        Ok(User {
            id: viewer_id(ctx).await?,
        })
    }
}

/// The public catalog.
#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// A product by its global id; null when there is no such product.
    async fn product(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product's global id.")] id: ID,
    ) -> async_graphql::Result<Option<Product>> {
        let Some(id) = global_id::decode(types::PRODUCT, &id) else {
            return Ok(None);
        };
        let record = loaders(ctx)?.product(id).await?;
        Ok(record.map(Product))
    }

    /// The catalog, newest first.
    async fn products(
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
    ) -> async_graphql::Result<ProductConnection> {
        let args = PageArgs::new(first, after, last, before);
        connection::resolve(
            ctx,
            args,
            async move |conn, request| product::page(conn, request).await,
            async move |conn| product::count(conn).await,
            |p| p.id,
            Product,
        )
        .await
    }
}

/// Orders by id, and every order for admins.
#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// An order of the caller's (any order for an admin); null otherwise.
    async fn order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order's global id.")] id: ID,
    ) -> async_graphql::Result<Option<Order>> {
        let Some(id) = global_id::decode(types::ORDER, &id) else {
            return Ok(None);
        };
        let Some(record) = loaders(ctx)?.orders.load_one(id).await? else {
            return Ok(None);
        };
        Ok(can_see(ctx, record.user_id).await?.then_some(Order(record)))
    }

    /// Admin only: every user's orders, newest first.
    #[allow(clippy::too_many_arguments)] // the connection's four and two filters
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
        #[graphql(desc = "Only the orders of this user (a User's global id).")] user_id: Option<ID>,
    ) -> async_graphql::Result<OrderConnection> {
        require_admin(caller(ctx)?)?;
        let user_id =
            match &user_id {
                None => None,
                Some(id) => Some(global_id::decode(types::USER, id).ok_or_else(|| {
                    AppError::BadRequest("userId is not a User's global id".into())
                })?),
            };
        let args = PageArgs::new(first, after, last, before);
        let status = status.map(Into::into);
        connection::resolve(
            ctx,
            args,
            async move |conn, request| order::page_all(conn, status, user_id, request).await,
            async move |conn| order::count_all(conn, status, user_id).await,
            |o| o.id,
            Order,
        )
        .await
    }
}

/// The public coupon campaigns.
#[derive(Default)]
pub struct CouponQuery;

#[Object]
impl CouponQuery {
    /// A coupon campaign; null when it does not exist.
    async fn coupon(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign's global id.")] id: ID,
    ) -> async_graphql::Result<Option<Coupon>> {
        let Some(id) = global_id::decode(types::COUPON, &id) else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.coupons.load_one(id).await?.map(Coupon))
    }

    /// Coupon campaigns, newest first. With availableOnly, only those still issuable now.
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
        #[graphql(
            default_with = "Some(false)",
            desc = "Only the campaigns issuable now: inside their window, with coupons left."
        )]
        available_only: Option<bool>,
    ) -> async_graphql::Result<CouponConnection> {
        // An explicit null means the default: every campaign.
        let available_only = available_only.unwrap_or(false);
        let args = PageArgs::new(first, after, last, before);
        connection::resolve(
            ctx,
            args,
            async move |conn, request| coupon::page(conn, available_only, request).await,
            async move |conn| coupon::count(conn, available_only).await,
            |c| c.id,
            Coupon,
        )
        .await
    }
}
