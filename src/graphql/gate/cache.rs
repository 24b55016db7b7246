//! Parsed documents by their text.
//!
//! A shop's clients send the same few documents over and over (the
//! operations of their SDKs), and parsing one with async-graphql's grammar
//! costs more CPU than running a small query. So each instance keeps the
//! parsed form of the documents that passed the gate, and the next request
//! with the same text skips the parse and the document-wide checks.
//!
//! Bounded in entries and in the length of the texts it keeps, least
//! recently used out first: a client sending ever new documents churns the
//! cache, but never grows it.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

use crate::sync;

/// How many documents an instance keeps.
const CAPACITY: usize = 512;

/// The longest query text kept (longer ones are parsed every time), so the
/// texts held stay under `CAPACITY` x 8 KiB.
const MAX_TEXT_LEN: usize = 8 * 1024;

/// This instance's parsed documents.
pub struct Cache {
    documents: Mutex<LruCache<Box<str>, Arc<ExecutableDocument>>>,
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
    pub fn get(&self, text: &str) -> Option<Arc<ExecutableDocument>> {
        if text.len() > MAX_TEXT_LEN {
            return None;
        }
        sync::lock(&self.documents).get(text).cloned()
    }

    /// Keeps `document`, the parse of `text`, which passed the gate (unless
    /// the text is too long to keep).
    pub fn put(&self, text: &str, document: Arc<ExecutableDocument>) {
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
        let document = Arc::new(parse_query("{ a }").expect("parses"));
        for n in 0..CAPACITY + 10 {
            cache.put(&format!("{{ a }} # {n}"), document.clone());
        }
        assert_eq!(cache.len(), CAPACITY);
        let long = format!("{{ a }} # {}", "x".repeat(MAX_TEXT_LEN));
        cache.put(&long, document);
        assert!(cache.get(&long).is_none());
    }
}
