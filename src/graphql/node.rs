//! Relay's object identification: the `Node` interface and `node`/`nodes`.

use async_graphql::futures_util::future::join_all;
use async_graphql::{Context, ID, Interface, Object};

use super::context::{loaders, maybe_caller, services};
use super::errors::{IntoGraphQL, to_graphql};
use super::ids;
use super::types::{product, product::Product, user, user::User};
use crate::domain::user as user_domain;
use crate::facades::identity;

/// An object with a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The object's global id."))]
pub enum Node {
    Product(Product),
    User(User),
}

/// The `node` and `nodes` queries.
#[derive(Default)]
pub struct NodeQuery;

/// The most ids one `nodes` call may ask for.
const MAX_NODES: usize = 100;

#[Object]
impl NodeQuery {
    /// Fetches any entity by its global id; null when it does not exist or the caller may not see it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        fetch(ctx, &id).await
    }

    /// Fetches several entities by global id, in order; null for each one that does not exist or is hidden.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(to_graphql(&crate::error::AppError::BadRequest(format!(
                "nodes takes at most {MAX_NODES} ids"
            ))));
        }
        // Loads of one type batch through the DataLoaders, so join them.
        let fetched = join_all(ids.iter().map(|id| fetch(ctx, id))).await;
        fetched.into_iter().collect()
    }
}

async fn fetch(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<Option<Node>> {
    let Some((type_name, db_id)) = ids::decode_any(id) else {
        return Ok(None);
    };
    match type_name.as_str() {
        product::TYPE_NAME => {
            let loaders = loaders(ctx).gql()?;
            let record = loaders.products.load_one(db_id).await.gql()?;
            Ok(record.map(|r| Node::Product(Product(r))))
        }
        user::TYPE_NAME => {
            // A user is visible to themselves and to admins.
            let Some(caller) = maybe_caller(ctx) else {
                return Ok(None);
            };
            let services = services(ctx).gql()?;
            if !caller.is_admin && identity::user_id(services, caller).await.gql()? != db_id {
                return Ok(None);
            }
            let record = user_domain::by_id(&services.db.pool, db_id).await.gql()?;
            Ok(record.map(|r| Node::User(User(r))))
        }
        _ => Ok(None),
    }
}
