//! The catalog: products, their prices, and the rules for creating them.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use super::page::{Page, PageRequest, fetch_page};
use crate::db::columns::zip_columns;
use crate::error::{AppResult, ErrorCode, Field, Rejection, Rejections};

/// The highest price of one unit (the database enforces it too).
pub const MAX_PRICE: i64 = 1_000_000_000_000;

/// A row of `products`.
#[derive(Debug, Clone)]
pub struct ProductRecord {
    /// Database id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Price of one unit, in minor units.
    pub price: i64,
    /// Units available now.
    pub stock: i32,
    /// When the product was created.
    pub created_at: DateTime<Utc>,
}

/// What an admin provides to create a product.
#[derive(Debug, Clone)]
pub struct NewProduct {
    /// Display name (trimmed, 1 to 200 characters).
    pub name: String,
    /// Unit price, 0 to [`MAX_PRICE`].
    pub price: i64,
    /// Initial stock, 0 or more.
    pub stock: i32,
}

impl NewProduct {
    /// Checks every field, reporting all failures at once.
    pub fn validate(&self) -> AppResult<()> {
        let mut errors = Rejections::new();
        super::check_name(&self.name, &mut errors);
        if !(0..=MAX_PRICE).contains(&self.price) {
            errors.push(Rejection::invalid(
                Field::Price,
                format!("price must be 0 to {MAX_PRICE}"),
            ));
        }
        if self.stock < 0 {
            errors.push(Rejection::invalid(Field::Stock, "stock must be 0 or more"));
        }
        errors.finish()
    }
}

/// The rejection of an input that names no product.
pub fn not_found(field: Field) -> Rejection {
    Rejection::new(ErrorCode::ProductNotFound, "no such product").at(field)
}

/// Inserts a validated product.
pub async fn insert(conn: &mut PgConnection, new: &NewProduct) -> AppResult<ProductRecord> {
    Ok(sqlx::query_as!(
        ProductRecord,
        "INSERT INTO products (name, price, stock) VALUES ($1, $2, $3)
         RETURNING id, name, price, stock, created_at",
        new.name.trim(),
        new.price,
        new.stock,
    )
    .fetch_one(conn)
    .await?)
}

/// The products with these ids (missing ids are simply absent), from the
/// pool or inside a transaction.
/// A columnar read (see [`crate::db::columns`]), in no particular order.
pub async fn by_ids<'c>(db: impl PgExecutor<'c>, ids: &[i64]) -> AppResult<Vec<ProductRecord>> {
    let columns = sqlx::query!(
        r#"SELECT array_agg(id) AS "id?", array_agg(name) AS "name?", array_agg(price) AS "price?",
                  array_agg(stock) AS "stock?", array_agg(created_at) AS "created_at?"
           FROM products WHERE id = ANY($1)"#,
        ids,
    )
    .fetch_one(db)
    .await?;
    let (id, name, price, stock, created_at) = (
        columns.id,
        columns.name,
        columns.price,
        columns.stock,
        columns.created_at,
    );
    Ok(zip_columns!(ProductRecord {
        id,
        name,
        price,
        stock,
        created_at
    })?)
}

/// Whether product `id` exists.
pub async fn exists(conn: &mut PgConnection, id: i64) -> AppResult<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM products WHERE id = $1) AS "exists!""#,
        id
    )
    .fetch_one(conn)
    .await?)
}

/// One page of the catalog, newest first.
pub async fn page<'c>(
    db: impl PgExecutor<'c>,
    req: &PageRequest,
) -> AppResult<Page<ProductRecord>> {
    let rows = fetch_page!(
        db,
        req,
        ProductRecord,
        "SELECT id, name, price, stock, created_at FROM products
         WHERE ($1::BIGINT IS NULL OR id < $1) AND ($2::BIGINT IS NULL OR id > $2)
         ORDER BY id",
        "LIMIT $3",
        req.after,
        req.before,
        req.fetch_limit(),
    )?;
    Ok(req.finish(rows))
}

/// How many products the catalog holds.
pub async fn count<'c>(db: impl PgExecutor<'c>) -> AppResult<i64> {
    Ok(
        sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM products"#)
            .fetch_one(db)
            .await?,
    )
}

/// Whether the catalog is empty (the demo seed only fills an empty one).
pub async fn is_empty(conn: &mut PgConnection) -> AppResult<bool> {
    Ok(
        !sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM products) AS "exists!""#)
            .fetch_one(conn)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = NewProduct {
            name: "  ".into(),
            price: -1,
            stock: -5,
        };
        let Err(AppError::Rejected(errors)) = bad.validate() else {
            panic!("accepted")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [Some(Field::Name), Some(Field::Price), Some(Field::Stock)]
        );
        assert!(
            NewProduct {
                name: "Tea".into(),
                price: 0,
                stock: 0
            }
            .validate()
            .is_ok()
        );
        assert!(
            NewProduct {
                name: "x".repeat(201),
                price: 1,
                stock: 1
            }
            .validate()
            .is_err()
        );
        assert!(
            NewProduct {
                name: "x".into(),
                price: MAX_PRICE + 1,
                stock: 1
            }
            .validate()
            .is_err()
        );
    }
}
