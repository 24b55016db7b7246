//! `Product`: an item of the catalog.

use async_graphql::{ID, Object};

use crate::domain::product::ProductRecord;
use crate::global_id::types;
use crate::graphql::connection::connection;
use crate::graphql::ids;
use crate::graphql::scalars::{DateTime, Money};

/// An item of the catalog.
#[derive(Debug, Clone)]
pub struct Product(pub ProductRecord);

connection!(Product, ProductConnection, ProductEdge);

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
