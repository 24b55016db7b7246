//! `createCoupon` and `issueCoupon`: the third use case, "user requests a
//! limited-quantity coupon", built for the rush.
//!
//! Thousands of users asking for one campaign at once all need its one row,
//! so the requests of an instance are settled in batches ([`Batcher`]): one
//! SERIALIZABLE transaction reads the campaign and which callers hold it
//! already, decides first come, first served in memory
//! ([`crate::domain::issuance`]), inserts the coupons, and ends with the
//! short update of the campaign's counter. Once a campaign is sold out (for
//! good: coupons are never taken back and the total never changes), the
//! instance remembers it and who holds it, and answers the rest of the rush
//! without the database.
//! The database decides every coupon, so all of this holds across any
//! number of instances.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use sqlx::PgConnection;

use super::{Services, identity, require_admin};
use crate::auth::Principal;
use crate::config::Coupons;
use crate::db::{BatchResult, Batcher, Db};
use crate::domain::coupon::{self, CouponRecord, NewCoupon};
use crate::domain::issuance::{self, IssueRequest, Snapshot};
use crate::domain::user_coupon::{self, UserCouponRecord};
use crate::error::{AppError, AppResult};
use crate::events::{Change, Changes};
use crate::sync;

const ISSUE: &str = "issueCoupon";

/// The most requests settled in one transaction.
pub const MAX_BATCH: usize = 256;

/// What an instance knows of a sold-out campaign: the campaign, final, and
/// the token subjects of its holders (final too: no coupon is issued once
/// none remain), unless the campaign is larger than it keeps
/// (`COUPON_SOLD_OUT_HOLDERS`).
#[derive(Debug)]
struct SoldOut {
    campaign: CouponRecord,
    holders: Option<HashSet<String>>,
}

/// Campaigns this instance knows to be sold out. Bounded by the number of
/// campaigns, which admins create by hand, and each by the largest whose
/// holders it keeps.
#[derive(Default)]
pub struct SoldOutCampaigns {
    known: Mutex<HashMap<i64, Arc<SoldOut>>>,
    /// `COUPON_SOLD_OUT_HOLDERS`.
    max_holders: usize,
}

impl SoldOutCampaigns {
    fn get(&self, id: i64) -> Option<Arc<SoldOut>> {
        sync::lock(&self.known).get(&id).cloned()
    }

    /// Remembers the campaigns of `campaigns` that are sold out and not yet
    /// known, with their holders (read once, after the batch that sold them
    /// out committed, so every holder is in).
    async fn remember(&self, db: &Db, campaigns: &[CouponRecord]) {
        for campaign in campaigns {
            if campaign.remaining() != 0 || self.get(campaign.id).is_some() {
                continue;
            }
            let keeps = usize::try_from(campaign.total_quantity)
                .is_ok_and(|total| total <= self.max_holders);
            let holders = if keeps {
                // Without them, refusals read the database: slower, as right.
                user_coupon::holder_subjects(&db.pool, campaign.id)
                    .await
                    .ok()
                    .map(HashSet::from_iter)
            } else {
                None
            };
            let known = SoldOut {
                campaign: campaign.clone(),
                holders,
            };
            sync::lock(&self.known).insert(campaign.id, Arc::new(known));
        }
    }
}

/// The coupon issuing of one instance: its batch queue and what it knows
/// of sold-out campaigns.
pub struct Issuer {
    queue: Batcher<IssueRequest, UserCouponRecord>,
    sold_out: Arc<SoldOutCampaigns>,
}

impl Issuer {
    /// Starts the worker that issues this instance's coupons, announcing
    /// the campaigns it changes to subscribers through `changes`.
    pub fn new(db: Db, changes: Arc<Changes>, config: &Coupons) -> Self {
        let sold_out = Arc::new(SoldOutCampaigns {
            known: Mutex::default(),
            max_holders: config.sold_out_holders,
        });
        let known = sold_out.clone();
        let queue = Batcher::new(&db.clone(), ISSUE, MAX_BATCH, move |requests| {
            let (db, known, changes) = (db.clone(), known.clone(), changes.clone());
            async move { issue_together(&db, &known, &changes, requests).await }
        });
        Self { queue, sold_out }
    }

    /// How many coupon requests wait for the next batch.
    pub fn waiting(&self) -> usize {
        self.queue.waiting()
    }
}

/// Starts a campaign (admins only), after checking every field.
pub async fn create_coupon(
    services: &Services,
    caller: &Principal,
    new: NewCoupon,
) -> AppResult<CouponRecord> {
    require_admin(caller)?;
    new.validate(Utc::now())?;
    services
        .db
        .serializable("createCoupon", |tx| {
            let new = new.clone();
            Box::pin(async move { coupon::insert(tx, &new).await })
        })
        .await
}

/// Issues the caller a coupon of campaign `coupon_id`: first come, first
/// served, one per user, never more than the campaign's total. Asking again
/// never issues a second one (`COUPON_ALREADY_ISSUED`).
pub async fn issue_coupon(
    services: &Services,
    caller: &Principal,
    coupon_id: i64,
) -> AppResult<UserCouponRecord> {
    let issuer = &services.coupons;
    // A campaign this instance knows to be sold out (for good) refuses at
    // once: only the caller's own coupon changes the answer, and the
    // instance knows its holders (else one read tells). Any other request
    // goes straight to its batch, whose transaction checks everything (no
    // such campaign, outside its window, sold out, already held): a read
    // before the queue would cost every request of the rush a round trip
    // and a pooled connection's return, on the cores that the batch
    // everyone waits on needs.
    if let Some(known) = issuer.sold_out.get(coupon_id) {
        let now = Utc::now();
        let holds = known.campaign.is_valid_at(now)
            && match &known.holders {
                Some(holders) => holders.contains(&caller.subject),
                None => {
                    let mut conn = services.db.pool.acquire().await?;
                    let user_id = identity::user_id_in(services, &mut conn, caller).await?;
                    user_coupon::holds(&mut *conn, user_id, coupon_id).await?
                }
            };
        issuance::check(Some(&known.campaign), holds, now)?;
    }
    let user_id = identity::user_id(services, caller).await?;
    issuer
        .queue
        .submit(IssueRequest { user_id, coupon_id })
        .await
}

/// Issues a batch in one transaction, then remembers the campaigns it sold out.
async fn issue_together(
    db: &Db,
    sold_out: &SoldOutCampaigns,
    changes: &Changes,
    requests: Vec<IssueRequest>,
) -> BatchResult<UserCouponRecord> {
    let (results, campaigns) = db
        .serializable(ISSUE, |tx| {
            let requests = requests.clone();
            Box::pin(async move { issue(tx, &requests).await })
        })
        .await?;
    sold_out.remember(db, &campaigns).await;
    let changed: Vec<Change> = campaigns.iter().map(|c| Change::Coupon(c.id)).collect();
    changes.announce(&changed);
    Ok(results)
}

/// The transaction's body: read, decide, write the coupons, and last the
/// campaigns' counters. Returns each request's outcome and the campaigns as
/// they stand after it.
async fn issue(
    tx: &mut PgConnection,
    requests: &[IssueRequest],
) -> AppResult<(Vec<AppResult<UserCouponRecord>>, Vec<CouponRecord>)> {
    let mut snapshot = Snapshot::load(tx, requests).await?;
    let now = Utc::now();
    let decisions: Vec<_> = requests.iter().map(|r| snapshot.decide(r, now)).collect();
    let grants: Vec<IssueRequest> = requests
        .iter()
        .zip(&decisions)
        .filter(|(_, d)| d.is_ok())
        .map(|(r, _)| *r)
        .collect();
    let pairs: Vec<(i64, i64)> = grants.iter().map(|g| (g.user_id, g.coupon_id)).collect();
    let mut issued: HashMap<(i64, i64), UserCouponRecord> = user_coupon::issue(tx, &pairs)
        .await?
        .into_iter()
        .map(|c| ((c.user_id, c.coupon_id), c))
        .collect();
    coupon::add_issued(tx, &issuance::counts(&grants)).await?;

    let results = requests
        .iter()
        .zip(decisions)
        .map(|(r, decision)| {
            decision?;
            issued
                .remove(&(r.user_id, r.coupon_id))
                .ok_or_else(|| AppError::Internal("a granted coupon was not issued".into()))
        })
        .collect();
    Ok((results, snapshot.campaigns().cloned().collect()))
}
