//! The demo catalog (and one coupon campaign) that a fresh database starts
//! with, so the playground has something to show.

use super::Services;
use crate::domain::coupon::{self, DiscountType, NewCoupon};
use crate::domain::product::{self, NewProduct};
use crate::error::AppResult;

const PRODUCTS: &[(&str, i64, i32)] = &[
    ("Hand-drip coffee set", 39_000, 120),
    ("Ceramic mug", 12_000, 300),
    ("Single-origin beans 200g", 18_500, 500),
    ("Limited-edition tumbler", 45_000, 50),
    ("Gift box", 60_000, 25),
];

/// Seeds the demo products and a coupon campaign into an empty catalog; does nothing otherwise.
/// Returns whether it seeded.
pub async fn seed_if_empty(services: &Services) -> AppResult<bool> {
    services
        .db
        .serializable("seedDemo", |tx| {
            Box::pin(async move {
                if !product::is_empty(tx).await? {
                    return Ok(false);
                }
                for (name, price, stock) in PRODUCTS {
                    let new = NewProduct {
                        name: (*name).into(),
                        description: String::new(),
                        price: *price,
                        stock: *stock,
                    };
                    product::insert(tx, &new).await?;
                }
                let campaign = NewCoupon {
                    name: "Welcome 10% off (first 100 customers)".into(),
                    discount_type: DiscountType::Percentage,
                    discount_value: 10,
                    total_quantity: 100,
                    valid_from: None,
                    valid_until: None,
                };
                coupon::insert(tx, &campaign).await?;
                Ok(true)
            })
        })
        .await
}
