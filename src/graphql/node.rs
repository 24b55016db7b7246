//! Relay's object identification: the `Node` interface and `node`/`nodes`.
//!
//! Products and coupon campaigns are public. Orders, payments, issued
//! coupons and balance entries are visible to their owner and to admins; a user to themselves
//! and to admins. To anyone else they read as null, like an id that names
//! nothing, so that ids cannot be probed.

use async_graphql::futures_util::future::join_all;
use async_graphql::{Context, ID, Interface, Object};

use super::context::{can_see, loaders};
use super::types::balance::BalanceEntry;
use super::types::coupon::{Coupon, UserCoupon};
use super::types::order::Order;
use super::types::payment::Payment;
use super::types::product::Product;
use super::types::user::User;
use crate::error::AppError;
use crate::global_id::{self, types};

/// An object with a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The object's global id."))]
pub enum Node {
    Product(Product),
    User(User),
    Order(Order),
    Payment(Payment),
    Coupon(Coupon),
    UserCoupon(UserCoupon),
    BalanceEntry(BalanceEntry),
}

/// The `node` and `nodes` queries.
#[derive(Default)]
pub struct NodeQuery;

/// The most ids one `nodes` call may ask for.
const MAX_NODES: usize = 100;

#[Object]
impl NodeQuery {
    /// Fetches any entity by its global id; null when it does not exist or the caller may not see it.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The global id of any object.")] id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        fetch(ctx, &id).await
    }

    /// Fetches up to 100 entities by global id, in order; null for each one that does not exist or is hidden.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Up to 100 global ids, of any types.")] ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(
                AppError::BadRequest(format!("nodes takes at most {MAX_NODES} ids")).into(),
            );
        }
        // Loads of one type batch through the DataLoaders, so join them.
        let fetched = join_all(ids.iter().map(|id| fetch(ctx, id))).await;
        fetched.into_iter().collect()
    }
}

async fn fetch(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<Option<Node>> {
    match global_id::decode_any(id) {
        Some((type_name, id)) => visible(ctx, &type_name, id).await,
        None => Ok(None),
    }
}

/// The object of type `type_name` with database id `id`, if it exists and
/// the caller may see it (the module's rule); `None` otherwise, and for a
/// type that is not a node. The one rule of visibility by id: `node`,
/// `nodes` and the federation's entities ([`super::federation`]) all read
/// through it. Loads go through the DataLoaders, so the objects of one type
/// asked for together are read with one statement.
pub(super) async fn visible(
    ctx: &Context<'_>,
    type_name: &str,
    id: i64,
) -> async_graphql::Result<Option<Node>> {
    let loaders = loaders(ctx)?;
    // Public entities answer at once; owned ones with their owner's id.
    let owned: Option<(i64, Node)> = match type_name {
        types::PRODUCT => {
            let found = loaders.product(id).await?;
            return Ok(found.map(|r| Node::Product(Product(r))));
        }
        types::COUPON => {
            let found = loaders.coupons.load_one(id).await?;
            return Ok(found.map(|r| Node::Coupon(Coupon(r))));
        }
        types::USER => {
            (loaders.users.load_one(id).await?).map(|r| (r.id, Node::User(User { id: r.id })))
        }
        types::ORDER => {
            (loaders.orders.load_one(id).await?).map(|r| (r.user_id, Node::Order(Order(r))))
        }
        types::PAYMENT => {
            (loaders.payments.load_one(id).await?).map(|r| (r.user_id, Node::Payment(Payment(r))))
        }
        types::USER_COUPON => (loaders.user_coupons.load_one(id).await?)
            .map(|r| (r.user_id, Node::UserCoupon(UserCoupon(r)))),
        types::BALANCE_ENTRY => (loaders.balance_entries.load_one(id).await?)
            .map(|r| (r.user_id, Node::BalanceEntry(BalanceEntry(r)))),
        _ => None,
    };
    match owned {
        Some((owner, node)) if can_see(ctx, owner).await? => Ok(Some(node)),
        _ => Ok(None),
    }
}
