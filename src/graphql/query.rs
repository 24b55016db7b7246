//! The query root, merged from one object per domain.

use async_graphql::{Context, ID, MergedObject, Object};

use super::connection;
use super::context::{loaders, reads, viewer_id};
use super::errors::IntoGraphQL;
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
            id: viewer_id(ctx).await.gql()?,
        })
    }
}

/// The public catalog.
#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// A product by its global id; null when there is no such product.
    async fn product(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Product>> {
        let Some(id) = global_id::decode(types::PRODUCT, &id) else {
            return Ok(None);
        };
        let record = loaders(ctx).gql()?.products.load_one(id).await.gql()?;
        Ok(record.map(Product))
    }

    /// The catalog, newest first.
    #[graphql(complexity = "connection::complexity(first, last, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<ProductConnection> {
        let request = connection::page_request(first, after, last, before)?;
        let mut conn = reads(ctx).gql()?.connection().await.gql()?;
        let page = product::page(&mut *conn, &request).await.gql()?;
        let total = connection::total_count(ctx, || product::count(&mut *conn)).await?;
        Ok(connection::build(page, total, |p| p.id, Product))
    }
}

/// The public coupon campaigns.
#[derive(Default)]
pub struct CouponQuery;

#[Object]
impl CouponQuery {
    /// Coupon campaigns, newest first. With availableOnly, only those still issuable now.
    #[graphql(complexity = "connection::complexity(first, last, child_complexity)")]
    async fn coupons(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] available_only: Option<bool>,
    ) -> async_graphql::Result<CouponConnection> {
        // An explicit null means the default: every campaign.
        let available_only = available_only.unwrap_or(false);
        let request = connection::page_request(first, after, last, before)?;
        let mut conn = reads(ctx).gql()?.connection().await.gql()?;
        let page = coupon::page(&mut *conn, available_only, &request)
            .await
            .gql()?;
        let total =
            connection::total_count(ctx, || coupon::count(&mut *conn, available_only)).await?;
        Ok(connection::build(page, total, |c| c.id, Coupon))
    }
}
