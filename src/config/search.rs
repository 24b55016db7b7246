//! `SEARCH_MAX_CHARS` and `SEARCH_WALK_ROWS`: the catalog search's bounds.

use super::parse::{ConfigError, Env};

/// The catalog search (`domain::listing`).
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// `SEARCH_MAX_CHARS`: the longest `products(search:)` text, in
    /// characters (`BAD_REQUEST` beyond): each word is a pattern every
    /// candidate row is checked against.
    pub max_chars: usize,
    /// `SEARCH_WALK_ROWS`: how many rows a search page reads along its
    /// order's index before it asks the trigram index for the matches
    /// instead (`domain::listing::matches`): the most a page of common
    /// words reads, and what a page of rare words spends before it turns to
    /// the index.
    pub walk_rows: i64,
}

impl Search {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            max_chars: env.positive("SEARCH_MAX_CHARS", "200")?,
            walk_rows: i64::try_from(env.positive("SEARCH_WALK_ROWS", "1000")?)
                .map_err(|_| ConfigError::of("SEARCH_WALK_ROWS", "is too large"))?,
        })
    }
}
