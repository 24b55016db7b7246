//! `RATE_LIMIT_*`: the per-caller rate limit.

use super::AppEnv;
use super::parse::{ConfigError, Env};

/// The per-caller rate limit (`http::rate_limit`).
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    /// `RATE_LIMIT_PER_SECOND`: the operations a caller (a user, or a
    /// client address without a token) may run per second, sustained; a
    /// mutation counts once per mutation field. 0 turns the limit off (the
    /// default in development).
    pub per_second: u32,
    /// `RATE_LIMIT_BURST`: how many a caller may run at once above the
    /// sustained rate.
    pub burst: u32,
}

impl RateLimit {
    pub(super) fn from_env(env: &Env, app_env: AppEnv) -> Result<Self, ConfigError> {
        // Rate limiting protects a public instance; a developer's own
        // scripts (and the tests that race one user against itself) would
        // only trip on it.
        let default = match app_env {
            AppEnv::Production => "20",
            AppEnv::Development => "0",
        };
        Ok(Self {
            per_second: env.parse("RATE_LIMIT_PER_SECOND", default)?,
            burst: u32::try_from(env.positive("RATE_LIMIT_BURST", "100")?)
                .map_err(|_| ConfigError::of("RATE_LIMIT_BURST", "is too large"))?,
        })
    }
}
