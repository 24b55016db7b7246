//! `Coupon` (a campaign) and `UserCoupon` (one issued to a user).

use async_graphql::{Context, Enum, ID, Object};
use chrono::Utc;

use super::load_required;
use super::order::Order;
use crate::domain::coupon::CouponRecord;
use crate::domain::user_coupon::UserCouponRecord;
use crate::global_id::types;
use crate::graphql::connection::connection;
use crate::graphql::context::loaders;
use crate::graphql::ids;
use crate::graphql::scalars::DateTime;

/// How a coupon's discountValue is read.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::coupon::DiscountType")]
pub enum DiscountType {
    /// discountValue is an amount of money taken off the order total.
    FixedAmount,
    /// discountValue is a percentage (1-100) of the order total, rounded down.
    Percentage,
}

/// Where an issued coupon stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::user_coupon::UserCouponStatus")]
pub enum UserCouponStatus {
    /// Unused and inside its campaign's window: it can pay for an order.
    Available,
    /// It paid for an order.
    Used,
    /// Its campaign's window closed before it was used.
    Expired,
}

/// A limited-quantity coupon campaign: first come, first served, one per user.
#[derive(Debug, Clone)]
pub struct Coupon(pub CouponRecord);

connection!(Coupon, CouponConnection, CouponEdge);

/// A limited-quantity coupon campaign: first come, first served, one per user.
#[Object]
impl Coupon {
    /// The campaign's global id.
    pub async fn id(&self) -> ID {
        ids::encode(types::COUPON, self.0.id)
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// How discountValue is read.
    async fn discount_type(&self) -> DiscountType {
        self.0.discount_type.into()
    }

    /// The amount of money, or the percentage, taken off an order.
    async fn discount_value(&self) -> i32 {
        self.0.discount_value
    }

    /// How many coupons the campaign issues at most.
    async fn total_quantity(&self) -> i32 {
        self.0.total_quantity
    }

    /// How many have been issued.
    async fn issued_quantity(&self) -> i32 {
        self.0.issued_quantity
    }

    /// How many are left to issue.
    async fn remaining_quantity(&self) -> i32 {
        self.0.remaining()
    }

    /// Issuable and usable from.
    async fn valid_from(&self) -> DateTime {
        self.0.valid_from.into()
    }

    /// Issuable and usable until (exclusive); never ends when null.
    async fn valid_until(&self) -> Option<DateTime> {
        self.0.valid_until.map(DateTime)
    }
}

/// A coupon issued to one user.
#[derive(Debug, Clone)]
pub struct UserCoupon(pub UserCouponRecord);

connection!(UserCoupon, UserCouponConnection, UserCouponEdge);

/// A coupon issued to one user: it takes its campaign's discount off one
/// order. Visible to its holder and to admins.
#[Object]
impl UserCoupon {
    /// The issued coupon's global id (pass it to payOrder as userCouponId).
    pub async fn id(&self) -> ID {
        ids::encode(types::USER_COUPON, self.0.id)
    }

    /// The campaign.
    async fn coupon(&self, ctx: &Context<'_>) -> async_graphql::Result<Coupon> {
        load_required(ctx, |l| &l.coupons, "coupon", self.0.coupon_id)
            .await
            .map(Coupon)
    }

    /// Where it stands now.
    async fn status(&self) -> UserCouponStatus {
        self.0.status(Utc::now()).into()
    }

    /// When it was issued.
    async fn issued_at(&self) -> DateTime {
        self.0.issued_at.into()
    }

    /// When it paid for an order.
    async fn used_at(&self) -> Option<DateTime> {
        self.0.used_at.map(DateTime)
    }

    /// The order it paid for, once used.
    async fn order(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Order>> {
        let Some(order_id) = self.0.order_id else {
            return Ok(None);
        };
        let order = loaders(ctx)?.orders.load_one(order_id).await?;
        Ok(order.map(Order))
    }
}
