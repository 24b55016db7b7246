//! The cart: one line per user and product (the primary key), quantities
//! from 1 to [`MAX_QUANTITY`], at most [`MAX_CART_LINES`] lines. Nothing in
//! a cart is reserved; paying for an order removes its products from it.

use sqlx::{PgConnection, PgExecutor};

use super::order::MAX_QUANTITY;
use super::product;
use crate::error::{AppError, AppResult, Field, Rejection};

/// The most distinct products a cart holds.
pub const MAX_CART_LINES: i64 = 100;

/// A cart line with the product's current price.
#[derive(Debug, Clone)]
pub struct CartLine {
    /// The product.
    pub product_id: i64,
    /// Units in the cart.
    pub quantity: i32,
    /// The product's price now.
    pub price: i64,
}

impl CartLine {
    /// quantity × current price (bounded, so it cannot overflow).
    pub fn line_total(&self) -> i64 {
        i64::from(self.quantity).saturating_mul(self.price)
    }
}

/// How a quantity changes a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Add this many units (creating the line if needed).
    Add(i32),
    /// Set the line to this many units; 0 removes it.
    Set(i32),
}

impl Change {
    /// Checks the quantity: 1 to [`MAX_QUANTITY`] to add, 0 to
    /// [`MAX_QUANTITY`] to set.
    pub fn validate(self) -> Result<(), Rejection> {
        let (quantity, min) = match self {
            Self::Add(q) => (q, 1),
            Self::Set(q) => (q, 0),
        };
        if (min..=MAX_QUANTITY).contains(&quantity) {
            return Ok(());
        }
        Err(Rejection::invalid(
            Field::Quantity,
            format!("quantity must be {min} to {MAX_QUANTITY}"),
        ))
    }
}

/// Applies `change` to the user's line of `product_id`. Units can only be
/// put in the cart of a product that exists and is not archived
/// (`PRODUCT_NOT_FOUND`); setting 0 removes the line, as
/// [`remove`] does, archived or not. A line holds at most [`MAX_QUANTITY`]
/// units and a cart at most [`MAX_CART_LINES`] products (`INVALID_INPUT`).
pub async fn change(
    conn: &mut PgConnection,
    user_id: i64,
    product_id: i64,
    change: Change,
) -> AppResult<()> {
    change.validate()?;
    let (quantity, add) = match change {
        Change::Set(0) => return remove(conn, user_id, product_id).await,
        Change::Set(q) => (q, false),
        Change::Add(q) => (q, true),
    };
    let found = product::by_ids(&mut *conn, &[product_id]).await?;
    product::orderable(found.first(), Field::Product)?;
    let others = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM cart_items WHERE user_id = $1 AND product_id <> $2"#,
        user_id,
        product_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    if others >= MAX_CART_LINES {
        return Err(Rejection::invalid(
            Field::Product,
            format!("a cart holds at most {MAX_CART_LINES} products"),
        )
        .into());
    }
    let stored = sqlx::query_scalar!(
        "INSERT INTO cart_items (user_id, product_id, quantity) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, product_id) DO UPDATE
         SET quantity = CASE WHEN $4 THEN cart_items.quantity + EXCLUDED.quantity
                             ELSE EXCLUDED.quantity END
         WHERE NOT $4 OR cart_items.quantity + EXCLUDED.quantity <= $5
         RETURNING quantity",
        user_id,
        product_id,
        quantity,
        add,
        MAX_QUANTITY,
    )
    .fetch_optional(conn)
    .await?;
    match stored {
        Some(_) => Ok(()),
        None => Err(AppError::reject(Rejection::invalid(
            Field::Quantity,
            format!("a cart line holds at most {MAX_QUANTITY} units"),
        ))),
    }
}

/// Removes a product from the user's cart; the product must exist
/// (`PRODUCT_NOT_FOUND`), and removing one that is not there does nothing.
pub async fn remove(conn: &mut PgConnection, user_id: i64, product_id: i64) -> AppResult<()> {
    if !product::exists(&mut *conn, product_id).await? {
        return Err(product::not_found(Field::Product).into());
    }
    sqlx::query!(
        "DELETE FROM cart_items WHERE user_id = $1 AND product_id = $2",
        user_id,
        product_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes paid products from their buyers' carts: `paid` holds (user,
/// product) pairs; lines that are not there are simply not removed.
pub async fn remove_paid(conn: &mut PgConnection, paid: &[(i64, i64)]) -> AppResult<()> {
    if paid.is_empty() {
        return Ok(());
    }
    let (users, products): (Vec<i64>, Vec<i64>) = paid.iter().copied().unzip();
    sqlx::query!(
        "DELETE FROM cart_items c USING unnest($1::BIGINT[], $2::BIGINT[]) AS p(user_id, product_id)
         WHERE c.user_id = p.user_id AND c.product_id = p.product_id",
        &users,
        &products,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The user's cart, oldest line first, with current prices.
pub async fn lines<'c>(db: impl PgExecutor<'c>, user_id: i64) -> AppResult<Vec<CartLine>> {
    Ok(sqlx::query_as!(
        CartLine,
        "SELECT c.product_id, c.quantity, p.price
         FROM cart_items c JOIN products p ON p.id = c.product_id
         WHERE c.user_id = $1 ORDER BY c.added_at, c.product_id",
        user_id,
    )
    .fetch_all(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_bounded() {
        assert!(Change::Add(1).validate().is_ok());
        assert!(Change::Add(MAX_QUANTITY).validate().is_ok());
        assert!(Change::Add(0).validate().is_err());
        assert!(Change::Add(MAX_QUANTITY + 1).validate().is_err());
        assert!(Change::Set(0).validate().is_ok(), "0 removes the line");
        assert!(Change::Set(-1).validate().is_err());
    }
}
