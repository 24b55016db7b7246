//! Facades: one use case each, in the order the use case's story tells it.
//!
//! A facade checks who is calling, opens the SERIALIZABLE transaction through
//! [`crate::db::Db::serializable`], and calls the domain services in order.
//! Resolvers call facades; facades never see GraphQL.

pub mod balance;
pub mod catalog;
pub mod demo;
pub mod identity;

use std::sync::Arc;

use crate::auth::Principal;
use crate::config::Config;
use crate::db::Db;
use crate::error::{AppError, AppResult};

/// What every facade needs: the database, the configuration, and the cache
/// of user ids. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// The database and its retry helper.
    pub db: Db,
    /// The server's configuration.
    pub config: Arc<Config>,
    /// `sub` -> user id, so most requests skip the user lookup.
    pub users: Arc<identity::UserIdCache>,
}

impl Services {
    /// Bundles the services.
    pub fn new(db: Db, config: Arc<Config>) -> Self {
        Self {
            db,
            config,
            users: Arc::default(),
        }
    }
}

/// Fails with `FORBIDDEN` unless the caller is an administrator.
pub fn require_admin(caller: &Principal) -> AppResult<()> {
    if caller.is_admin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}
