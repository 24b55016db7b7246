//! The contract's object types, each a thin wrapper over a domain record;
//! related rows are fetched through the request's DataLoaders.

pub mod balance;
pub mod cart;
pub mod coupon;
pub mod order;
pub mod payment;
pub mod product;
pub mod user;

use async_graphql::Context;
use async_graphql::dataloader::Loader;

use super::context::loaders;
use super::loaders::{LoadError, Loaders, RequestLoader};
use crate::error::AppError;

/// Loads a row that must exist (a foreign key points at it) through one of
/// the request's loaders; its absence is a bug, not a null.
pub(crate) async fn load_required<L, V>(
    ctx: &Context<'_>,
    loader: impl FnOnce(&Loaders) -> &RequestLoader<L>,
    what: &str,
    id: i64,
) -> async_graphql::Result<V>
where
    L: Loader<i64, Value = V, Error = LoadError>,
    V: Send + Sync + Clone + 'static,
{
    let loaders = loaders(ctx)?;
    required(loader(loaders).load_one(id).await?, what, id)
}

/// A row that must exist (a foreign key points at it): its absence is a
/// bug, not a null.
pub(crate) fn required<V>(found: Option<V>, what: &str, id: i64) -> async_graphql::Result<V> {
    Ok(found.ok_or_else(|| AppError::Internal(format!("{what} {id} is missing")))?)
}
