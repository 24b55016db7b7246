//! `QUERY_*`, `RESPONSE_MAX_BYTES` and `FEDERATION`: what one document may
//! ask of an instance, over HTTP and WebSocket alike (docs/operations.md §8,
//! docs/federation.md).

use super::parse::{ConfigError, Env};

/// The limits on what a document may ask.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryLimits {
    /// `QUERY_MAX_NESTING`: how deep the document may be written: `{`, `[`
    /// and `(` in its text (checked before it is parsed), lists and objects
    /// in its variables, and selections through fragment spreads and inline
    /// fragments (what parsing and validation recurse on).
    pub max_nesting: usize,
    /// `QUERY_MAX_FIELDS`: the most fields a document may hold once every
    /// fragment spread is expanded.
    pub max_fields: usize,
    /// `QUERY_MAX_DEPTH`: how deep the response may be: fields within
    /// fields, through fragments.
    pub max_depth: usize,
    /// `QUERY_MAX_COMPLEXITY`: the largest complexity: every field counts 1,
    /// times the items of each list around it (a page's size, a `nodes`
    /// call's ids, an order's or a cart's most lines).
    pub max_complexity: usize,
    /// `QUERY_MAX_DIRECTIVES`: the most directives on one field.
    pub max_directives: usize,
    /// `QUERY_MAX_BATCH`: the most operations in one JSON-array batch (and
    /// queries and mutations one socket executes at once).
    pub max_batch: usize,
    /// `QUERY_MAX_MUTATIONS`: the most mutation fields in one operation
    /// (each is a transaction).
    pub max_mutations: usize,
    /// `RESPONSE_MAX_BYTES`: the largest response body, or WebSocket message.
    pub max_response_bytes: usize,
    /// `FEDERATION`: whether a document may ask for what a federation
    /// gateway asks a subgraph (`_service`, `_entities`); on by default.
    pub federation: bool,
    /// `QUERY_MAX_REPRESENTATIONS`: the most representations one
    /// `_entities` call may hold (each also counts in its complexity).
    pub max_representations: usize,
}

impl QueryLimits {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            max_nesting: env.positive("QUERY_MAX_NESTING", "32")?,
            max_fields: env.positive("QUERY_MAX_FIELDS", "2000")?,
            max_depth: env.positive("QUERY_MAX_DEPTH", "15")?,
            max_complexity: env.positive("QUERY_MAX_COMPLEXITY", "20000")?,
            max_directives: env.positive("QUERY_MAX_DIRECTIVES", "20")?,
            max_batch: env.positive("QUERY_MAX_BATCH", "10")?,
            max_mutations: env.positive("QUERY_MAX_MUTATIONS", "10")?,
            max_response_bytes: env.positive("RESPONSE_MAX_BYTES", "4194304")?,
            federation: env.parse("FEDERATION", "true")?,
            max_representations: env.positive("QUERY_MAX_REPRESENTATIONS", "100")?,
        })
    }
}

impl Default for QueryLimits {
    /// The defaults (a schema built for its SDL alone uses them).
    fn default() -> Self {
        Self::from_env(&Env::new(&|_| None))
            .unwrap_or_else(|e| unreachable!("the default limits parse: {e}"))
    }
}
