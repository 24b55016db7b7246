//! Catalog administration (admins only): `createProduct`, `updateProduct`,
//! `archiveProduct` and `adjustStock`.

use super::{Services, require_admin};
use crate::auth::Principal;
use crate::db::RowKey;
use crate::domain::product::{NewProduct, ProductChanges, ProductRecord};
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

/// Changes a product's stock by `delta`; stock never goes below zero. An
/// archived product's stock may still be adjusted: it is the warehouse's
/// count, and archiving makes the product unorderable whatever it holds.
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

/// Changes a product's name, description or price after checking them with
/// createProduct's rules. Orders keep the prices they were created with
/// (their lines hold their own unit prices); an order created while this
/// runs gets the old price or the new one, as SERIALIZABLE orders them.
pub async fn update_product(
    services: &Services,
    caller: &Principal,
    product_id: i64,
    changes: ProductChanges,
) -> AppResult<ProductRecord> {
    require_admin(caller)?;
    changes.validate()?;
    services
        .db
        .serializable_on(
            "updateProduct",
            &[RowKey::new("products", product_id)],
            |tx| {
                let changes = changes.clone();
                Box::pin(async move { product::update(tx, product_id, &changes).await })
            },
        )
        .await
}

/// Archives a product for good: it leaves the listing, and orders, carts
/// and payments refuse it from the commit on (a payment settled in a batch
/// that read the product before conflicts with this write, and SERIALIZABLE
/// retries whichever loses). Archiving it again changes nothing and
/// succeeds, so a retried request is safe.
pub async fn archive_product(
    services: &Services,
    caller: &Principal,
    product_id: i64,
) -> AppResult<ProductRecord> {
    require_admin(caller)?;
    services
        .db
        .serializable_on(
            "archiveProduct",
            &[RowKey::new("products", product_id)],
            |tx| Box::pin(product::archive(tx, product_id)),
        )
        .await
}
