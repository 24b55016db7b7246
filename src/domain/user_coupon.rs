//! Coupons issued to users: one per user and campaign (UNIQUE), their
//! status, the rule for paying with one, and their use.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use super::coupon::{DiscountType, discount, within};
use super::page::{Page, PageRequest, fetch_page};
use crate::error::{AppResult, ErrorCode, Field, Rejection};

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

impl UserCouponStatus {
    /// The parameter of the statements that filter by status (NULL: all),
    /// which state the rule of [`UserCouponRecord::status`] in SQL.
    fn sql_name(self) -> &'static str {
        match self {
            Self::Available => "AVAILABLE",
            Self::Used => "USED",
            Self::Expired => "EXPIRED",
        }
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
        Err(Rejection::new(ErrorCode::CouponNotUsable, why).at(Field::UserCoupon))
    }

    /// What this coupon takes off an order of `total`.
    pub fn discount_on(&self, total: i64) -> i64 {
        discount(self.discount_type, self.discount_value, total)
    }
}

/// The rejection of an issued coupon that does not exist or is not the caller's.
pub fn not_found() -> Rejection {
    Rejection::new(ErrorCode::CouponNotFound, "no such coupon of yours").at(Field::UserCoupon)
}

/// Issued coupons by id.
pub async fn by_ids<'c>(db: impl PgExecutor<'c>, ids: &[i64]) -> AppResult<Vec<UserCouponRecord>> {
    Ok(sqlx::query_as!(
        UserCouponRecord,
        r#"SELECT uc.id, uc.user_id, uc.coupon_id, uc.issued_at, uc.used_at, uc.order_id,
                  c.discount_type AS "discount_type: DiscountType", c.discount_value,
                  c.valid_from, c.valid_until
           FROM user_coupons uc JOIN coupons c ON c.id = uc.coupon_id
           WHERE uc.id = ANY($1)"#,
        ids,
    )
    .fetch_all(db)
    .await?)
}

/// The coupons that paid for these orders.
pub async fn of_orders<'c>(
    db: impl PgExecutor<'c>,
    order_ids: &[i64],
) -> AppResult<Vec<UserCouponRecord>> {
    Ok(sqlx::query_as!(
        UserCouponRecord,
        r#"SELECT uc.id, uc.user_id, uc.coupon_id, uc.issued_at, uc.used_at, uc.order_id,
                  c.discount_type AS "discount_type: DiscountType", c.discount_value,
                  c.valid_from, c.valid_until
           FROM user_coupons uc JOIN coupons c ON c.id = uc.coupon_id
           WHERE uc.order_id = ANY($1)"#,
        order_ids,
    )
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
    let updated = sqlx::query!(
        "UPDATE user_coupons uc SET used_at = now(), order_id = u.order_id
         FROM unnest($1::BIGINT[], $2::BIGINT[]) AS u(id, order_id)
         WHERE uc.id = u.id AND uc.used_at IS NULL",
        &ids,
        &orders,
    )
    .execute(conn)
    .await?
    .rows_affected();
    super::ensure_written("used coupons", updated as usize, uses.len())
}

/// Releases the coupons that paid for refunded orders, if any: they are no
/// longer used, so their status follows their campaign's window again
/// (AVAILABLE while the window is open, EXPIRED once it has closed).
/// Returns how many were released (an order uses at most one).
pub async fn release(conn: &mut PgConnection, order_ids: &[i64]) -> AppResult<u64> {
    Ok(sqlx::query!(
        "UPDATE user_coupons SET used_at = NULL, order_id = NULL WHERE order_id = ANY($1)",
        order_ids,
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// Which of these (user, campaign) pairs already hold a coupon.
pub async fn holders(conn: &mut PgConnection, pairs: &[(i64, i64)]) -> AppResult<Vec<(i64, i64)>> {
    let (users, coupons): (Vec<i64>, Vec<i64>) = pairs.iter().copied().unzip();
    let held = sqlx::query!(
        "SELECT uc.user_id, uc.coupon_id FROM user_coupons uc
         JOIN unnest($1::BIGINT[], $2::BIGINT[]) AS p(user_id, coupon_id)
           ON uc.user_id = p.user_id AND uc.coupon_id = p.coupon_id",
        &users,
        &coupons,
    )
    .fetch_all(conn)
    .await?;
    Ok(held.into_iter().map(|h| (h.user_id, h.coupon_id)).collect())
}

/// Whether `user_id` holds a coupon of campaign `coupon_id`.
pub async fn holds<'c>(db: impl PgExecutor<'c>, user_id: i64, coupon_id: i64) -> AppResult<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM user_coupons WHERE user_id = $1 AND coupon_id = $2)
             AS "exists!""#,
        user_id,
        coupon_id,
    )
    .fetch_one(db)
    .await?)
}

/// The token subjects of the users who hold a coupon of `coupon_id`. Each
/// holder's subject is looked up by id, so the read grows with the holders
/// (as a join, the planner read every user).
pub async fn holder_subjects<'c>(
    db: impl PgExecutor<'c>,
    coupon_id: i64,
) -> AppResult<Vec<String>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT (SELECT u.subject FROM users u WHERE u.id = uc.user_id) AS "subject!"
           FROM user_coupons uc WHERE uc.coupon_id = $1"#,
        coupon_id,
    )
    .fetch_all(db)
    .await?)
}

/// Issues coupons: `grants` holds (user, campaign) pairs that the caller
/// checked in this transaction. The UNIQUE (user, campaign) constraint
/// refuses a second coupon whatever the checks said.
pub async fn issue(
    conn: &mut PgConnection,
    grants: &[(i64, i64)],
) -> AppResult<Vec<UserCouponRecord>> {
    if grants.is_empty() {
        return Ok(Vec::new());
    }
    let (users, coupons): (Vec<i64>, Vec<i64>) = grants.iter().copied().unzip();
    let issued = sqlx::query_as!(
        UserCouponRecord,
        r#"WITH uc AS (
            INSERT INTO user_coupons (user_id, coupon_id)
            SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[])
            RETURNING *
         )
         SELECT uc.id, uc.user_id, uc.coupon_id, uc.issued_at, uc.used_at, uc.order_id,
                c.discount_type AS "discount_type: DiscountType", c.discount_value,
                c.valid_from, c.valid_until
         FROM uc JOIN coupons c ON c.id = uc.coupon_id"#,
        &users,
        &coupons,
    )
    .fetch_all(conn)
    .await?;
    super::ensure_written("issued coupons", issued.len(), grants.len())?;
    Ok(issued)
}

/// One page of a user's coupons, newest first, optionally of one status.
pub async fn page_for_user<'c>(
    db: impl PgExecutor<'c>,
    user_id: i64,
    status: Option<UserCouponStatus>,
    req: &PageRequest,
) -> AppResult<Page<UserCouponRecord>> {
    let rows = fetch_page!(
        db,
        req,
        UserCouponRecord,
        r#"SELECT uc.id, uc.user_id, uc.coupon_id, uc.issued_at, uc.used_at, uc.order_id,
                  c.discount_type AS "discount_type: DiscountType", c.discount_value,
                  c.valid_from, c.valid_until
           FROM user_coupons uc JOIN coupons c ON c.id = uc.coupon_id
           WHERE uc.user_id = $1
             AND CASE $2::TEXT
                   WHEN 'USED' THEN uc.used_at IS NOT NULL
                   WHEN 'EXPIRED' THEN uc.used_at IS NULL AND c.valid_until <= now()
                   WHEN 'AVAILABLE' THEN uc.used_at IS NULL
                                     AND (c.valid_until IS NULL OR c.valid_until > now())
                   ELSE TRUE END
             AND uc.id < coalesce($3::BIGINT, 9223372036854775807) AND uc.id > coalesce($4::BIGINT, 0)
           ORDER BY uc.id"#,
        "LIMIT $5",
        user_id,
        status.map(UserCouponStatus::sql_name),
        req.after,
        req.before,
        req.fetch_limit(),
    )?;
    Ok(req.finish(rows))
}

/// How many coupons a user holds, optionally of one status.
pub async fn count_for_user<'c>(
    db: impl PgExecutor<'c>,
    user_id: i64,
    status: Option<UserCouponStatus>,
) -> AppResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!"
           FROM user_coupons uc JOIN coupons c ON c.id = uc.coupon_id
           WHERE uc.user_id = $1
             AND CASE $2::TEXT
                   WHEN 'USED' THEN uc.used_at IS NOT NULL
                   WHEN 'EXPIRED' THEN uc.used_at IS NULL AND c.valid_until <= now()
                   WHEN 'AVAILABLE' THEN uc.used_at IS NULL
                                     AND (c.valid_until IS NULL OR c.valid_until > now())
                   ELSE TRUE END"#,
        user_id,
        status.map(UserCouponStatus::sql_name),
    )
    .fetch_one(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

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
