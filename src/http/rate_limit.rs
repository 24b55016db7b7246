//! The per-caller rate limit: a token bucket per user (or, without a token,
//! per client address), refilled at `RATE_LIMIT_PER_SECOND` and holding up
//! to `RATE_LIMIT_BURST`, from the `governor` crate (GCRA, one atomic value
//! per caller).
//!
//! Every operation takes one token, and a mutation one more per mutation
//! field beyond its first, since each is a transaction; over HTTP and over
//! a WebSocket alike. The first token of a request is drawn as soon as its
//! caller is known, before its body is read or its document parsed
//! ([`Tab::open`]), so a request refused for any reason (a syntax error, a
//! limit, an unknown persisted query, a bad token) has cost its token, and
//! a caller with an empty bucket costs the instance no parsing at all. A
//! request that would overdraw its caller's bucket is refused before
//! anything runs, with `RATE_LIMITED`, HTTP 429 and `Retry-After`
//! ([`super::graphql`]); the tokens it drew stay drawn.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::auth::Principal;
use crate::config::RateLimit;

/// Whose bucket a request draws from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A user, by the `sub` of their token.
    User(String),
    /// A client without a token, by its address.
    Address(IpAddr),
}

impl Caller {
    /// The user of `principal`, else the client at `address`.
    pub fn of(principal: Option<&Principal>, address: Option<IpAddr>) -> Option<Self> {
        match (principal, address) {
            (Some(p), _) => Some(Self::User(p.subject.clone())),
            (None, Some(address)) => Some(Self::Address(address)),
            (None, None) => None,
        }
    }
}

/// What one request draws from its caller's bucket, step by step: a token
/// when it is admitted, more as its cost becomes known.
pub struct Tab<'a> {
    /// `None` when the rate limit is off (or the caller unknown).
    bucket: Option<(&'a RateLimiter, Caller)>,
}

impl<'a> Tab<'a> {
    /// Admits a request of `caller`, drawing its first token; or says how
    /// long to wait before it could be admitted.
    pub fn open(
        limiter: Option<&'a RateLimiter>,
        caller: Option<Caller>,
    ) -> Result<Self, Duration> {
        let tab = Self {
            bucket: limiter.zip(caller),
        };
        tab.draw(1)?;
        Ok(tab)
    }

    /// Draws `tokens` more, or says how long to wait (nothing is drawn then).
    pub fn draw(&self, tokens: usize) -> Result<(), Duration> {
        match &self.bucket {
            Some((limiter, caller)) => {
                limiter.check(caller, u32::try_from(tokens).unwrap_or(u32::MAX))
            }
            None => Ok(()),
        }
    }
}

/// `wait` as `Retry-After` says it: whole seconds, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The buckets of this instance's callers.
pub struct RateLimiter {
    buckets: DefaultKeyedRateLimiter<Caller>,
    clock: DefaultClock,
    checks: AtomicU64,
}

/// How often (in checks) the buckets of callers that have been quiet long
/// enough to be full again are dropped, so that the map holds only recent
/// callers.
const SWEEP_EVERY: u64 = 4096;

impl RateLimiter {
    /// The limiter `config` sets up, or `None` when the rate is 0 (off).
    pub fn new(config: &RateLimit) -> Option<Self> {
        let rate = NonZeroU32::new(config.per_second)?;
        let burst = NonZeroU32::new(config.burst).unwrap_or(rate);
        Some(Self {
            buckets: DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        })
    }

    /// Takes `cost` tokens from `caller`'s bucket, or says how long to wait
    /// before the request could pass (nothing is taken then).
    pub fn check(&self, caller: &Caller, cost: u32) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.buckets.retain_recent();
            self.buckets.shrink_to_fit();
        }
        let Some(cost) = NonZeroU32::new(cost) else {
            return Ok(());
        };
        match self.buckets.check_key_n(caller, cost) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(not_until.wait_time_from(self.clock.now())),
            // More than a full bucket, which the configuration rules out
            // (the burst covers the largest batch of mutations).
            Err(_) => Err(Duration::from_secs(1)),
        }
    }

    /// How many callers have a bucket.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: u32, burst: u32) -> Option<RateLimiter> {
        RateLimiter::new(&RateLimit {
            per_second: rate,
            burst,
        })
    }

    #[test]
    fn a_burst_passes_and_then_the_caller_waits() {
        let limiter = limiter(10, 50).expect("on");
        let ann = Caller::User("ann".into());
        for _ in 0..50 {
            assert!(limiter.check(&ann, 1).is_ok());
        }
        let wait = limiter.check(&ann, 1).expect_err("the bucket is empty");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        // Other callers have buckets of their own.
        let bob = Caller::Address("127.0.0.1".parse().unwrap());
        assert!(limiter.check(&bob, 10).is_ok());
        assert_eq!(limiter.len(), 2);
    }

    #[test]
    fn a_refusal_takes_nothing() {
        let limiter = limiter(1, 5).expect("on");
        let ann = Caller::User("ann".into());
        assert!(limiter.check(&ann, 3).is_ok());
        assert!(limiter.check(&ann, 3).is_err());
        assert!(
            limiter.check(&ann, 2).is_ok(),
            "the refused 3 were not taken"
        );
    }

    #[test]
    fn a_rate_of_zero_turns_the_limit_off() {
        assert!(limiter(0, 5).is_none());
    }
}
