//! Coupon campaigns: a discount, a limited quantity issued first come, first
//! served, and a validity window. The coupons issued to users are in
//! [`super::user_coupon`]; the issuing rules in [`super::issuance`].

use chrono::{DateTime, Utc};
use sqlx::error::BoxDynError;
use sqlx::postgres::PgValueRef;
use sqlx::{PgConnection, PgExecutor, Postgres};

use super::page::{Page, PageRequest, fetch_page};
use crate::error::{AppResult, Field, Rejection, Rejections};

/// The most coupons a campaign may issue.
pub const MAX_TOTAL_QUANTITY: i32 = 10_000_000;

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

/// Read from `coupons.discount_type` (TEXT, with a type override in the
/// statements: `discount_type AS "discount_type: DiscountType"`); any other
/// value is a decoding error.
impl<'r> sqlx::Decode<'r, Postgres> for DiscountType {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        match <&str as sqlx::Decode<Postgres>>::decode(value)? {
            "FIXED_AMOUNT" => Ok(Self::FixedAmount),
            "PERCENTAGE" => Ok(Self::Percentage),
            other => Err(format!("unknown discount_type {other:?}").into()),
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

/// The validity window: from `from` (inclusive) until `until` (exclusive).
pub(crate) fn within(
    now: DateTime<Utc>,
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> bool {
    now >= from && until.is_none_or(|u| now < u)
}

/// What an admin provides to start a campaign.
#[derive(Debug, Clone)]
pub struct NewCoupon {
    /// Display name (trimmed, 1 to [`super::MAX_NAME_LEN`] characters).
    pub name: String,
    /// How the discount is computed.
    pub discount_type: DiscountType,
    /// The amount (1 or more) or the percentage (1 to 100).
    pub discount_value: i32,
    /// How many coupons the campaign issues at most (1 to [`MAX_TOTAL_QUANTITY`]).
    pub total_quantity: i32,
    /// When the coupon starts being issuable (now when absent).
    pub valid_from: Option<DateTime<Utc>>,
    /// When it stops being issuable and usable (never when absent); after
    /// `valid_from`, and in the future.
    pub valid_until: Option<DateTime<Utc>>,
}

impl NewCoupon {
    /// Checks every field at `now`, reporting all failures at once.
    pub fn validate(&self, now: DateTime<Utc>) -> AppResult<()> {
        let mut errors = Rejections::new();
        super::check_name(&self.name, &mut errors);
        let (min, max) = match self.discount_type {
            DiscountType::FixedAmount => (1, i32::MAX),
            DiscountType::Percentage => (1, 100),
        };
        if !(min..=max).contains(&self.discount_value) {
            errors.push(Rejection::invalid(
                Field::DiscountValue,
                format!(
                    "a {} discount is {min} to {max}",
                    self.discount_type.as_str()
                ),
            ));
        }
        if !(1..=MAX_TOTAL_QUANTITY).contains(&self.total_quantity) {
            errors.push(Rejection::invalid(
                Field::TotalQuantity,
                format!("totalQuantity must be 1 to {MAX_TOTAL_QUANTITY}"),
            ));
        }
        if let Some(until) = self.valid_until {
            let from = self.valid_from.unwrap_or(now);
            if until <= from {
                errors.push(Rejection::invalid(
                    Field::ValidUntil,
                    "validUntil must come after validFrom",
                ));
            } else if until <= now {
                errors.push(Rejection::invalid(
                    Field::ValidUntil,
                    "validUntil must be in the future",
                ));
            }
        }
        errors.finish()
    }
}

/// A row of `coupons`: one campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Inserts a validated campaign.
pub async fn insert(conn: &mut PgConnection, new: &NewCoupon) -> AppResult<CouponRecord> {
    Ok(sqlx::query_as!(
        CouponRecord,
        r#"INSERT INTO coupons (name, discount_type, discount_value, total_quantity, valid_from, valid_until)
           VALUES ($1, $2, $3, $4, COALESCE($5, now()), $6)
           RETURNING id, name, discount_type AS "discount_type: DiscountType", discount_value,
                     total_quantity, issued_quantity, valid_from, valid_until"#,
        new.name.trim(),
        new.discount_type.as_str(),
        new.discount_value,
        new.total_quantity,
        new.valid_from,
        new.valid_until,
    )
    .fetch_one(conn)
    .await?)
}

/// Campaigns by id, from the pool or inside a transaction.
pub async fn by_ids<'c>(db: impl PgExecutor<'c>, ids: &[i64]) -> AppResult<Vec<CouponRecord>> {
    Ok(sqlx::query_as!(
        CouponRecord,
        r#"SELECT id, name, discount_type AS "discount_type: DiscountType", discount_value,
                  total_quantity, issued_quantity, valid_from, valid_until
           FROM coupons WHERE id = ANY($1)"#,
        ids,
    )
    .fetch_all(db)
    .await?)
}

/// One page of the campaigns, newest first; only the issuable ones when
/// `available_only`: inside their window, with coupons left (the rules of
/// [`CouponRecord::is_valid_at`] and [`CouponRecord::remaining`], which
/// [`count`] states alike).
pub async fn page<'c>(
    db: impl PgExecutor<'c>,
    available_only: bool,
    req: &PageRequest,
) -> AppResult<Page<CouponRecord>> {
    let rows = fetch_page!(
        db,
        req,
        CouponRecord,
        r#"SELECT id, name, discount_type AS "discount_type: DiscountType", discount_value,
                  total_quantity, issued_quantity, valid_from, valid_until
           FROM coupons
           WHERE ($1 = FALSE OR (valid_from <= now()
                                 AND (valid_until IS NULL OR valid_until > now())
                                 AND issued_quantity < total_quantity))
             AND id < coalesce($2::BIGINT, 9223372036854775807) AND id > coalesce($3::BIGINT, 0)
           ORDER BY id"#,
        "LIMIT $4",
        available_only,
        req.after,
        req.before,
        req.fetch_limit(),
    )?;
    Ok(req.finish(rows))
}

/// How many campaigns there are (the issuable ones when `available_only`).
pub async fn count<'c>(db: impl PgExecutor<'c>, available_only: bool) -> AppResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM coupons
           WHERE ($1 = FALSE OR (valid_from <= now()
                                 AND (valid_until IS NULL OR valid_until > now())
                                 AND issued_quantity < total_quantity))"#,
        available_only,
    )
    .fetch_one(db)
    .await?)
}

/// Adds issued coupons to campaigns: `issued` holds (campaign, how many),
/// each campaign once. The guard keeps `issued_quantity` within
/// `total_quantity` (as does the CHECK); the caller has checked the room in
/// this transaction, so a skipped campaign is a bug and fails the whole
/// transaction. This is the campaign's hot row, so it is the transaction's
/// last statement: the row stays locked for as short a time as it can.
pub async fn add_issued(conn: &mut PgConnection, issued: &[(i64, i32)]) -> AppResult<()> {
    if issued.is_empty() {
        return Ok(());
    }
    let (ids, counts): (Vec<i64>, Vec<i32>) = issued.iter().copied().unzip();
    let updated = sqlx::query!(
        "UPDATE coupons c SET issued_quantity = c.issued_quantity + i.count
         FROM unnest($1::BIGINT[], $2::INT[]) AS i(id, count)
         WHERE c.id = i.id AND c.issued_quantity + i.count <= c.total_quantity",
        &ids,
        &counts,
    )
    .execute(conn)
    .await?
    .rows_affected();
    super::ensure_written("issued counts", updated as usize, issued.len())
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

    fn campaign() -> NewCoupon {
        NewCoupon {
            name: "Spring".into(),
            discount_type: DiscountType::Percentage,
            discount_value: 10,
            total_quantity: 100,
            valid_from: None,
            valid_until: None,
        }
    }

    fn fields(new: NewCoupon, now: DateTime<Utc>) -> Vec<Option<Field>> {
        match new.validate(now) {
            Ok(()) => vec![],
            Err(crate::error::AppError::Rejected(r)) => r.into_iter().map(|r| r.field).collect(),
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn campaigns_are_checked_field_by_field() {
        let now = Utc::now();
        assert!(fields(campaign(), now).is_empty());
        let bad = NewCoupon {
            name: " ".into(),
            discount_value: 101,
            total_quantity: 0,
            valid_from: Some(now + Duration::days(2)),
            valid_until: Some(now + Duration::days(1)),
            ..campaign()
        };
        assert_eq!(
            fields(bad, now),
            [
                Some(Field::Name),
                Some(Field::DiscountValue),
                Some(Field::TotalQuantity),
                Some(Field::ValidUntil)
            ]
        );
        let fixed = |value| NewCoupon {
            discount_type: DiscountType::FixedAmount,
            discount_value: value,
            ..campaign()
        };
        assert!(fields(fixed(5_000), now).is_empty(), "any positive amount");
        assert_eq!(fields(fixed(0), now), [Some(Field::DiscountValue)]);
        let past = NewCoupon {
            valid_from: Some(now - Duration::days(2)),
            valid_until: Some(now - Duration::days(1)),
            ..campaign()
        };
        assert_eq!(fields(past, now), [Some(Field::ValidUntil)], "already over");
        let too_many = NewCoupon {
            total_quantity: MAX_TOTAL_QUANTITY + 1,
            ..campaign()
        };
        assert_eq!(fields(too_many, now), [Some(Field::TotalQuantity)]);
    }
}
