//! `Product`: an item of the catalog.

use async_graphql::{Context, Enum, ID, Object};

use super::required;
use crate::domain::listing;
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

/// The orders of the catalog listing. Equal prices or names come in the order of creation (oldest first), reversed for PRICE_DESC; each page's cursors belong to its order.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductOrder {
    /// Best match first; the default when search is given (without a search it lists as NEWEST). A product named exactly as the search's words comes first, then those whose name holds every word, then those whose description completes the match; newest first within each.
    Relevance,
    /// Newest first.
    Newest,
    /// Oldest first.
    Oldest,
    /// Cheapest first (equal prices: oldest first).
    PriceAsc,
    /// Dearest first (equal prices: newest first).
    PriceDesc,
    /// By name, A to Z, case-insensitively (equal names: oldest first).
    Name,
}

impl From<ProductOrder> for listing::ProductOrder {
    fn from(order: ProductOrder) -> Self {
        match order {
            ProductOrder::Relevance => Self::Relevance,
            ProductOrder::Newest => Self::Newest,
            ProductOrder::Oldest => Self::Oldest,
            ProductOrder::PriceAsc => Self::PriceAsc,
            ProductOrder::PriceDesc => Self::PriceDesc,
            ProductOrder::Name => Self::Name,
        }
    }
}

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

    /// Free text; empty when none was given.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Price of one unit.
    async fn price(&self) -> Money {
        Money(self.0.price)
    }

    /// Units free for new orders now (held units excluded).
    async fn stock(&self) -> i32 {
        self.0.stock
    }

    /// Units held by PENDING orders inside their payment window; always 0 while stock holds are off.
    async fn held_stock(&self) -> i32 {
        self.0.held_stock
    }

    /// When the product was added to the catalog.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// When an admin archived it: it is then out of the catalog and can no longer be ordered, carted or paid for (orders and carts that hold it still show it). Null while it is listed.
    async fn archived_at(&self) -> Option<DateTime> {
        self.0.archived_at.map(Into::into)
    }
}
