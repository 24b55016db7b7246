//! `COUPON_SOLD_OUT_HOLDERS`: what an instance keeps of a sold-out campaign.

use super::parse::{ConfigError, Env};

/// Coupon issuing (`facades::coupon`).
#[derive(Debug, Clone, PartialEq)]
pub struct Coupons {
    /// `COUPON_SOLD_OUT_HOLDERS`: the largest sold-out campaign (its total
    /// of coupons) whose holders an instance keeps in memory, so that it
    /// refuses the rest of a rush without the database; a larger campaign
    /// costs each refusal a read. 0: never kept.
    pub sold_out_holders: usize,
}

impl Coupons {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            sold_out_holders: env.parse("COUPON_SOLD_OUT_HOLDERS", "100000")?,
        })
    }
}
