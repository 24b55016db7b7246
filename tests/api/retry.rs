//! The SERIALIZABLE retry helper, against real serialization failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use commerce::db::{Db, RetryPolicy};
use commerce::domain::balance;
use commerce::error::{AppError, ErrorCode, Rejection};
use commerce::metrics::Metrics;
use tokio::sync::Barrier;

use crate::helpers::spawn_app;

/// Two transactions that both read the user's balance, wait for each other,
/// then both charge it: PostgreSQL must abort one (40001). Returns each
/// task's result and how many attempts the two made in all.
async fn race_two_charges(db: Db, user_id: i64) -> (Vec<Result<i64, AppError>>, u32) {
    let barrier = Arc::new(Barrier::new(2));
    let attempts = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (db, barrier, attempts) = (db.clone(), barrier.clone(), attempts.clone());
        tasks.push(tokio::spawn(async move {
            db.serializable("test", |tx| {
                let (barrier, attempts) = (barrier.clone(), attempts.clone());
                Box::pin(async move {
                    let attempt = attempts.fetch_add(1, Ordering::SeqCst);
                    sqlx::query("SELECT balance FROM users WHERE id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    // Only the first attempts meet: both have read before either writes.
                    if attempt < 2 {
                        barrier.wait().await;
                    }
                    balance::charge(tx, user_id, 10).await
                })
            })
            .await
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    (results, attempts.load(Ordering::SeqCst))
}

async fn new_user(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("INSERT INTO users (subject) VALUES ('u') RETURNING id")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn serialization_failures_are_retried_to_a_correct_result() {
    let app = spawn_app().await;
    let user_id = new_user(&app.pool).await;
    let metrics = Arc::new(Metrics::default());
    let db = Db::new(app.pool.clone(), metrics.clone());
    let (results, attempts) = race_two_charges(db, user_id).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(attempts, 3, "exactly one transaction was aborted and rerun");
    assert_eq!(
        metrics.counter("tx_retries_total", &[("use_case", "test")]),
        1
    );
    let (balance, rows): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT balance FROM users WHERE id = $1), (SELECT count(*) FROM balance_ledger)",
    )
    .bind(user_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((balance, rows), (20, 2), "both charges landed, once each");
}

#[tokio::test]
async fn exhausted_retries_are_service_unavailable_and_write_nothing() {
    let app = spawn_app().await;
    let user_id = new_user(&app.pool).await;
    let metrics = Arc::new(Metrics::default());
    let policy = RetryPolicy {
        max_attempts: 1,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
    };
    let db = Db::new(app.pool.clone(), metrics.clone()).with_retry_policy(policy);
    let (results, _) = race_two_charges(db, user_id).await;
    let unavailable = results
        .iter()
        .filter(|r| matches!(r, Err(AppError::Unavailable(_))))
        .count();
    assert_eq!(unavailable, 1, "{results:?}");
    assert_eq!(
        metrics.counter("tx_giveups_total", &[("use_case", "test")]),
        1
    );
    let balance: i64 = sqlx::query_scalar("SELECT balance FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(balance, 10, "the loser's charge was rolled back");
}

#[tokio::test]
async fn business_errors_are_never_retried_and_roll_back() {
    let app = spawn_app().await;
    let user_id = new_user(&app.pool).await;
    let db = Db::new(app.pool.clone(), Arc::new(Metrics::default()));
    let attempts = Arc::new(AtomicU32::new(0));
    let result: Result<(), AppError> = db
        .serializable("test", |tx| {
            let attempts = attempts.clone();
            Box::pin(async move {
                attempts.fetch_add(1, Ordering::SeqCst);
                balance::charge(tx, user_id, 10).await?;
                Err(Rejection::new(ErrorCode::InsufficientBalance, "no").into())
            })
        })
        .await;
    assert!(matches!(result, Err(AppError::Rejected(_))));
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    let balance: i64 = sqlx::query_scalar("SELECT balance FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(balance, 0, "the charge before the failure was rolled back");
}

/// A serialization failure at COMMIT (write skew: each transaction reads
/// both users and charges one; the second to commit is refused there) is
/// retried like any other, and nothing is sent after the refused COMMIT:
/// not the ROLLBACK that PostgreSQL would answer with the notice "there is
/// no transaction in progress", which sqlx logs as a WARN (once per lost
/// race, most of a busy instance's log). Current-thread, so that every log
/// line of the app and of sqlx's pool is this test's.
#[tokio::test]
async fn a_serialization_failure_at_commit_is_retried_with_no_stray_rollback() {
    let app = spawn_app().await;
    let users: Vec<i64> =
        sqlx::query_scalar("INSERT INTO users (subject) VALUES ('u1'), ('u2') RETURNING id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let users = [users[0], users[1]];
    let metrics = Arc::new(Metrics::default());
    // A pool of two, one per transaction: the loser's next attempt reuses
    // the connection whose COMMIT failed, so anything queued on it would be
    // sent and answered within the test.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&format!(
            "{}/{}",
            crate::helpers::postgres_base_url(),
            app.db_name
        ))
        .await
        .unwrap();
    let db = Db::new(pool.clone(), metrics.clone());
    let (read, written) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let (attempts, works_done) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let ((results, after), warnings) = crate::helpers::warnings(async {
        let tasks = (0..2).map(|me| {
            let (db, read, written) = (db.clone(), read.clone(), written.clone());
            let (attempts, works_done) = (attempts.clone(), works_done.clone());
            tokio::spawn(async move {
                // This task's attempts: only the first ones meet.
                let first = Arc::new(AtomicU32::new(0));
                db.serializable("test", move |tx| {
                    let (read, written, attempts, works_done, first) = (
                        read.clone(),
                        written.clone(),
                        attempts.clone(),
                        works_done.clone(),
                        first.clone(),
                    );
                    Box::pin(async move {
                        attempts.fetch_add(1, Ordering::SeqCst);
                        let meeting = first.fetch_add(1, Ordering::SeqCst) == 0;
                        sqlx::query("SELECT sum(balance) FROM users WHERE id = ANY($1)")
                            .bind(users.to_vec())
                            .execute(&mut *tx)
                            .await?;
                        if meeting {
                            read.wait().await;
                        }
                        balance::charge(tx, users[me], 10).await?;
                        if meeting {
                            written.wait().await;
                            // The first commits first; the second's COMMIT
                            // is the one refused.
                            if me == 1 {
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                        }
                        works_done.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    })
                })
                .await
            })
        });
        let mut results = Vec::new();
        for task in tasks.collect::<Vec<_>>() {
            results.push(task.await.unwrap());
        }
        // Use both connections again, so that anything left queued on
        // them is sent and answered before the log is read.
        let after: Vec<i64> = sqlx::query_scalar("SELECT balance FROM users ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
        let _ = tokio::join!(pool.acquire(), pool.acquire());
        (results, after)
    })
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        (
            attempts.load(Ordering::SeqCst),
            works_done.load(Ordering::SeqCst)
        ),
        (3, 3),
        "each first attempt ran its work to the end, so one failed at COMMIT, and was rerun"
    );
    assert_eq!(
        metrics.counter("tx_retries_total", &[("use_case", "test")]),
        1
    );
    assert_eq!(after, vec![10, 10], "both charges landed, once each");
    assert!(
        warnings.is_empty(),
        "no WARN (\"there is no transaction in progress\" or any other): {warnings:#?}"
    );
}
