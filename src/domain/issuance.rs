//! Issuing coupons: the third use case, "user requests a limited-quantity coupon".
//! First come, first served, one per user, never more than the campaign's
//! total; decided in memory for a batch of requests, in arrival order, over
//! a snapshot read in the batch's SERIALIZABLE transaction.
//!
//! [`check`] is the rule, in the order its failures are reported; the
//! coupon facade also applies it, without a transaction, to campaigns it
//! knows to be sold out.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::coupon::{self, CouponRecord};
use super::user_coupon;
use crate::error::{AppResult, ErrorCode, Field, Rejection};

/// One `issueCoupon` request, its id already decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IssueRequest {
    /// The caller.
    pub user_id: i64,
    /// The campaign.
    pub coupon_id: i64,
}

/// The rule for issuing a coupon of `campaign` (`None`: no such campaign)
/// to a user who holds one already or not, at `now`:
///
/// 1. the campaign exists (`COUPON_NOT_FOUND`);
/// 2. it is inside its validity window (`COUPON_NOT_USABLE`);
/// 3. the user holds none of it (`COUPON_ALREADY_ISSUED`);
/// 4. coupons remain (`COUPON_OUT_OF_STOCK`).
pub fn check(
    campaign: Option<&CouponRecord>,
    already_holds: bool,
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    let reject = |code, message: &str| Err(Rejection::new(code, message).at(Field::Coupon));
    let Some(campaign) = campaign else {
        return reject(ErrorCode::CouponNotFound, "no such coupon campaign");
    };
    if !campaign.is_valid_at(now) {
        return reject(
            ErrorCode::CouponNotUsable,
            "the campaign has not started or has ended",
        );
    }
    if already_holds {
        return reject(
            ErrorCode::CouponAlreadyIssued,
            "you already hold a coupon of this campaign",
        );
    }
    if campaign.remaining() == 0 {
        return reject(ErrorCode::CouponOutOfStock, "every coupon has been issued");
    }
    Ok(())
}

/// The campaigns and holders that a batch of requests reads.
#[derive(Debug, Default)]
pub struct Snapshot {
    campaigns: HashMap<i64, CouponRecord>,
    holders: HashSet<(i64, i64)>,
}

impl Snapshot {
    /// Reads the campaigns of `requests`, and which of their callers hold
    /// one already, in this transaction: two statements for any batch.
    pub async fn load(conn: &mut PgConnection, requests: &[IssueRequest]) -> AppResult<Self> {
        let mut coupon_ids: Vec<i64> = requests.iter().map(|r| r.coupon_id).collect();
        coupon_ids.sort_unstable();
        coupon_ids.dedup();
        let campaigns = coupon::by_ids(&mut *conn, &coupon_ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let pairs: Vec<(i64, i64)> = requests.iter().map(|r| (r.user_id, r.coupon_id)).collect();
        let holders = user_coupon::holders(conn, &pairs)
            .await?
            .into_iter()
            .collect();
        Ok(Self { campaigns, holders })
    }

    /// Decides one request ([`check`]); a grant moves the snapshot, so the
    /// next request of the batch sees one coupon fewer and one more holder.
    pub fn decide(&mut self, request: &IssueRequest, now: DateTime<Utc>) -> Result<(), Rejection> {
        let key = (request.user_id, request.coupon_id);
        let campaign = self.campaigns.get_mut(&request.coupon_id);
        check(campaign.as_deref(), self.holders.contains(&key), now)?;
        if let Some(campaign) = campaign {
            campaign.issued_quantity += 1;
        }
        self.holders.insert(key);
        Ok(())
    }

    /// The campaigns as decided: with the coupons this batch issued counted.
    pub fn campaigns(&self) -> impl Iterator<Item = &CouponRecord> {
        self.campaigns.values()
    }
}

/// How many coupons each campaign issues in these grants, each campaign
/// once, in id order (so that two instances' batches lock in one order).
pub fn counts(grants: &[IssueRequest]) -> Vec<(i64, i32)> {
    let mut counts: HashMap<i64, i32> = HashMap::new();
    for grant in grants {
        *counts.entry(grant.coupon_id).or_default() += 1;
    }
    let mut counts: Vec<(i64, i32)> = counts.into_iter().collect();
    counts.sort_unstable();
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    use crate::domain::coupon::DiscountType;

    fn campaign(id: i64, total: i32, issued: i32, window: (i64, Option<i64>)) -> CouponRecord {
        let now = Utc::now();
        CouponRecord {
            id,
            name: "c".into(),
            discount_type: DiscountType::FixedAmount,
            discount_value: 100,
            total_quantity: total,
            issued_quantity: issued,
            valid_from: now + Duration::hours(window.0),
            valid_until: window.1.map(|h| now + Duration::hours(h)),
        }
    }

    fn code(result: Result<(), Rejection>) -> Option<ErrorCode> {
        result.err().map(|r| r.code)
    }

    #[test]
    fn failures_come_in_the_rules_order() {
        let now = Utc::now();
        assert_eq!(
            code(check(None, true, now)),
            Some(ErrorCode::CouponNotFound)
        );
        let ended = campaign(1, 10, 10, (-2, Some(-1)));
        assert_eq!(
            code(check(Some(&ended), true, now)),
            Some(ErrorCode::CouponNotUsable)
        );
        let sold_out = campaign(1, 10, 10, (-1, None));
        assert_eq!(
            code(check(Some(&sold_out), true, now)),
            Some(ErrorCode::CouponAlreadyIssued)
        );
        assert_eq!(
            code(check(Some(&sold_out), false, now)),
            Some(ErrorCode::CouponOutOfStock)
        );
        let open = campaign(1, 10, 9, (-1, Some(1)));
        assert_eq!(code(check(Some(&open), false, now)), None);
        let later = campaign(1, 10, 0, (1, None));
        assert_eq!(
            code(check(Some(&later), false, now)),
            Some(ErrorCode::CouponNotUsable)
        );
    }

    #[test]
    fn a_batch_is_served_in_arrival_order_one_per_user() {
        let now = Utc::now();
        let mut snapshot = Snapshot::default();
        snapshot.campaigns.insert(5, campaign(5, 3, 1, (-1, None)));
        snapshot.holders.insert((100, 5));
        let ask = |user_id| IssueRequest {
            user_id,
            coupon_id: 5,
        };
        let outcomes: Vec<Option<ErrorCode>> = [100, 101, 101, 102, 103, 104]
            .into_iter()
            .map(|u| code(snapshot.decide(&ask(u), now)))
            .collect();
        assert_eq!(
            outcomes,
            [
                Some(ErrorCode::CouponAlreadyIssued),
                None,
                Some(ErrorCode::CouponAlreadyIssued),
                None,
                Some(ErrorCode::CouponOutOfStock),
                Some(ErrorCode::CouponOutOfStock),
            ]
        );
        let issued: Vec<i32> = snapshot.campaigns().map(|c| c.issued_quantity).collect();
        assert_eq!(issued, [3]);
        assert_eq!(
            code(snapshot.decide(
                &IssueRequest {
                    user_id: 1,
                    coupon_id: 6
                },
                now
            )),
            Some(ErrorCode::CouponNotFound)
        );
    }

    #[test]
    fn counts_are_per_campaign_in_id_order() {
        let grant = |user_id, coupon_id| IssueRequest { user_id, coupon_id };
        assert_eq!(
            counts(&[grant(1, 9), grant(2, 3), grant(3, 9)]),
            [(3, 1), (9, 2)]
        );
    }
}
