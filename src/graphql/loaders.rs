//! DataLoaders: fields that fetch related rows go through these, so a list of
//! N items costs one query per relation instead of N.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use sqlx::PgPool;

use crate::domain::product::{self, ProductRecord};
use crate::error::AppError;

/// A loader's error: shared, because one failed batch fails every field
/// that waited on it.
pub type LoadError = Arc<AppError>;

/// The loaders of one request.
pub struct Loaders {
    /// Products by id.
    pub products: DataLoader<ProductLoader>,
}

impl Loaders {
    /// Fresh loaders over `pool`.
    pub fn new(pool: &PgPool) -> Self {
        Self {
            products: DataLoader::new(ProductLoader(pool.clone()), tokio::spawn),
        }
    }
}

/// Loads products by id.
pub struct ProductLoader(PgPool);

impl Loader<i64> for ProductLoader {
    type Value = ProductRecord;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let rows = product::by_ids(&self.0, keys).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|p| (p.id, p)).collect())
    }
}
