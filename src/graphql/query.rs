//! The query root, merged from one object per domain.

use async_graphql::{Context, ID, MergedObject, Object};

use super::connection::{self, PageArgs};
use super::context::{caller, can_see, loaders, services, viewer_id};
use super::federation::EntityQuery;
use super::ids;
use super::node::NodeQuery;
use super::types::coupon::{Coupon, CouponConnection};
use super::types::order::{Order, OrderConnection, OrderStatus};
use super::types::product::{Product, ProductConnection, ProductOrder};
use super::types::user::User;
use crate::domain::{coupon, listing, order};
use crate::error::AppError;
use crate::facades::require_admin;
use crate::global_id::{self, types};

// Two roots of one name, never in one schema: the one served holds the
// federation's entities too, which add `_service` and `_entities` to it;
// the API's, without them, gives the schema clients build on
// (`schema.graphql`, `graphql::sdl`). They hold the same objects otherwise
// (a test in `graphql` compares their schemas); one cannot hold the other,
// as a merged object's parts may not share its name.

/// Every query.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    NodeQuery,
    ViewerQuery,
    CatalogQuery,
    CouponQuery,
    OrderQuery,
    EntityQuery,
);

/// Every query.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct ApiQueryRoot(
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
    /// A product, archived or not, by its global id; null when it does not exist.
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

    /// The catalog (never archived products), newest first unless orderBy says otherwise.
    #[allow(clippy::too_many_arguments)] // the contract's arguments, one each
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
        #[graphql(
            desc = "Words that each listed product's name or description contains, case-insensitively. Words are separated by whitespace and matched as literal text (`%`, `_` and `\\` included); at most 200 characters by default (the server's SEARCH_MAX_CHARS; BAD_REQUEST beyond), no control characters; blank searches nothing."
        )]
        search: Option<String>,
        #[graphql(default_with = "Some(false)", desc = "Only products with stock > 0.")]
        in_stock_only: Option<bool>,
        #[graphql(
            desc = "The order of the list: NEWEST when omitted, or RELEVANCE when search is given. A cursor belongs to the order it was issued in: one of another order is BAD_REQUEST. A cursor stays valid when search or inStockOnly change (the page starts at its position in the order)."
        )]
        order_by: Option<ProductOrder>,
    ) -> async_graphql::Result<ProductConnection> {
        let config = &services(ctx)?.config.search;
        let (max_chars, walk) = (config.max_chars, config.walk_rows);
        let search = listing::Search::parse(search.as_deref().unwrap_or(""), max_chars)?;
        let order = listing::ProductOrder::of_listing(order_by.map(Into::into), &search);
        // An explicit null means the default, as for every optional argument.
        let filter = listing::Filter {
            search,
            in_stock_only: in_stock_only.unwrap_or(false),
        };
        let args = PageArgs::new(first, after, last, before);
        let (limit, backward) = args.size()?;
        let cursor = |c: &String| ids::decode_product_cursor(order, c);
        let request = listing::ListingRequest {
            filter: filter.clone(),
            order,
            limit,
            after: args.after.as_ref().map(cursor).transpose()?,
            before: args.before.as_ref().map(cursor).transpose()?,
            backward,
        };
        connection::run(
            ctx,
            async move |conn| listing::page(conn, &request, walk).await,
            async move |conn| listing::count(conn, &filter).await,
            |(p, rank)| ids::encode_product_cursor(order, &order.position(p, *rank)),
            |(p, _)| Product(p),
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
