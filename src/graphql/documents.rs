//! Parsed documents by query text.
//!
//! A shop's clients send the same few documents over and over (the
//! operations of their SDKs), and parsing one with async-graphql's grammar
//! costs more CPU than running a small query. So each instance keeps the
//! parsed form of the documents it has seen and hands requests a copy.
//!
//! Every document is parsed here, and only after it passed the guards of
//! [`super::limits`] (its nesting before it is parsed, its expansion after):
//! a document that fails them is never handed to async-graphql.
//!
//! Bounded in entries and in the length of the texts it keeps, least
//! recently used out first: a client sending ever new documents churns the
//! cache, but never grows it. Only documents that pass are kept.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::parse_query;
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, ServerError};
use lru::LruCache;

use super::limits::{self, Cost, Expansion};
use crate::config::Limits;
use crate::sync;

/// How many documents an instance keeps.
const CAPACITY: usize = 512;

/// The longest query text kept (longer ones are parsed every time), so the
/// texts held stay under `CAPACITY` x 8 KiB.
const MAX_TEXT_LEN: usize = 8 * 1024;

/// This instance's parsed documents.
pub struct Documents {
    cache: Mutex<LruCache<Box<str>, Arc<Kept>>>,
    limits: Limits,
}

/// A parsed document within the limits.
pub struct Kept {
    document: ExecutableDocument,
    /// The cost of each operation, by name.
    costs: Vec<(Option<String>, Cost)>,
}

impl Kept {
    /// The parsed document.
    pub fn document(&self) -> &ExecutableDocument {
        &self.document
    }

    /// The cost of the operation `name` selects (the only one when `None`);
    /// nothing for a name the document lacks, which execution reports.
    pub fn cost(&self, name: Option<&str>) -> Cost {
        match name {
            Some(name) => self
                .costs
                .iter()
                .find(|(n, _)| n.as_deref() == Some(name))
                .map(|(_, cost)| *cost),
            None if self.costs.len() == 1 => self.costs.first().map(|(_, cost)| *cost),
            None => None,
        }
        .unwrap_or_default()
    }
}

impl Documents {
    /// An empty cache, guarding documents with `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            cache: Mutex::new(LruCache::new(
                NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN),
            )),
            limits,
        }
    }

    /// Gives `request` its parsed document, a copy of the kept one or
    /// parsed now (and kept, if short enough), and returns it; or the
    /// error that refuses the document: over a limit, or not parsing.
    pub fn prepare(&self, request: &mut Request) -> Result<Arc<Kept>, ServerError> {
        let cached = request.query.len() <= MAX_TEXT_LEN;
        if cached && let Some(kept) = sync::lock(&self.cache).get(request.query.as_str()).cloned() {
            request.set_parsed_query(kept.document.clone());
            return Ok(kept);
        }
        limits::check_nesting(&request.query, self.limits.max_nesting)?;
        let document = parse_query(&request.query)?;
        let costs = Expansion::check(&document, &self.limits)?
            .into_iter()
            .map(|(name, cost)| (name.map(str::to_owned), cost))
            .collect();
        request.set_parsed_query(document.clone());
        let kept = Arc::new(Kept { document, costs });
        if cached {
            sync::lock(&self.cache).put(request.query.as_str().into(), kept.clone());
        }
        Ok(kept)
    }

    /// How many documents are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        sync::lock(&self.cache).len()
    }

    /// Whether no document is kept.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documents() -> Documents {
        Documents::new(Limits::default())
    }

    #[test]
    fn a_document_is_parsed_once_and_copied_after() {
        let documents = documents();
        let mut first = Request::new("{ products(first: 1) { totalCount } }");
        let kept = documents.prepare(&mut first).expect("kept");
        assert_eq!(documents.len(), 1);
        let mut second = Request::new("{ products(first: 1) { totalCount } }");
        let again = documents.prepare(&mut second).expect("kept");
        assert!(Arc::ptr_eq(&kept, &again), "the same document, parsed once");
        assert_eq!(documents.len(), 1);
        let (Ok(a), Ok(b)) = (first.parsed_query(), second.parsed_query()) else {
            panic!("both requests hold a parsed document");
        };
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn documents_that_fail_are_not_kept_nor_long_ones() {
        let documents = documents();
        let mut broken = Request::new("{ products(first: ");
        assert!(documents.prepare(&mut broken).is_err());
        let mut deep = Request::new(format!("{{ a(x: {}) }}", "[".repeat(2000)));
        assert!(documents.prepare(&mut deep).is_err());
        assert!(documents.is_empty());
        let long = format!("{{ viewer {{ id }} }} # {}", "x".repeat(MAX_TEXT_LEN));
        let mut long = Request::new(long);
        documents.prepare(&mut long).expect("parsed");
        assert!(documents.is_empty());
        assert!(long.parsed_query().is_ok());
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity() {
        let documents = documents();
        for n in 0..CAPACITY + 10 {
            let _ = documents.prepare(&mut Request::new(format!(
                "{{ product(id: \"{n}\") {{ id }} }}"
            )));
        }
        assert_eq!(documents.len(), CAPACITY);
    }
}
