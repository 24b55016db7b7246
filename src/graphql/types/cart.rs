//! `Cart` and `CartItem`: what the caller means to buy, at today's prices.

use async_graphql::{Context, Object};

use super::product::Product;
use crate::domain::cart::CartLine;
use crate::graphql::scalars::Money;

/// The caller's cart. Nothing in it is reserved.
#[derive(Debug, Clone)]
pub struct Cart(pub Vec<CartLine>);

/// The caller's cart: what they mean to buy, at today's prices. Nothing in
/// it is reserved; paying an order removes its products from the cart.
#[Object]
impl Cart {
    /// The lines, oldest first.
    async fn items(&self) -> Vec<CartItem> {
        self.0.iter().cloned().map(CartItem).collect()
    }

    /// Units over all lines.
    async fn total_quantity(&self) -> i32 {
        // At most 100 lines of at most 1000 units: no overflow.
        self.0.iter().map(|l| l.quantity).sum()
    }

    /// The lines' totals at today's prices.
    async fn subtotal(&self) -> Money {
        Money(self.0.iter().map(CartLine::line_total).sum())
    }
}

/// One product in the cart.
#[derive(Debug, Clone)]
pub struct CartItem(pub CartLine);

/// One product in the cart, with how many units of it.
#[Object]
impl CartItem {
    /// The product.
    async fn product(&self, ctx: &Context<'_>) -> async_graphql::Result<Product> {
        Product::of_line(ctx, self.0.product_id).await
    }

    /// Units in the cart.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }

    /// quantity × today's price.
    async fn line_total(&self) -> Money {
        Money(self.0.line_total())
    }
}
