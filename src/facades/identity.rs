//! Who the caller is in the database: the user row named by the token's `sub`,
//! created with a zero balance the first time it is seen.

use std::collections::HashMap;
use std::sync::Mutex;

use sqlx::Postgres;
use sqlx::pool::PoolConnection;

use super::Services;
use crate::auth::Principal;
use crate::domain::user;
use crate::error::AppResult;
use crate::sync;

/// Entries kept before the cache starts over (bounded memory).
const CACHE_CAPACITY: usize = 100_000;

/// `sub` -> user id. Users are never deleted or renamed, so an entry never
/// goes stale; the cache only saves a query per request.
#[derive(Default)]
pub struct UserIdCache(Mutex<HashMap<String, i64>>);

impl UserIdCache {
    fn get(&self, subject: &str) -> Option<i64> {
        sync::lock(&self.0).get(subject).copied()
    }

    fn put(&self, subject: &str, id: i64) {
        let mut map = sync::lock(&self.0);
        if map.len() >= CACHE_CAPACITY {
            map.clear();
        }
        map.insert(subject.to_owned(), id);
    }
}

/// The caller's user id, creating the user on first sight. Fifty racing
/// first requests create exactly one user (UNIQUE on `subject`).
pub async fn user_id(services: &Services, caller: &Principal) -> AppResult<i64> {
    if let Some(id) = services.users.get(&caller.subject) {
        return Ok(id);
    }
    let mut conn = services.db.pool.acquire().await?;
    user_id_in(services, &mut conn, caller).await
}

/// Like [`user_id`], on a connection the caller holds for more reads (one
/// connection, and one return to the pool, for all of them).
pub async fn user_id_in(
    services: &Services,
    conn: &mut PoolConnection<Postgres>,
    caller: &Principal,
) -> AppResult<i64> {
    if let Some(id) = services.users.get(&caller.subject) {
        return Ok(id);
    }
    let id = match user::find_id(&mut **conn, &caller.subject).await? {
        Some(id) => id,
        None => {
            services
                .db
                .serializable_in(conn, "createUser", |tx| {
                    let subject = caller.subject.clone();
                    Box::pin(async move { user::create(tx, &subject).await })
                })
                .await?
        }
    };
    services.users.put(&caller.subject, id);
    Ok(id)
}
