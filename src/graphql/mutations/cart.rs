//! `addCartItem`, `updateCartItem` and `removeCartItem`.

use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::cart::Change;
use crate::error::{AppResult, Field};
use crate::facades::cart;
use crate::global_id::types;
use crate::graphql::context::{caller, services};
use crate::graphql::errors::respond;
use crate::graphql::ids;
use crate::graphql::types::cart::Cart;

/// Units of a product to add to the cart.
#[derive(InputObject)]
pub struct AddCartItemInput {
    /// The product.
    pub product_id: ID,
    /// Units to add, 1 to 1000 (a line holds at most 1000).
    pub quantity: i32,
}

/// A cart line's new quantity.
#[derive(InputObject)]
pub struct UpdateCartItemInput {
    /// The product.
    pub product_id: ID,
    /// The line's quantity, 0 to 1000; 0 removes the line.
    pub quantity: i32,
}

/// The product to take out of the cart.
#[derive(InputObject)]
pub struct RemoveCartItemInput {
    /// The product.
    pub product_id: ID,
}

payload!(
    /// The cart after a change.
    CartPayload {
        /// The caller's cart.
        cart: Cart,
    }
);

fn cart_payload(lines: Vec<crate::domain::cart::CartLine>) -> CartPayload {
    CartPayload {
        cart: Some(Cart(lines)),
        ..Default::default()
    }
}

/// Cart mutations.
#[derive(Default)]
pub struct CartMutation;

impl CartMutation {
    async fn change(
        ctx: &Context<'_>,
        product_id: &ID,
        change: Change,
    ) -> async_graphql::Result<CartPayload> {
        let services = services(ctx)?;
        let caller = caller(ctx)?;
        let result: AppResult<_> = async {
            let id = ids::decode_input(types::PRODUCT, product_id, Field::Product)?;
            cart::change(services, caller, id, change).await
        }
        .await;
        respond(result, cart_payload)
    }
}

#[Object]
impl CartMutation {
    /// Adds quantity of a product to the caller's cart (creating the line if needed).
    async fn add_cart_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product and how many units to add.")] input: AddCartItemInput,
    ) -> async_graphql::Result<CartPayload> {
        Self::change(ctx, &input.product_id, Change::Add(input.quantity)).await
    }

    /// Sets a cart line's quantity; 0 removes the line.
    async fn update_cart_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product and its new quantity.")] input: UpdateCartItemInput,
    ) -> async_graphql::Result<CartPayload> {
        Self::change(ctx, &input.product_id, Change::Set(input.quantity)).await
    }

    /// Takes a product out of the caller's cart (nothing happens if it is not there).
    async fn remove_cart_item(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product to take out of the cart.")] input: RemoveCartItemInput,
    ) -> async_graphql::Result<CartPayload> {
        let services = services(ctx)?;
        let caller = caller(ctx)?;
        let result: AppResult<_> = async {
            let id = ids::decode_input(types::PRODUCT, &input.product_id, Field::Product)?;
            cart::remove(services, caller, id).await
        }
        .await;
        respond(result, cart_payload)
    }
}
