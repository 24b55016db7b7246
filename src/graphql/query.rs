//! The query root, merged from one object per domain.

use async_graphql::{Context, ID, MergedObject, Object};

use super::connection::{self, PageArgs};
use super::context::{loaders, viewer_id};
use super::node::NodeQuery;
use super::types::coupon::{Coupon, CouponConnection};
use super::types::product::{Product, ProductConnection};
use super::types::user::User;
use crate::domain::{coupon, product};
use crate::global_id::{self, types};

/// Every query.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(NodeQuery, ViewerQuery, CatalogQuery, CouponQuery);

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

/// The public coupon campaigns.
#[derive(Default)]
pub struct CouponQuery;

#[Object]
impl CouponQuery {
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
