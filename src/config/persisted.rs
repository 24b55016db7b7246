//! `PERSISTED_QUERIES_*` and `TRUSTED_DOCUMENTS*`: documents a client may
//! name by their hash. The manifest itself is read by what uses it
//! (`graphql::gate::persisted`), at startup.

use std::path::PathBuf;

use super::parse::{ConfigError, Env};

/// Documents a client may name by their hash (Apollo's automatic persisted
/// queries, and a manifest of trusted documents).
#[derive(Debug, Clone, PartialEq)]
pub struct PersistedQueries {
    /// `PERSISTED_QUERIES_CAPACITY`: the most documents an instance learns
    /// through automatic persisted queries (least recently used out first).
    pub capacity: usize,
    /// `PERSISTED_QUERIES_MAX_BYTES`: the most bytes of text (documents and
    /// their hashes) those documents may hold together.
    pub max_bytes: usize,
    /// `TRUSTED_DOCUMENTS`: the path of the manifest of trusted documents,
    /// a JSON object of documents by their SHA-256; none by default.
    pub trusted_documents: Option<PathBuf>,
    /// `TRUSTED_DOCUMENTS_ONLY`: run no document but the manifest's.
    pub trusted_only: bool,
}

impl PersistedQueries {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let trusted_documents = env.optional("TRUSTED_DOCUMENTS").map(PathBuf::from);
        let trusted_only = env.parse("TRUSTED_DOCUMENTS_ONLY", "false")?;
        if trusted_only && trusted_documents.is_none() {
            return Err(ConfigError(
                "TRUSTED_DOCUMENTS_ONLY=true needs TRUSTED_DOCUMENTS, the manifest of the \
                 documents to run"
                    .into(),
            ));
        }
        Ok(Self {
            capacity: env.positive("PERSISTED_QUERIES_CAPACITY", "1024")?,
            max_bytes: env.positive("PERSISTED_QUERIES_MAX_BYTES", "4194304")?,
            trusted_documents,
            trusted_only,
        })
    }
}
