//! `CHANGES_VIA_NATS`, `NATS_CHANGES_SUBJECT`, `SUBSCRIPTION_*` and
//! `COUPON_UPDATE_INTERVAL_MS`: how changes reach subscribers on every
//! instance.

use std::time::Duration;

use super::parse::{ConfigError, Env};

/// How changes reach the subscribers of every instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscriptions {
    /// `CHANGES_VIA_NATS`: whether changes are announced to the other
    /// instances' subscribers through NATS (else they reach them by the
    /// database polls alone).
    pub changes_via_nats: bool,
    /// `NATS_CHANGES_SUBJECT`: the prefix of the core NATS subjects that
    /// announce changes (`<prefix>.order.<id>`, `<prefix>.coupon.<id>`).
    pub changes_subject: String,
    /// `SUBSCRIPTION_POLL_MS`: how often watched entities are read again
    /// while NATS is unreachable or not used.
    pub poll: Duration,
    /// `SUBSCRIPTION_SAFETY_POLL_MS`: how often they are read again while
    /// NATS is connected (it delivers at most once).
    pub safety_poll: Duration,
    /// `COUPON_UPDATE_INTERVAL_MS`: the least time between two updates of
    /// a `couponUpdated` stream (a rush is many changes a second).
    pub coupon_update_interval: Duration,
}

impl Subscriptions {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            changes_via_nats: env.parse("CHANGES_VIA_NATS", "true")?,
            changes_subject: env.text("NATS_CHANGES_SUBJECT", "changes"),
            poll: env.millis("SUBSCRIPTION_POLL_MS", "1000")?,
            safety_poll: env.millis("SUBSCRIPTION_SAFETY_POLL_MS", "10000")?,
            coupon_update_interval: env.millis("COUPON_UPDATE_INTERVAL_MS", "200")?,
        })
    }
}
