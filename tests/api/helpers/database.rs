//! The machine's PostgreSQL, as the tests use it: where it is, the
//! throwaway databases each test creates (copies of a migrated template)
//! and drops, and what the app's connections are doing.

use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;

use super::app::TestApp;

/// The PostgreSQL server the tests use (each test creates its own database).
pub fn postgres_base_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// The template of this test process's fresh databases, once made.
static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// Creates database `name` on [`postgres_base_url`]'s server, migrated: a
/// copy of a template migrated once (`CREATE DATABASE ... TEMPLATE`), which
/// is cheaper than migrating each test's database. The app's own migration
/// run at startup then finds nothing to do.
pub async fn create_migrated(name: &str) {
    let template = TEMPLATE.get_or_init(migrated_template).await;
    let mut admin = admin().await;
    let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut admin)
        .await
        .expect("a database copied from the template");
    let _ = admin.close().await;
}

/// The name of the migrated template for the migrations in `migrations/`,
/// made unless it exists: one per set of migrations on the server, shared
/// by the test processes (of every checkout) that have the same set, and
/// made by one of them at a time. It takes no connections, and as a
/// template it cannot be dropped by mistake.
async fn migrated_template() -> String {
    let name = format!("commerce_test_template_{}", migrations_digest());
    let mut admin = admin().await;
    // A session lock in the server's `postgres` database: the one process
    // that makes the template holds it while the others wait.
    let lock = "SELECT pg_advisory_lock(hashtext('commerce test template'))";
    sqlx::query(lock).execute(&mut admin).await.expect("locked");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .expect("pg_database");
    if !exists {
        // Made under another name and renamed once migrated, so that a
        // process killed half way leaves no template that is not one.
        let building = format!("{name}_building");
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{building}\""),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut admin)
                .await
                .expect("the template's database");
        }
        commerce::db::migrate(&format!("{}/{building}", postgres_base_url()))
            .await
            .expect("the template migrates");
        for sql in [
            format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\""),
            format!("ALTER DATABASE \"{name}\" IS_TEMPLATE true ALLOW_CONNECTIONS false"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut admin)
                .await
                .expect("the template");
        }
    }
    let unlock = "SELECT pg_advisory_unlock(hashtext('commerce test template'))";
    sqlx::query(unlock)
        .execute(&mut admin)
        .await
        .expect("unlocked");
    let _ = admin.close().await;
    name
}

/// The first 16 hex digits of the SHA-256 of the migrations (each file's
/// name and text, in order): another set of migrations, another template.
fn migrations_digest() -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("migrations/")
        .map(|entry| entry.expect("a migration").path())
        .collect();
    files.sort();
    let mut digest = Sha256::new();
    for file in files {
        digest.update(file.file_name().expect("a name").as_encoded_bytes());
        digest.update(std::fs::read(&file).expect("a migration's text"));
    }
    digest
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A connection to the server's `postgres` database.
async fn admin() -> PgConnection {
    PgConnection::connect(&format!("{}/postgres", postgres_base_url()))
        .await
        .expect("PostgreSQL answers")
}

/// Drops database `name` (closing its connections), from synchronous code
/// such as a `Drop`: the test's runtime cannot be blocked on, so the
/// statement runs on a runtime of its own on a plain thread.
pub fn drop_database(name: &str) {
    let name = name.to_owned();
    let _ = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if let Ok(pool) = PgPool::connect(&format!("{}/postgres", postgres_base_url())).await {
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await;
                pool.close().await;
            }
        });
    })
    .join();
}

/// A database a test lets a program create (the server's own binary):
/// dropped when this is dropped, even by a failing test.
pub struct Throwaway(pub String);

impl Drop for Throwaway {
    fn drop(&mut self) {
        drop_database(&self.0);
    }
}

impl TestApp {
    /// How many statements on the app's database wait for a lock (held by
    /// the test, to hold a request up).
    pub async fn queries_waiting_on_a_lock(&self) -> i64 {
        self.count(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .await
    }
}

/// Sets `settings` on database `name` (`ALTER DATABASE .. SET`): every
/// session opened on it afterwards has them.
pub async fn set_database(name: &str, settings: &[(&str, &str)]) {
    if settings.is_empty() {
        return;
    }
    let mut admin = admin().await;
    for (setting, value) in settings {
        let sql = format!("ALTER DATABASE \"{name}\" SET {setting} = '{value}'");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("{setting}: {e}"));
    }
    let _ = admin.close().await;
}
