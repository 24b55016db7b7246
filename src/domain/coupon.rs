//! Coupon campaigns (limited quantity, first come, first served) and the
//! coupons issued to users: their status, their discount, and their use.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, PgExecutor, Row};

use crate::error::{AppResult, ErrorCode, Rejection};

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

    fn decode(row: &PgRow) -> Result<Self, sqlx::Error> {
        match row.try_get::<&str, _>("discount_type")? {
            "FIXED_AMOUNT" => Ok(Self::FixedAmount),
            "PERCENTAGE" => Ok(Self::Percentage),
            other => Err(sqlx::Error::Decode(
                format!("unknown discount_type {other:?}").into(),
            )),
        }
    }
}

/// What a coupon takes off `total`: a fixed amount (at most the total), or a
/// percentage rounded down. Never more than the total, never negative, so
/// the payable amount never goes below zero.
pub fn discount(discount_type: DiscountType, value: i32, total: i64) -> i64 {
    let value = i64::from(value.max(0));
    let off = match discount_type {
        DiscountType::FixedAmount => value,
        // i128: total × 100 must not overflow for the largest totals; the
        // quotient is at most `total`, so it fits back into an i64.
        DiscountType::Percentage => (i128::from(total) * i128::from(value.min(100)) / 100) as i64,
    };
    off.clamp(0, total.max(0))
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

/// A row of `coupons`: one campaign.
#[derive(Debug, Clone)]
pub struct CouponRecord {
    /// Database id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// How the discount is computed.
    pub discount_type: DiscountType,
    /// The amount or the percentage.
    pub discount_value: i32,
    /// How many coupons the campaign issues at most.
    pub total_quantity: i32,
    /// How many have been issued.
    pub issued_quantity: i32,
    /// Issuable and usable from.
    pub valid_from: DateTime<Utc>,
    /// Issuable and usable until (exclusive), if ever.
    pub valid_until: Option<DateTime<Utc>>,
}

impl FromRow<'_, PgRow> for CouponRecord {
    fn from_row(row: &PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            discount_type: DiscountType::decode(row)?,
            discount_value: row.try_get("discount_value")?,
            total_quantity: row.try_get("total_quantity")?,
            issued_quantity: row.try_get("issued_quantity")?,
            valid_from: row.try_get("valid_from")?,
            valid_until: row.try_get("valid_until")?,
        })
    }
}

/// The validity window: from `from` (inclusive) until `until` (exclusive).
fn within(now: DateTime<Utc>, from: DateTime<Utc>, until: Option<DateTime<Utc>>) -> bool {
    now >= from && until.is_none_or(|u| now < u)
}

impl CouponRecord {
    /// Whether `now` lies inside the validity window.
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        within(now, self.valid_from, self.valid_until)
    }

    /// Coupons still to be issued.
    pub fn remaining(&self) -> i32 {
        (self.total_quantity - self.issued_quantity).max(0)
    }
}

/// Campaigns by id.
pub async fn by_ids<'c>(db: impl PgExecutor<'c>, ids: &[i64]) -> AppResult<Vec<CouponRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, name, discount_type, discount_value, total_quantity, issued_quantity,
                valid_from, valid_until
         FROM coupons WHERE id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(db)
    .await?)
}

/// Where an issued coupon stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserCouponStatus {
    /// Can pay for an order.
    Available,
    /// Paid for an order.
    Used,
    /// Its campaign's window closed before it was used.
    Expired,
}

/// A row of `user_coupons`, with the terms of its campaign.
#[derive(Debug, Clone)]
pub struct UserCouponRecord {
    /// Database id.
    pub id: i64,
    /// The holder.
    pub user_id: i64,
    /// The campaign.
    pub coupon_id: i64,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it paid for an order.
    pub used_at: Option<DateTime<Utc>>,
    /// The order it paid for.
    pub order_id: Option<i64>,
    /// The campaign's discount.
    pub discount_type: DiscountType,
    /// The campaign's amount or percentage.
    pub discount_value: i32,
    /// The campaign's validity start.
    pub valid_from: DateTime<Utc>,
    /// The campaign's validity end (exclusive).
    pub valid_until: Option<DateTime<Utc>>,
}

impl FromRow<'_, PgRow> for UserCouponRecord {
    fn from_row(row: &PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            coupon_id: row.try_get("coupon_id")?,
            issued_at: row.try_get("issued_at")?,
            used_at: row.try_get("used_at")?,
            order_id: row.try_get("order_id")?,
            discount_type: DiscountType::decode(row)?,
            discount_value: row.try_get("discount_value")?,
            valid_from: row.try_get("valid_from")?,
            valid_until: row.try_get("valid_until")?,
        })
    }
}

impl UserCouponRecord {
    /// The status at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> UserCouponStatus {
        if self.used_at.is_some() {
            UserCouponStatus::Used
        } else if self.valid_until.is_some_and(|u| now >= u) {
            UserCouponStatus::Expired
        } else {
            UserCouponStatus::Available
        }
    }

    /// The rule for paying with this coupon: it must be `user_id`'s
    /// (`COUPON_NOT_FOUND` otherwise, as if it did not exist), unused, and
    /// inside its campaign's window (`COUPON_NOT_USABLE`).
    pub fn check_usable(&self, user_id: i64, now: DateTime<Utc>) -> Result<(), Rejection> {
        if self.user_id != user_id {
            return Err(not_found());
        }
        let why = match self.status(now) {
            UserCouponStatus::Used => "the coupon is already used",
            UserCouponStatus::Expired => "the coupon has expired",
            UserCouponStatus::Available if !within(now, self.valid_from, self.valid_until) => {
                "the coupon is not valid yet"
            }
            UserCouponStatus::Available => return Ok(()),
        };
        Err(Rejection::new(ErrorCode::CouponNotUsable, why).at(PAY_WITH_PATH))
    }

    /// What this coupon takes off an order of `total`.
    pub fn discount_on(&self, total: i64) -> i64 {
        discount(self.discount_type, self.discount_value, total)
    }
}

/// The input that names the coupon to pay with.
const PAY_WITH_PATH: [&str; 2] = ["input", "userCouponId"];

/// The rejection of an issued coupon that does not exist or is not the caller's.
pub fn not_found() -> Rejection {
    Rejection::new(ErrorCode::CouponNotFound, "no such coupon of yours").at(PAY_WITH_PATH)
}

/// The columns of a [`UserCouponRecord`], from `user_coupons uc JOIN coupons c`.
macro_rules! user_coupon_select {
    () => {
        "SELECT uc.id, uc.user_id, uc.coupon_id, uc.issued_at, uc.used_at, uc.order_id,
                c.discount_type, c.discount_value, c.valid_from, c.valid_until
         FROM user_coupons uc JOIN coupons c ON c.id = uc.coupon_id"
    };
}

/// Issued coupons by id.
pub async fn user_coupons_by_ids<'c>(
    db: impl PgExecutor<'c>,
    ids: &[i64],
) -> AppResult<Vec<UserCouponRecord>> {
    Ok(
        sqlx::query_as(concat!(user_coupon_select!(), " WHERE uc.id = ANY($1)"))
            .bind(ids)
            .fetch_all(db)
            .await?,
    )
}

/// The coupons that paid for these orders.
pub async fn user_coupons_of_orders<'c>(
    db: impl PgExecutor<'c>,
    order_ids: &[i64],
) -> AppResult<Vec<UserCouponRecord>> {
    Ok(sqlx::query_as(concat!(
        user_coupon_select!(),
        " WHERE uc.order_id = ANY($1)"
    ))
    .bind(order_ids)
    .fetch_all(db)
    .await?)
}

/// Marks issued coupons as used by orders: `uses` holds (user coupon, order)
/// pairs that the caller checked in this transaction. A coupon that turns
/// out used already means the check and the data disagree: a bug, which
/// fails the whole transaction.
pub async fn mark_used(conn: &mut PgConnection, uses: &[(i64, i64)]) -> AppResult<()> {
    if uses.is_empty() {
        return Ok(());
    }
    let (ids, orders): (Vec<i64>, Vec<i64>) = uses.iter().copied().unzip();
    let updated = sqlx::query(
        "UPDATE user_coupons uc SET used_at = now(), order_id = u.order_id
         FROM unnest($1::BIGINT[], $2::BIGINT[]) AS u(id, order_id)
         WHERE uc.id = u.id AND uc.used_at IS NULL",
    )
    .bind(&ids)
    .bind(&orders)
    .execute(conn)
    .await?
    .rows_affected();
    super::ensure_written("used coupons", updated as usize, uses.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn discounts_never_exceed_the_total() {
        assert_eq!(discount(DiscountType::FixedAmount, 3_000, 10_000), 3_000);
        assert_eq!(discount(DiscountType::FixedAmount, 30_000, 10_000), 10_000);
        assert_eq!(
            discount(DiscountType::Percentage, 10, 12_345),
            1_234,
            "rounded down"
        );
        assert_eq!(discount(DiscountType::Percentage, 100, 12_345), 12_345);
        assert_eq!(
            discount(DiscountType::Percentage, 50, i64::MAX),
            i64::MAX / 2
        );
        assert_eq!(discount(DiscountType::FixedAmount, 5, 0), 0);
    }

    fn issued(user_id: i64, used: bool, from: i64, until: Option<i64>) -> UserCouponRecord {
        let now = Utc::now();
        UserCouponRecord {
            id: 1,
            user_id,
            coupon_id: 1,
            issued_at: now,
            used_at: used.then_some(now),
            order_id: used.then_some(9),
            discount_type: DiscountType::FixedAmount,
            discount_value: 100,
            valid_from: now + Duration::hours(from),
            valid_until: until.map(|h| now + Duration::hours(h)),
        }
    }

    #[test]
    fn only_the_holders_unused_coupon_inside_its_window_is_usable() {
        let now = Utc::now();
        let code = |c: &UserCouponRecord| c.check_usable(7, now).map_err(|r| r.code);
        assert_eq!(code(&issued(7, false, -1, None)), Ok(()));
        assert_eq!(code(&issued(7, false, -1, Some(1))), Ok(()));
        assert_eq!(
            code(&issued(8, false, -1, None)),
            Err(ErrorCode::CouponNotFound)
        );
        assert_eq!(
            code(&issued(7, true, -1, None)),
            Err(ErrorCode::CouponNotUsable)
        );
        assert_eq!(
            code(&issued(7, false, -2, Some(-1))),
            Err(ErrorCode::CouponNotUsable)
        );
        assert_eq!(
            code(&issued(7, false, 1, None)),
            Err(ErrorCode::CouponNotUsable)
        );
        assert_eq!(
            issued(7, false, -2, Some(-1)).status(now),
            UserCouponStatus::Expired
        );
        assert_eq!(
            issued(7, true, -2, Some(-1)).status(now),
            UserCouponStatus::Used
        );
    }
}
