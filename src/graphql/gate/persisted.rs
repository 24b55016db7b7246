//! Persisted queries: documents a client names by the SHA-256 of their text
//! (lowercase hex) rather than sending the text every time.
//!
//! - **Automatic persisted queries** (Apollo's APQ): a request whose
//!   `extensions.persistedQuery` is `{"version": 1, "sha256Hash": "<hex>"}`
//!   and that has no `query` runs the document known by that hash. An
//!   unknown hash answers `PersistedQueryNotFound` (code
//!   `PERSISTED_QUERY_NOT_FOUND`); the client then sends the text once with
//!   its hash, which must match, and this instance learns it ([`Store`]).
//! - **Trusted documents** (`TRUSTED_DOCUMENTS`): a manifest
//!   `{"<hash>": "<document>"}`, as graphql-codegen's client preset writes
//!   it (`persisted-documents.json`), loaded at startup
//!   ([`TrustedDocuments::from_json`]). Its documents are known by hash
//!   from the start, on every instance. With `TRUSTED_DOCUMENTS_ONLY=true`
//!   no other text runs, sent as `query` or registered through APQ
//!   (`FORBIDDEN`): the mode OWASP recommends for an API whose clients are
//!   its own frontends, as it leaves an attacker no document to craft.
//!
//! [`Persisted::resolve`] runs first in the gate, which every transport
//! goes through: the document it yields then meets the same guards as a
//! document sent as text, and is stored only once it has passed them and
//! validated ([`Persisted::register`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::{Request, ServerError, Value};
use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::config::PersistedQueries;
use crate::graphql::errors::{coded_error, codes};
use crate::sync;

/// The request extension that names a persisted query.
const EXTENSION: &str = "persistedQuery";

/// The message of an unknown hash, which Apollo clients look for.
pub const NOT_FOUND: &str = "PersistedQueryNotFound";

/// The SHA-256 of `text`, in lowercase hex: the name of a persisted query.
pub fn sha256_hex(text: &str) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    Sha256::digest(text.as_bytes())
        .iter()
        .flat_map(|byte| [byte >> 4, byte & 0xf])
        .map(|nibble| char::from(DIGITS[usize::from(nibble)]))
        .collect()
}

/// Whether `request` names a persisted query (then it may come without a
/// `query`).
pub fn is_persisted(request: &Request) -> bool {
    request.extensions.contains_key(EXTENSION)
}

/// The documents of a trusted documents manifest.
#[derive(Default)]
pub struct TrustedDocuments {
    /// Each document by its hash.
    by_hash: HashMap<Box<str>, Arc<str>>,
    /// The same documents, to tell a trusted text from another.
    texts: HashSet<Arc<str>>,
}

impl std::fmt::Debug for TrustedDocuments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustedDocuments({} documents)", self.len())
    }
}

impl TrustedDocuments {
    /// The manifest `json`: a JSON object of documents by the SHA-256 of
    /// their text. Refused, naming the entry, when a key is not the hash
    /// of its document: the client would send a hash that runs nothing, or
    /// worse, another document than it means.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let entries: BTreeMap<String, String> = serde_json::from_str(json).map_err(|e| {
            format!("not a JSON object of documents by their SHA-256 (lowercase hex): {e}")
        })?;
        let mut documents = Self::default();
        for (key, text) in entries {
            // graphql-codegen's client preset names its hashes
            // `sha256:<hex>`; requests name them by the hex alone (APQ).
            let hash = key.strip_prefix("sha256:").unwrap_or(&key);
            let actual = sha256_hex(&text);
            if hash != actual {
                return Err(format!(
                    "entry {key:?}: the key is not the SHA-256 (lowercase hex, optionally \
                     after `sha256:`) of its document, which is {actual}"
                ));
            }
            let text: Arc<str> = text.into();
            documents.texts.insert(text.clone());
            documents.by_hash.insert(hash.into(), text);
        }
        Ok(documents)
    }

    /// How many documents the manifest holds.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }
}

/// The documents this instance learned through APQ, by hash: bounded in
/// entries and in bytes (texts and hashes), least recently used out
/// first, so a client registering ever new documents churns the store but
/// never grows it.
struct Store {
    documents: LruCache<Box<str>, Arc<str>>,
    bytes: usize,
    max_bytes: usize,
}

impl Store {
    fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            documents: LruCache::new(NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN)),
            bytes: 0,
            max_bytes,
        }
    }

    fn get(&mut self, hash: &str) -> Option<Arc<str>> {
        self.documents.get(hash).cloned()
    }

    /// Keeps `text` under `hash` (its SHA-256), making room as needed. A
    /// text larger than the whole store is not kept: it runs, and its
    /// client sends it again next time.
    fn insert(&mut self, hash: Box<str>, text: &str) {
        let size = hash.len() + text.len();
        if size > self.max_bytes || self.documents.get(&hash).is_some() {
            return;
        }
        while self.bytes + size > self.max_bytes {
            let Some((hash, text)) = self.documents.pop_lru() else {
                break;
            };
            self.bytes -= hash.len() + text.len();
        }
        // At capacity, `push` hands back the entry it evicted.
        if let Some((hash, text)) = self.documents.push(hash, text.into()) {
            self.bytes -= hash.len() + text.len();
        }
        self.bytes += size;
    }
}

/// A document sent with its hash and not known yet, to keep once it has
/// passed the guards ([`Persisted::register`]).
pub struct Registration(Box<str>);

/// This instance's persisted queries: the trusted documents and the
/// documents learned through APQ.
pub struct Persisted {
    trusted: Arc<TrustedDocuments>,
    trusted_only: bool,
    store: Mutex<Store>,
}

impl Persisted {
    /// Persisted queries as `config` sets them up, the trusted documents
    /// manifest read (and checked) now: an error names the file and why.
    pub fn new(config: &PersistedQueries) -> Result<Self, String> {
        let trusted = match &config.trusted_documents {
            None => TrustedDocuments::default(),
            Some(path) => {
                let fail = |why: String| format!("TRUSTED_DOCUMENTS={}: {why}", path.display());
                let json = std::fs::read_to_string(path)
                    .map_err(|e| fail(format!("cannot read it: {e}")))?;
                TrustedDocuments::from_json(&json).map_err(fail)?
            }
        };
        Ok(Self {
            trusted: Arc::new(trusted),
            trusted_only: config.trusted_only,
            store: Mutex::new(Store::new(config.capacity, config.max_bytes)),
        })
    }

    /// The set-up in one line, for the startup log.
    pub fn describe(&self, config: &PersistedQueries) -> String {
        let learned = format!(
            "automatic persisted queries: up to {} documents and {} bytes per instance",
            config.capacity, config.max_bytes
        );
        match &config.trusted_documents {
            None => format!("{learned}; no trusted documents"),
            Some(path) => format!(
                "{learned}; trusted documents: {} from {}{}",
                self.trusted.len(),
                path.display(),
                if self.trusted_only {
                    ", and no other document runs"
                } else {
                    ""
                }
            ),
        }
    }

    /// Gives `request` the text of the persisted query it names, if it
    /// names one without its text, and checks the text against its hash
    /// and against the trusted documents. Returns the document to keep
    /// once it has passed the guards; or the error that refuses the
    /// request, which then changes nothing.
    pub fn resolve(&self, request: &mut Request) -> Result<Option<Registration>, ServerError> {
        let Some(extension) = request.extensions.get(EXTENSION) else {
            self.check_trusted(&request.query)?;
            return Ok(None);
        };
        let hash = requested_hash(extension)?;
        if request.query.trim().is_empty() {
            let text = match self.trusted.by_hash.get(hash.as_str()) {
                Some(text) => text.clone(),
                None => sync::lock(&self.store)
                    .get(&hash)
                    .ok_or_else(|| coded_error(codes::PERSISTED_QUERY_NOT_FOUND, NOT_FOUND))?,
            };
            request.query = text.as_ref().to_owned();
            return Ok(None);
        }
        if sha256_hex(&request.query) != hash {
            return Err(coded_error(
                codes::BAD_REQUEST,
                "provided sha does not match query",
            ));
        }
        self.check_trusted(&request.query)?;
        if self.trusted.by_hash.contains_key(hash.as_str()) {
            return Ok(None);
        }
        Ok(Some(Registration(hash.into())))
    }

    /// Keeps `text`, the document of `registration` that passed the guards.
    pub fn register(&self, registration: Registration, text: &str) {
        sync::lock(&self.store).insert(registration.0, text);
    }

    /// With `TRUSTED_DOCUMENTS_ONLY`, refuses a text the manifest does not
    /// hold.
    fn check_trusted(&self, text: &str) -> Result<(), ServerError> {
        if self.trusted_only && !self.trusted.texts.contains(text) {
            return Err(coded_error(
                codes::FORBIDDEN,
                "this server runs only its trusted documents, and this is not one of them; \
                 send the hash of a document of its manifest",
            ));
        }
        Ok(())
    }
}

/// The hash that `extensions.persistedQuery` names: version 1 and a
/// `sha256Hash` of 64 lowercase hex digits, else `BAD_REQUEST`.
fn requested_hash(extension: &Value) -> Result<String, ServerError> {
    let bad = |message: String| coded_error(codes::BAD_REQUEST, message);
    let Value::Object(fields) = extension else {
        return Err(bad(format!(
            "extensions.{EXTENSION} must be an object with version and sha256Hash"
        )));
    };
    match fields.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        Some(other) => {
            return Err(bad(format!(
                "{EXTENSION} version {other} is not supported; send version 1"
            )));
        }
        None => {
            return Err(bad(format!("{EXTENSION} has no version; send version 1")));
        }
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash))
            if hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Ok(hash.clone())
        }
        _ => Err(bad(format!(
            "{EXTENSION}.sha256Hash must be the SHA-256 of the document, as 64 lowercase \
             hexadecimal digits"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const CATALOG: &str = "query Catalog { products { totalCount } }";

    fn persisted(vars: &[(&str, &str)]) -> Persisted {
        let config = Config::from_lookup(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .expect("config");
        Persisted::new(&config.persisted).expect("no manifest")
    }

    fn request(query: &str, hash: &str) -> Request {
        let mut request = Request::new(query);
        let extension = serde_json::json!({ "version": 1, "sha256Hash": hash });
        request.extensions.insert(
            EXTENSION.to_owned(),
            Value::from_json(extension).expect("a value"),
        );
        request
    }

    fn code(error: &ServerError) -> String {
        match error.extensions.as_ref().and_then(|e| e.get("code")) {
            Some(Value::String(code)) => code.clone(),
            other => panic!("no code: {other:?}"),
        }
    }

    #[test]
    fn the_hash_is_the_lowercase_hex_sha256_of_the_text() {
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn an_unknown_hash_is_not_found_then_the_text_registers_it() {
        let persisted = persisted(&[]);
        let hash = sha256_hex(CATALOG);
        let error = persisted
            .resolve(&mut request("", &hash))
            .err()
            .expect("unknown");
        assert_eq!(
            (error.message.as_str(), code(&error).as_str()),
            (NOT_FOUND, codes::PERSISTED_QUERY_NOT_FOUND)
        );
        let mut with_text = request(CATALOG, &hash);
        let registration = persisted.resolve(&mut with_text).expect("matches");
        persisted.register(registration.expect("to keep"), CATALOG);
        let mut hash_only = request("", &hash);
        assert!(persisted.resolve(&mut hash_only).expect("known").is_none());
        assert_eq!(hash_only.query, CATALOG);
    }

    #[test]
    fn a_hash_that_is_not_the_texts_or_a_bad_extension_is_a_bad_request() {
        let persisted = persisted(&[]);
        let wrong = sha256_hex("{ viewer { id } }");
        let error = persisted
            .resolve(&mut request(CATALOG, &wrong))
            .err()
            .expect("refused");
        assert_eq!(error.message, "provided sha does not match query");
        assert_eq!(code(&error), codes::BAD_REQUEST);
        for extension in [
            serde_json::json!({ "version": 2, "sha256Hash": sha256_hex(CATALOG) }),
            serde_json::json!({ "sha256Hash": sha256_hex(CATALOG) }),
            serde_json::json!({ "version": 1, "sha256Hash": sha256_hex(CATALOG).to_uppercase() }),
            serde_json::json!({ "version": 1, "sha256Hash": 7 }),
            serde_json::json!("yes"),
        ] {
            let mut r = Request::new(CATALOG);
            r.extensions
                .insert(EXTENSION.to_owned(), Value::from_json(extension).unwrap());
            let error = persisted.resolve(&mut r).err().expect("refused");
            assert_eq!(code(&error), codes::BAD_REQUEST, "{}", error.message);
        }
    }

    #[test]
    fn a_manifest_whose_key_is_not_its_documents_hash_is_refused_by_entry() {
        let good = format!("{{\"{}\": \"{CATALOG}\"}}", sha256_hex(CATALOG));
        assert_eq!(TrustedDocuments::from_json(&good).unwrap().len(), 1);
        let bad = format!("{{\"{}\": \"{CATALOG} \"}}", sha256_hex(CATALOG));
        let error = TrustedDocuments::from_json(&bad).unwrap_err();
        assert!(error.contains(&sha256_hex(CATALOG)), "{error}");
        assert!(TrustedDocuments::from_json("[1, 2]").is_err());
        assert!(TrustedDocuments::from_json("{\"a\": 1}").is_err());
    }

    #[test]
    fn a_manifest_may_name_its_hashes_sha256_colon_hex_as_codegen_does() {
        let hex = sha256_hex(CATALOG);
        let prefixed = format!("{{\"sha256:{hex}\": \"{CATALOG}\"}}");
        let documents = TrustedDocuments::from_json(&prefixed).unwrap();
        // Known by the bare hex, which is what a request names.
        assert!(documents.by_hash.contains_key(hex.as_str()));
        let wrong = format!("{{\"sha256:{}\": \"{CATALOG}\"}}", sha256_hex("{ x }"));
        assert!(TrustedDocuments::from_json(&wrong).is_err());
        let other_algorithm = format!("{{\"sha1:{hex}\": \"{CATALOG}\"}}");
        assert!(TrustedDocuments::from_json(&other_algorithm).is_err());
    }

    #[test]
    fn the_store_never_grows_past_its_bounds() {
        let mut store = Store::new(8, 1000);
        for n in 0..100 {
            let text = format!("{{ product(id: \"{n}\") {{ id }} }}{}", " ".repeat(n % 40));
            store.insert(sha256_hex(&text).into(), &text);
            assert!(store.documents.len() <= 8);
            assert!(store.bytes <= 1000, "{} bytes", store.bytes);
            let counted: usize = store.documents.iter().map(|(h, t)| h.len() + t.len()).sum();
            assert_eq!(store.bytes, counted);
        }
        // Bounded by bytes before entries: eight documents of 200 bytes do
        // not fit in 1000.
        for n in 0..20 {
            let text = format!("{n:>136}");
            store.insert(sha256_hex(&text).into(), &text);
            assert!(store.bytes <= 1000);
        }
        assert_eq!(store.documents.len(), 5);
        // One larger than the whole store is not kept, and evicts nothing.
        let huge = "x".repeat(2000);
        store.insert(sha256_hex(&huge).into(), &huge);
        assert!(store.get(&sha256_hex(&huge)).is_none());
        assert_eq!(store.documents.len(), 5);
        // The least recently used goes first.
        let first = format!("{:>136}", 15);
        assert!(store.get(&sha256_hex(&first)).is_some());
        let text = format!("{:>136}", "new");
        store.insert(sha256_hex(&text).into(), &text);
        assert!(store.get(&sha256_hex(&first)).is_some());
        assert!(store.get(&sha256_hex(&format!("{:>136}", 16))).is_none());
    }

    #[test]
    fn a_manifest_that_cannot_be_read_is_an_error_naming_it() {
        let config = Config::from_lookup(|name| {
            (name == "TRUSTED_DOCUMENTS").then(|| "/nowhere/persisted-documents.json".to_owned())
        })
        .expect("config");
        let err = Persisted::new(&config.persisted).err().expect("refused");
        assert!(err.contains("TRUSTED_DOCUMENTS=/nowhere"), "{err}");
    }
}
