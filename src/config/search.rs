//! `SEARCH_MAX_CHARS`: the catalog search's bound.

use super::parse::{ConfigError, Env};

/// The catalog search (`domain::listing`).
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// `SEARCH_MAX_CHARS`: the longest `products(search:)` text, in
    /// characters (`BAD_REQUEST` beyond): each word is a pattern every
    /// candidate row is checked against.
    pub max_chars: usize,
}

impl Search {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            max_chars: env.positive("SEARCH_MAX_CHARS", "200")?,
        })
    }
}
