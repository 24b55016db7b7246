//! The machine's PostgreSQL, as the tests use it: where it is, and the
//! throwaway databases each test creates and drops, and what the app's
//! connections are doing.

use sqlx::PgPool;

use super::app::TestApp;

/// The PostgreSQL server the tests use (each test creates its own database).
pub fn postgres_base_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
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
