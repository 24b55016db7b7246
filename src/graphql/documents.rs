//! Parsed documents by query text.
//!
//! A shop's clients send the same few documents over and over (the
//! operations of their SDKs), and parsing one with async-graphql's grammar
//! costs more CPU than running a small query. So each instance keeps the
//! parsed form of the documents it has seen and hands requests a copy
//! (docs/benchmarks.md).
//!
//! Bounded in entries and in the length of the texts it keeps, least
//! recently used out first: a client sending ever new documents churns the
//! cache, but never grows it. Only documents that parse are kept.
//!
//! A kept document also remembers whether it passed every validation rule
//! in a request without variables: without variables, validation depends
//! only on the text and the schema, so such a document need not be
//! validated again ([`super::operation::Operations`]). With variables it
//! is, every time, because whether their values fit is part of it.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::Request;
use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

use crate::sync;

/// How many documents an instance keeps.
const CAPACITY: usize = 512;

/// The longest query text kept (longer ones are parsed every time), so the
/// texts held stay under `CAPACITY` x 8 KiB.
const MAX_TEXT_LEN: usize = 8 * 1024;

/// This instance's parsed documents.
pub struct Documents {
    cache: Mutex<LruCache<Box<str>, Arc<Kept>>>,
}

/// A kept document.
pub struct Kept {
    document: ExecutableDocument,
    valid: AtomicBool,
}

impl Kept {
    /// Whether the document passed every validation rule before.
    pub fn is_valid(&self) -> bool {
        self.valid.load(Ordering::Relaxed)
    }

    /// Records that the document passed every validation rule in a request
    /// without variables.
    pub fn mark_valid(&self) {
        self.valid.store(true, Ordering::Relaxed);
    }
}

impl Default for Documents {
    fn default() -> Self {
        Self {
            cache: Mutex::new(LruCache::new(
                NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }
}

impl Documents {
    /// Gives `request` its parsed document: a copy of the kept one, or
    /// parsed now and kept; returns the kept document. A document that does
    /// not parse is left to the request, which reports the syntax error when
    /// it runs.
    pub fn prepare(&self, request: &mut Request) -> Option<Arc<Kept>> {
        if request.query.len() > MAX_TEXT_LEN {
            return None;
        }
        let kept = sync::lock(&self.cache).get(request.query.as_str()).cloned();
        if let Some(kept) = kept {
            request.set_parsed_query(kept.document.clone());
            return Some(kept);
        }
        let kept = Arc::new(Kept {
            document: request.parsed_query().ok()?.clone(),
            valid: AtomicBool::new(false),
        });
        sync::lock(&self.cache).put(request.query.as_str().into(), kept.clone());
        Some(kept)
    }

    /// How many documents are kept.
    pub fn len(&self) -> usize {
        sync::lock(&self.cache).len()
    }

    /// Whether no document is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_copied_after() {
        let documents = Documents::default();
        let mut first = Request::new("{ products(first: 1) { totalCount } }");
        let kept = documents.prepare(&mut first);
        assert_eq!(documents.len(), 1);
        kept.expect("kept").mark_valid();
        let mut second = Request::new("{ products(first: 1) { totalCount } }");
        let kept = documents.prepare(&mut second).expect("kept");
        assert!(kept.is_valid(), "the same document, remembered as valid");
        assert_eq!(documents.len(), 1);
        let (Ok(a), Ok(b)) = (first.parsed_query(), second.parsed_query()) else {
            panic!("both requests hold a parsed document");
        };
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn documents_that_do_not_parse_or_are_too_long_are_not_kept() {
        let documents = Documents::default();
        let mut broken = Request::new("{ products(first: ");
        assert!(documents.prepare(&mut broken).is_none());
        assert!(broken.parsed_query().is_err());
        let long = format!("{{ viewer {{ id }} }} # {}", "x".repeat(MAX_TEXT_LEN));
        let mut long = Request::new(long);
        documents.prepare(&mut long);
        assert!(documents.is_empty());
        assert!(long.parsed_query().is_ok());
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity() {
        let documents = Documents::default();
        for n in 0..CAPACITY + 10 {
            documents.prepare(&mut Request::new(format!(
                "{{ product(id: \"{n}\") {{ id }} }}"
            )));
        }
        assert_eq!(documents.len(), CAPACITY);
    }
}
