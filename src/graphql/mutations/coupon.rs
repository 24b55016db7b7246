//! `createCoupon` and `issueCoupon`.

use crate::error::Field;
use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::coupon::NewCoupon;
use crate::facades::coupon;
use crate::global_id::types;
use crate::graphql::context::{caller, services};
use crate::graphql::errors::respond;
use crate::graphql::ids;
use crate::graphql::scalars::DateTime;
use crate::graphql::types::coupon::{Coupon, DiscountType, UserCoupon};

/// A new coupon campaign.
#[derive(InputObject)]
pub struct CreateCouponInput {
    /// Display name, 1 to 200 characters.
    pub name: String,
    /// How discountValue is read.
    pub discount_type: DiscountType,
    /// An amount of money (1 or more) or a percentage (1 to 100).
    pub discount_value: i32,
    /// How many coupons the campaign issues at most: 1 to 10000000.
    pub total_quantity: i32,
    /// When coupons become issuable and usable; now when absent.
    pub valid_from: Option<DateTime>,
    /// When they stop being issuable and usable (exclusive); after validFrom, in the future; never when absent.
    pub valid_until: Option<DateTime>,
}

/// The campaign to take a coupon of.
#[derive(InputObject)]
pub struct IssueCouponInput {
    /// A campaign's id.
    pub coupon_id: ID,
}

payload!(
    /// The campaign a createCoupon started.
    CouponPayload {
        /// The new campaign.
        coupon: Coupon,
    }
);

payload!(
    /// The coupon an issueCoupon issued.
    IssueCouponPayload {
        /// The caller's new coupon.
        user_coupon: UserCoupon,
    }
);

/// Coupon mutations.
#[derive(Default)]
pub struct CouponMutation;

#[Object]
impl CouponMutation {
    /// Issues one coupon of a limited-quantity campaign to the caller: first come, first served, one per user, never more than totalQuantity.
    async fn issue_coupon(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign to take a coupon of.")] input: IssueCouponInput,
    ) -> async_graphql::Result<IssueCouponPayload> {
        let services = services(ctx)?;
        let caller = caller(ctx)?;
        let result = async {
            let id = ids::decode_input(types::COUPON, &input.coupon_id, Field::Coupon)?;
            coupon::issue_coupon(services, caller, id).await
        }
        .await;
        respond(result, |c| IssueCouponPayload {
            user_coupon: Some(UserCoupon(c)),
            ..Default::default()
        })
    }

    /// Admin only: starts a coupon campaign.
    async fn create_coupon(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign: its discount, quantity and window.")]
        input: CreateCouponInput,
    ) -> async_graphql::Result<CouponPayload> {
        let services = services(ctx)?;
        let caller = caller(ctx)?;
        let new = NewCoupon {
            name: input.name,
            discount_type: input.discount_type.into(),
            discount_value: input.discount_value,
            total_quantity: input.total_quantity,
            valid_from: input.valid_from.map(|t| t.0),
            valid_until: input.valid_until.map(|t| t.0),
        };
        respond(coupon::create_coupon(services, caller, new).await, |c| {
            CouponPayload {
                coupon: Some(Coupon(c)),
                ..Default::default()
            }
        })
    }
}
