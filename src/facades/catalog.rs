//! Catalog administration: `createProduct` and `adjustStock` (admins only).

use super::{Services, require_admin};
use crate::auth::Principal;
use crate::db::RowKey;
use crate::domain::product::{NewProduct, ProductRecord};
use crate::domain::{product, stock};
use crate::error::AppResult;

/// Creates a product after checking every field.
pub async fn create_product(
    services: &Services,
    caller: &Principal,
    new: NewProduct,
) -> AppResult<ProductRecord> {
    require_admin(caller)?;
    new.validate()?;
    services
        .db
        .serializable("createProduct", |tx| {
            let new = new.clone();
            Box::pin(async move { product::insert(tx, &new).await })
        })
        .await
}

/// Changes a product's stock by `delta`; stock never goes below zero.
pub async fn adjust_stock(
    services: &Services,
    caller: &Principal,
    product_id: i64,
    delta: i32,
) -> AppResult<ProductRecord> {
    require_admin(caller)?;
    services
        .db
        .serializable_on(
            "adjustStock",
            &[RowKey::new("products", product_id)],
            |tx| Box::pin(stock::adjust(tx, product_id, delta)),
        )
        .await
}
