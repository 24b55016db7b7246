//! Admin catalog mutations: `createProduct`, `updateProduct`,
//! `archiveProduct`, `adjustStock`.

use crate::error::Field;
use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::product::{NewProduct, ProductChanges, ProductRecord};
use crate::facades::catalog;
use crate::global_id::types;
use crate::graphql::context::{caller, services};
use crate::graphql::errors::respond;
use crate::graphql::ids;
use crate::graphql::scalars::Money;
use crate::graphql::types::product::Product;

/// A new product.
#[derive(InputObject)]
pub struct CreateProductInput {
    /// Display name, 1 to 200 characters.
    pub name: String,
    /// Unit price, 1 to 1000000000000.
    pub price: Money,
    /// Initial stock, 0 or more.
    pub stock: i32,
    /// Free text, at most 5000 characters (line breaks and tabs allowed, no other control characters); empty when omitted.
    pub description: Option<String>,
}

/// Changes to a product: each field given replaces the product's, under createProduct's rules; an omitted (or null) one is kept.
#[derive(InputObject)]
pub struct UpdateProductInput {
    /// The product to change (archived or not).
    pub product_id: ID,
    /// A new display name, 1 to 200 characters.
    pub name: Option<String>,
    /// A new description, at most 5000 characters; "" clears it.
    pub description: Option<String>,
    /// A new unit price, 1 to 1000000000000. Existing orders keep the prices they were created with.
    pub price: Option<Money>,
}

/// The product to archive.
#[derive(InputObject)]
pub struct ArchiveProductInput {
    /// The product to take out of the catalog.
    pub product_id: ID,
}

/// A stock change.
#[derive(InputObject)]
pub struct AdjustStockInput {
    /// The product to change.
    pub product_id: ID,
    /// Units to add (positive) or remove (negative).
    pub delta: i32,
}

payload!(
    /// The product after a catalog mutation.
    ProductPayload {
        /// The product.
        product: Product,
    }
);

fn product_payload(record: ProductRecord) -> ProductPayload {
    ProductPayload {
        product: Some(Product(record)),
        ..Default::default()
    }
}

/// The admin's catalog mutations.
#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Admin only: adds a product to the catalog.
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new product's name, price and stock.")] input: CreateProductInput,
    ) -> async_graphql::Result<ProductPayload> {
        let services = services(ctx)?;
        let caller = caller(ctx)?;
        let new = NewProduct {
            name: input.name,
            description: input.description.unwrap_or_default(),
            price: input.price.0,
            stock: input.stock,
        };
        respond(
            catalog::create_product(services, caller, new).await,
            product_payload,
        )
    }

    /// Admin only: changes a product's name, description or price; existing orders keep the prices they were created with. An archived product may still be changed.
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product and what to change.")] input: UpdateProductInput,
    ) -> async_graphql::Result<ProductPayload> {
        let services = services(ctx)?;
        let caller = caller(ctx)?;
        let result = async {
            let id = ids::decode_input(types::PRODUCT, &input.product_id, Field::Product)?;
            let changes = ProductChanges {
                name: input.name,
                description: input.description,
                price: input.price.map(|p| p.0),
            };
            catalog::update_product(services, caller, id, changes).await
        }
        .await;
        respond(result, product_payload)
    }

    /// Admin only: takes a product out of the catalog for good (see Product.archivedAt); orders and carts that hold it still show it. Archiving an archived product changes nothing and returns it (its archivedAt unchanged).
    async fn archive_product(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product to archive.")] input: ArchiveProductInput,
    ) -> async_graphql::Result<ProductPayload> {
        let services = services(ctx)?;
        let caller = caller(ctx)?;
        let result = async {
            let id = ids::decode_input(types::PRODUCT, &input.product_id, Field::Product)?;
            catalog::archive_product(services, caller, id).await
        }
        .await;
        respond(result, product_payload)
    }

    /// Admin only: changes a product's stock by delta (never below zero). An archived product's stock may still be adjusted; it stays unorderable.
    async fn adjust_stock(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product and the change of its stock.")] input: AdjustStockInput,
    ) -> async_graphql::Result<ProductPayload> {
        let services = services(ctx)?;
        let caller = caller(ctx)?;
        let result = async {
            let id = ids::decode_input(types::PRODUCT, &input.product_id, Field::Product)?;
            catalog::adjust_stock(services, caller, id, input.delta).await
        }
        .await;
        respond(result, product_payload)
    }
}
