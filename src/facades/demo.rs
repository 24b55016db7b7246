//! The demo catalog (and one coupon campaign) that a fresh database starts
//! with, so the playground has something to show, and the demo shoppers
//! the storefront acts as, each with a balance to pay with.

use super::Services;
use crate::domain::coupon::{self, DiscountType, NewCoupon};
use crate::domain::product::{self, NewProduct};
use crate::domain::{balance, user};
use crate::error::AppResult;

const PRODUCTS: &[(&str, i64, i32)] = &[
    ("Hand-drip coffee set", 39_000, 120),
    ("Ceramic mug", 12_000, 300),
    ("Single-origin beans 200g", 18_500, 500),
    ("Limited-edition tumbler", 45_000, 50),
    ("Gift box", 60_000, 25),
];

/// The storefront's demo shoppers (`http::storefront`): what its user
/// switch shows, and the token subject. Several, so that a rush for a
/// coupon can be tried in two windows.
pub const SHOPPERS: &[(&str, &str)] = &[
    ("Ada", "shopper-ada"),
    ("Ben", "shopper-ben"),
    ("Cy", "shopper-cy"),
];

/// What each demo shopper starts with: enough for a few of everything.
const SHOPPER_BALANCE: i64 = 1_000_000;

/// Seeds the demo products, a coupon campaign and the demo shoppers' balances into an empty catalog; does nothing otherwise.
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
                for (_, subject) in SHOPPERS {
                    let id = user::create(tx, subject).await?;
                    balance::charge(tx, id, SHOPPER_BALANCE).await?;
                }
                Ok(true)
            })
        })
        .await
}
