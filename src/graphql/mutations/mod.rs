//! The mutation root, merged from one object per domain. Each mutation takes
//! one `input` and returns a payload with `userErrors`.

pub mod balance;
pub mod catalog;

use async_graphql::MergedObject;

/// Every mutation.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(balance::BalanceMutation, catalog::CatalogMutation);
