//! The server as an Apollo Federation v2 subgraph: the entities a gateway
//! may ask this server to resolve by key (`Query._entities`), and, through
//! async-graphql, `Query._service { sdl }`, the schema it composes.
//!
//! Why a module of its own: the entities are not fields of the API but
//! the gateway's way in, and each must answer exactly as `node` does, so
//! the rule of who sees what stays in one place ([`super::node::visible`]):
//! products and coupon campaigns are public; an order is its owner's and
//! the admins'; a user is themselves' and the admins'. Anything else, a
//! malformed id, an id of another type, a missing or hidden object, is
//! null, as the federation spec has `_entities` answer for an entity it
//! cannot resolve, and as `node` answers, so ids cannot be probed.
//!
//! Every entity is keyed by its global id (`@key(fields: "id")`), the id
//! the API already hands out. The representations of one `_entities` call
//! resolve together, so the DataLoaders read each type's with one
//! statement. What may reach these resolvers is held by the gate first
//! (`gate/entities.rs`): federation on (`FEDERATION`), at most
//! `QUERY_MAX_REPRESENTATIONS` representations, each an object naming an
//! entity type and a string id; and the call's complexity counts every
//! representation. docs/federation.md tells the rest.

use async_graphql::{Context, ID, Object};

use super::node::{self, Node};
use super::types::coupon::Coupon;
use super::types::order::Order;
use super::types::product::Product;
use super::types::user::User;
use crate::global_id::{self, types};

/// The entities this subgraph resolves for a gateway. It adds no field to
/// the schema: async-graphql serves them through `_entities`.
#[derive(Default)]
pub struct EntityQuery;

#[Object]
impl EntityQuery {
    /// A product by its global id; null when there is none.
    #[graphql(entity)]
    async fn find_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Product>> {
        entity(ctx, types::PRODUCT, &id, |node| match node {
            Node::Product(product) => Some(product),
            _ => None,
        })
        .await
    }

    /// An order by its global id, to its owner and admins; null otherwise.
    #[graphql(entity)]
    async fn find_order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Order>> {
        entity(ctx, types::ORDER, &id, |node| match node {
            Node::Order(order) => Some(order),
            _ => None,
        })
        .await
    }

    /// A user by their global id, to themselves and admins; null otherwise.
    #[graphql(entity)]
    async fn find_user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<User>> {
        entity(ctx, types::USER, &id, |node| match node {
            Node::User(user) => Some(user),
            _ => None,
        })
        .await
    }

    /// A coupon campaign by its global id; null when there is none.
    #[graphql(entity)]
    async fn find_coupon(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Coupon>> {
        entity(ctx, types::COUPON, &id, |node| match node {
            Node::Coupon(coupon) => Some(coupon),
            _ => None,
        })
        .await
    }
}

/// The entity of type `type_name` that the global id `id` names, as `node`
/// would answer it; an id of another type is null without a read.
async fn entity<T>(
    ctx: &Context<'_>,
    type_name: &str,
    id: &ID,
    pick: fn(Node) -> Option<T>,
) -> async_graphql::Result<Option<T>> {
    let Some(id) = global_id::decode(type_name, id) else {
        return Ok(None);
    };
    Ok(node::visible(ctx, type_name, id).await?.and_then(pick))
}
