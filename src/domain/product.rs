//! The catalog: products, their prices, and the rules for creating,
//! changing and archiving them. The listing (search, filters, sort orders)
//! is [`super::listing`].

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use crate::db::columns::zip_columns;
use crate::error::{AppResult, ErrorCode, Field, Rejection, Rejections};

/// The highest price of one unit (the database enforces it too).
pub const MAX_PRICE: i64 = 1_000_000_000_000;
/// The lowest price of one unit: a product is never given away by mistake
/// (a price of 0 is refused by createProduct and updateProduct alike).
pub const MIN_PRICE: i64 = 1;
/// The longest description (the table's CHECK holds the same bound).
pub const MAX_DESCRIPTION_LEN: usize = 5_000;

/// A row of `products`.
#[derive(Debug, Clone)]
pub struct ProductRecord {
    /// Database id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Free text; empty when none was given.
    pub description: String,
    /// Price of one unit, in minor units.
    pub price: i64,
    /// Units free for new orders now.
    pub stock: i32,
    /// Units held by PENDING orders (out of `stock` until they are paid,
    /// cancelled or expired).
    pub held_stock: i32,
    /// When the product was created.
    pub created_at: DateTime<Utc>,
    /// When an admin archived it (out of the catalog for good).
    pub archived_at: Option<DateTime<Utc>>,
}

impl ProductRecord {
    /// The rule for ordering, carting or paying for a product: it must not
    /// be archived, else `PRODUCT_NOT_FOUND` of `field` (to a buyer an
    /// archived product is gone, whatever its row still holds).
    pub fn check_orderable(&self, field: Field) -> Result<(), Rejection> {
        match self.archived_at {
            None => Ok(()),
            Some(_) => Err(Rejection::new(
                ErrorCode::ProductNotFound,
                "the product was archived: it can no longer be ordered",
            )
            .at(field)),
        }
    }
}

/// [`ProductRecord::check_orderable`] of a product that may not exist:
/// a missing one is `PRODUCT_NOT_FOUND` of `field` too.
pub fn orderable(found: Option<&ProductRecord>, field: Field) -> Result<&ProductRecord, Rejection> {
    let product = found.ok_or_else(|| not_found(field))?;
    product.check_orderable(field)?;
    Ok(product)
}

/// What an admin provides to create a product.
#[derive(Debug, Clone)]
pub struct NewProduct {
    /// Display name (trimmed, 1 to 200 characters).
    pub name: String,
    /// Free text (trimmed, at most [`MAX_DESCRIPTION_LEN`] characters);
    /// empty for none.
    pub description: String,
    /// Unit price, [`MIN_PRICE`] to [`MAX_PRICE`].
    pub price: i64,
    /// Initial stock, 0 or more.
    pub stock: i32,
}

impl NewProduct {
    /// Checks every field, reporting all failures at once.
    pub fn validate(&self) -> AppResult<()> {
        let mut errors = Rejections::new();
        super::check_name(&self.name, &mut errors);
        errors.check(check_description(&self.description));
        errors.check(check_price(self.price));
        if self.stock < 0 {
            errors.push(Rejection::invalid(Field::Stock, "stock must be 0 or more"));
        }
        errors.finish()
    }
}

/// What an admin changes of a product: each field given is replaced, the
/// others are kept.
#[derive(Debug, Clone, Default)]
pub struct ProductChanges {
    /// A new display name, under the rules of [`NewProduct::name`].
    pub name: Option<String>,
    /// A new description, under the rules of [`NewProduct::description`].
    pub description: Option<String>,
    /// A new unit price, under the rules of [`NewProduct::price`].
    pub price: Option<i64>,
}

impl ProductChanges {
    /// Checks every given field with the rules of [`NewProduct::validate`]
    /// (the same functions), reporting all failures at once.
    pub fn validate(&self) -> AppResult<()> {
        let mut errors = Rejections::new();
        if let Some(name) = &self.name {
            super::check_name(name, &mut errors);
        }
        if let Some(description) = &self.description {
            errors.check(check_description(description));
        }
        if let Some(price) = self.price {
            errors.check(check_price(price));
        }
        errors.finish()
    }
}

/// The rule for a unit price, at `input.price`: [`MIN_PRICE`] to [`MAX_PRICE`].
fn check_price(price: i64) -> Result<(), Rejection> {
    if (MIN_PRICE..=MAX_PRICE).contains(&price) {
        return Ok(());
    }
    Err(Rejection::invalid(
        Field::Price,
        format!("price must be {MIN_PRICE} to {MAX_PRICE}"),
    ))
}

/// The rule for a description, at `input.description`: at most
/// [`MAX_DESCRIPTION_LEN`] characters once trimmed, and no control
/// character but line breaks and tabs (PostgreSQL's text cannot hold NUL
/// at all).
fn check_description(description: &str) -> Result<(), Rejection> {
    let description = description.trim();
    if description.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(Rejection::invalid(
            Field::Description,
            format!("description must be at most {MAX_DESCRIPTION_LEN} characters"),
        ));
    }
    if description
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Rejection::invalid(
            Field::Description,
            "description must not hold control characters other than line breaks and tabs",
        ));
    }
    Ok(())
}

/// The rejection of an input that names no product.
pub fn not_found(field: Field) -> Rejection {
    Rejection::new(ErrorCode::ProductNotFound, "no such product").at(field)
}

/// Inserts a validated product.
pub async fn insert(conn: &mut PgConnection, new: &NewProduct) -> AppResult<ProductRecord> {
    Ok(sqlx::query_as!(
        ProductRecord,
        "INSERT INTO products (name, description, price, stock) VALUES ($1, $2, $3, $4)
         RETURNING id, name, description, price, stock, held_stock, created_at, archived_at",
        new.name.trim(),
        new.description.trim(),
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
        r#"SELECT array_agg(id) AS "id?", array_agg(name) AS "name?",
                  array_agg(description) AS "description?", array_agg(price) AS "price?",
                  array_agg(stock) AS "stock?", array_agg(held_stock) AS "held_stock?",
                  array_agg(created_at) AS "created_at?",
                  array_agg(archived_at) AS "archived_at?: Vec<Option<DateTime<Utc>>>"
           FROM products WHERE id = ANY($1)"#,
        ids,
    )
    .fetch_one(db)
    .await?;
    let (id, name, description, price, stock, held_stock, created_at, archived_at) = (
        columns.id,
        columns.name,
        columns.description,
        columns.price,
        columns.stock,
        columns.held_stock,
        columns.created_at,
        columns.archived_at,
    );
    Ok(zip_columns!(ProductRecord {
        id,
        name,
        description,
        price,
        stock,
        held_stock,
        created_at,
        archived_at
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

/// The product `id`, or `PRODUCT_NOT_FOUND` of `field`.
pub async fn get(conn: &mut PgConnection, id: i64, field: Field) -> AppResult<ProductRecord> {
    let found = by_ids(conn, &[id]).await?.pop();
    Ok(found.ok_or_else(|| not_found(field))?)
}

/// Applies validated `changes` to product `id` (archived or not: an admin
/// may still correct what its orders show), or `PRODUCT_NOT_FOUND`.
pub async fn update(
    conn: &mut PgConnection,
    id: i64,
    changes: &ProductChanges,
) -> AppResult<ProductRecord> {
    let updated = sqlx::query_as!(
        ProductRecord,
        "UPDATE products
         SET name = COALESCE($2, name), description = COALESCE($3, description),
             price = COALESCE($4, price)
         WHERE id = $1
         RETURNING id, name, description, price, stock, held_stock, created_at, archived_at",
        id,
        changes.name.as_deref().map(str::trim),
        changes.description.as_deref().map(str::trim),
        changes.price,
    )
    .fetch_optional(conn)
    .await?;
    Ok(updated.ok_or_else(|| not_found(Field::Product))?)
}

/// Archives product `id` once: archiving an archived product changes
/// nothing and returns it as it is (with its first `archived_at`), so a
/// retried request succeeds. `PRODUCT_NOT_FOUND` when there is none.
pub async fn archive(conn: &mut PgConnection, id: i64) -> AppResult<ProductRecord> {
    let archived = sqlx::query_as!(
        ProductRecord,
        "UPDATE products SET archived_at = now()
         WHERE id = $1 AND archived_at IS NULL
         RETURNING id, name, description, price, stock, held_stock, created_at, archived_at",
        id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    match archived {
        Some(product) => Ok(product),
        None => get(conn, id, Field::Product).await,
    }
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

    fn new(name: &str, description: &str, price: i64, stock: i32) -> NewProduct {
        NewProduct {
            name: name.into(),
            description: description.into(),
            price,
            stock,
        }
    }

    fn fields(result: AppResult<()>) -> Vec<Option<Field>> {
        let Err(AppError::Rejected(errors)) = result else {
            panic!("accepted")
        };
        errors.iter().map(|e| e.field).collect()
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        assert_eq!(
            fields(new("  ", "x\0", -1, -5).validate()),
            [
                Some(Field::Name),
                Some(Field::Description),
                Some(Field::Price),
                Some(Field::Stock)
            ]
        );
        assert!(new("Tea", "", 1, 0).validate().is_ok());
        assert!(
            new("Tea", "Green.\n\tLoose leaf.", MAX_PRICE, 0)
                .validate()
                .is_ok()
        );
        assert!(new("x".repeat(201).as_str(), "", 1, 1).validate().is_err());
        assert!(new("x", "", 0, 1).validate().is_err(), "a price of 0");
        assert!(new("x", "", MAX_PRICE + 1, 1).validate().is_err());
        let long = "d".repeat(MAX_DESCRIPTION_LEN + 1);
        assert!(new("x", &long, 1, 1).validate().is_err());
    }

    #[test]
    fn changes_follow_the_rules_of_creation() {
        assert!(ProductChanges::default().validate().is_ok());
        let bad = ProductChanges {
            name: Some(" ".into()),
            description: Some("\u{7}".into()),
            price: Some(0),
        };
        assert_eq!(
            fields(bad.validate()),
            [
                Some(Field::Name),
                Some(Field::Description),
                Some(Field::Price)
            ]
        );
        let over = ProductChanges {
            price: Some(MAX_PRICE + 1),
            ..Default::default()
        };
        assert_eq!(fields(over.validate()), [Some(Field::Price)]);
    }

    #[test]
    fn archived_products_cannot_be_ordered() {
        let mut product = ProductRecord {
            id: 1,
            name: "Mug".into(),
            description: String::new(),
            price: 100,
            stock: 1,
            held_stock: 0,
            created_at: Utc::now(),
            archived_at: None,
        };
        assert!(orderable(Some(&product), Field::Product).is_ok());
        product.archived_at = Some(Utc::now());
        let refused = orderable(Some(&product), Field::Product).unwrap_err();
        assert_eq!(refused.code, ErrorCode::ProductNotFound);
        assert_eq!(
            orderable(None, Field::Order).unwrap_err().field,
            Some(Field::Order)
        );
    }
}
