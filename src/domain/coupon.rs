//! Coupon campaigns: limited quantity, first come, first served.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::error::AppResult;

/// How a coupon's `discount_value` is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscountType {
    /// An amount of money taken off the order total.
    FixedAmount,
    /// A percentage (1 to 100) of the order total, rounded down.
    Percentage,
}

impl DiscountType {
    /// The value stored in `coupons.discount_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FixedAmount => "FIXED_AMOUNT",
            Self::Percentage => "PERCENTAGE",
        }
    }
}

/// What an admin provides to start a campaign.
#[derive(Debug, Clone)]
pub struct NewCoupon {
    /// Display name.
    pub name: String,
    /// How the discount is computed.
    pub discount_type: DiscountType,
    /// The amount or the percentage.
    pub discount_value: i32,
    /// How many coupons the campaign issues at most.
    pub total_quantity: i32,
    /// When the coupon starts being issuable (now when absent).
    pub valid_from: Option<DateTime<Utc>>,
    /// When it stops being issuable and usable (never when absent).
    pub valid_until: Option<DateTime<Utc>>,
}

/// Inserts a campaign; returns its id.
pub async fn insert(conn: &mut PgConnection, new: &NewCoupon) -> AppResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO coupons (name, discount_type, discount_value, total_quantity, valid_from, valid_until)
         VALUES ($1, $2, $3, $4, COALESCE($5, now()), $6)
         RETURNING id",
    )
    .bind(&new.name)
    .bind(new.discount_type.as_str())
    .bind(new.discount_value)
    .bind(new.total_quantity)
    .bind(new.valid_from)
    .bind(new.valid_until)
    .fetch_one(conn)
    .await?)
}
