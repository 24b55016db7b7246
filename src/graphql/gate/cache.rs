//! Parsed documents by their text.
//!
//! A shop's clients send the same few documents over and over (the
//! operations of their SDKs), and parsing one with async-graphql's grammar
//! costs more CPU than running a small query. So each instance keeps the
//! parsed form of the documents that passed the gate, and the next request
//! with the same text skips the parse and the document-wide checks.
//!
//! Validation against the schema is the other cost a repeated document
//! need not pay twice: async-graphql's rules read only the document (never
//! the variables' values), so a text that validated once validates again.
//! A kept document remembers that it did ([`Checked::validated`]), and
//! runs on the schema that skips those rules from then on
//! (`graphql::operation`).
//!
//! Bounded in entries and in the length of the texts it keeps, least
//! recently used out first: a client sending ever new documents churns the
//! cache, but never grows it.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

use crate::sync;

/// How many documents an instance keeps.
const CAPACITY: usize = 512;

/// The longest query text kept (longer ones are parsed every time), so the
/// texts held stay under `CAPACITY` x 8 KiB.
const MAX_TEXT_LEN: usize = 8 * 1024;

/// A document that passed the gate.
#[derive(Debug)]
pub struct Checked {
    /// Its parse.
    pub document: ExecutableDocument,
    /// Whether it passed async-graphql's validation once (it ran, or
    /// began to).
    validated: AtomicBool,
}

impl Checked {
    /// A document that has not been validated yet.
    pub fn new(document: ExecutableDocument) -> Self {
        Self {
            document,
            validated: AtomicBool::new(false),
        }
    }

    /// Whether it validated once.
    pub fn validated(&self) -> bool {
        self.validated.load(Ordering::Relaxed)
    }

    /// Records that it validated.
    pub fn mark_validated(&self) {
        self.validated.store(true, Ordering::Relaxed);
    }
}

/// This instance's parsed documents.
pub struct Cache {
    documents: Mutex<LruCache<Box<str>, Arc<Checked>>>,
}

impl Default for Cache {
    fn default() -> Self {
        Self {
            documents: Mutex::new(LruCache::new(
                NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }
}

impl Cache {
    /// The document of `text`, if it passed the gate before.
    pub fn get(&self, text: &str) -> Option<Arc<Checked>> {
        if text.len() > MAX_TEXT_LEN {
            return None;
        }
        sync::lock(&self.documents).get(text).cloned()
    }

    /// Keeps `document`, the parse of `text`, which passed the gate (unless
    /// the text is too long to keep).
    pub fn put(&self, text: &str, document: Arc<Checked>) {
        if text.len() <= MAX_TEXT_LEN {
            sync::lock(&self.documents).put(text.into(), document);
        }
    }

    /// How many documents are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        sync::lock(&self.documents).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    #[test]
    fn the_cache_never_grows_past_its_capacity_nor_keeps_long_texts() {
        let cache = Cache::default();
        let document = Arc::new(Checked::new(parse_query("{ a }").expect("parses")));
        for n in 0..CAPACITY + 10 {
            cache.put(&format!("{{ a }} # {n}"), document.clone());
        }
        assert_eq!(cache.len(), CAPACITY);
        let long = format!("{{ a }} # {}", "x".repeat(MAX_TEXT_LEN));
        cache.put(&long, document);
        assert!(cache.get(&long).is_none());
    }
}
