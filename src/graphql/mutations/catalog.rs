//! Admin catalog mutations: `createProduct`, `adjustStock`.

use crate::error::Field;
use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::product::{NewProduct, ProductRecord};
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
    /// Unit price, 0 to 1000000000000.
    pub price: Money,
    /// Initial stock, 0 or more.
    pub stock: i32,
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
            price: input.price.0,
            stock: input.stock,
        };
        respond(
            catalog::create_product(services, caller, new).await,
            product_payload,
        )
    }

    /// Admin only: changes a product's stock by delta (never below zero).
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
