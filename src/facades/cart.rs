//! The cart: `addCartItem`, `updateCartItem` and `removeCartItem`. Each
//! returns the cart as it stands after the change.

use super::{Services, identity};
use crate::auth::Principal;
use crate::domain::cart::{self, CartLine, Change};
use crate::error::AppResult;

/// Adds units of a product to the caller's cart, or sets its line.
pub async fn change(
    services: &Services,
    caller: &Principal,
    product_id: i64,
    change: Change,
) -> AppResult<Vec<CartLine>> {
    change.validate()?;
    let user_id = identity::user_id(services, caller).await?;
    services
        .db
        .serializable("changeCart", |tx| {
            Box::pin(async move {
                cart::change(&mut *tx, user_id, product_id, change).await?;
                cart::lines(tx, user_id).await
            })
        })
        .await
}

/// Removes a product from the caller's cart.
pub async fn remove(
    services: &Services,
    caller: &Principal,
    product_id: i64,
) -> AppResult<Vec<CartLine>> {
    let user_id = identity::user_id(services, caller).await?;
    services
        .db
        .serializable("removeCartItem", |tx| {
            Box::pin(async move {
                cart::remove(&mut *tx, user_id, product_id).await?;
                cart::lines(tx, user_id).await
            })
        })
        .await
}
