//! `Product`: an item of the catalog.

use async_graphql::{Context, ID, Object};

use super::required;
use crate::domain::product::ProductRecord;
use crate::global_id::types;
use crate::graphql::connection::connection;
use crate::graphql::context::loaders;
use crate::graphql::ids;
use crate::graphql::scalars::{DateTime, Money};

/// An item of the catalog.
#[derive(Debug, Clone)]
pub struct Product(pub ProductRecord);

connection!(Product, ProductConnection, ProductEdge);

impl Product {
    /// The product a line (of an order or of the cart) points at: it must
    /// exist, since a foreign key points at it.
    pub(crate) async fn of_line(ctx: &Context<'_>, id: i64) -> async_graphql::Result<Self> {
        let found = loaders(ctx)?.product(id).await?;
        required(found, "product", id).map(Self)
    }
}

/// A product of the catalog.
#[Object]
impl Product {
    /// The product's global id.
    pub async fn id(&self) -> ID {
        ids::encode(types::PRODUCT, self.0.id)
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Price of one unit.
    async fn price(&self) -> Money {
        Money(self.0.price)
    }

    /// Units available now.
    async fn stock(&self) -> i32 {
        self.0.stock
    }

    /// When the product was added to the catalog.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}
