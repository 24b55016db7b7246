//! chargeBalance: bounded amounts, racing charges all counted, idempotency.

use std::sync::Arc;

use serde_json::json;

use crate::helpers::spawn_app;

const CHARGE: &str = "mutation($i: ChargeBalanceInput!) {
    chargeBalance(input: $i) { user { balance } userErrors { code field message } } }";

#[tokio::test]
async fn a_charge_adds_to_the_balance_and_the_ledger() {
    let app = spawn_app().await;
    let r = app.charge("alice", 15_000).await;
    assert_eq!(r.data()["chargeBalance"]["user"]["balance"], "15000");
    let r = app.charge("alice", 5).await;
    assert_eq!(r.data()["chargeBalance"]["user"]["balance"], "15005");
    assert_eq!(app.balance_and_ledger("alice").await, (15_005, 15_005));
}

#[tokio::test]
async fn out_of_range_amounts_are_invalid_and_change_nothing() {
    let app = spawn_app().await;
    app.charge("alice", 100).await;
    for amount in [
        json!("0"),
        json!("-5"),
        json!(-5),
        json!("100000000001"),
        json!("9223372036854775807"),
    ] {
        let r = app
            .as_user("alice", CHARGE, json!({"i": {"amount": amount}}))
            .await;
        assert_eq!(
            r.user_error_codes("chargeBalance"),
            ["INVALID_INPUT"],
            "{amount}"
        );
        assert_eq!(
            r.user_error_fields("chargeBalance"),
            ["input.amount"],
            "{amount}"
        );
    }
    for amount in [
        json!("9223372036854775808"),
        json!("1.5"),
        json!("ten"),
        json!(true),
    ] {
        let r = app
            .as_user("alice", CHARGE, json!({"i": {"amount": amount}}))
            .await;
        assert_eq!(r.error_code(), "BAD_REQUEST", "{amount}");
    }
    assert_eq!(app.balance_and_ledger("alice").await, (100, 100));
}

#[tokio::test]
async fn the_balance_never_passes_its_ceiling() {
    let app = spawn_app().await;
    let max_charge = commerce::domain::balance::MAX_CHARGE;
    let charges = commerce::domain::balance::MAX_BALANCE / max_charge;
    // Fill the balance to the ceiling directly (10,000 charges over HTTP would be slow).
    sqlx::query("INSERT INTO users (subject) VALUES ('whale')")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO balance_ledger (user_id, kind, amount)
         SELECT id, 'CHARGE', $1 FROM users, generate_series(1, $2) WHERE subject = 'whale'",
    )
    .bind(max_charge)
    .bind(charges)
    .execute(&app.pool)
    .await
    .unwrap();
    let r = app.charge("whale", 1).await;
    assert_eq!(r.user_error_codes("chargeBalance"), ["INVALID_INPUT"]);
    let max = commerce::domain::balance::MAX_BALANCE;
    assert_eq!(app.balance_and_ledger("whale").await, (max, max));
}

#[tokio::test]
async fn fifty_racing_charges_are_all_counted() {
    let app = Arc::new(spawn_app().await);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move { app.charge("racer", 7).await }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert!(
            r.user_error_codes("chargeBalance").is_empty(),
            "{:?}",
            r.body
        );
    }
    assert_eq!(app.balance_and_ledger("racer").await, (350, 350));
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM balance_ledger")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 50);
    let giveups = app
        .state
        .metrics()
        .counter("tx_giveups_total", &[("use_case", "chargeBalance")]);
    assert_eq!(giveups, 0, "no charge was given up");
}

#[tokio::test]
async fn an_idempotency_key_charges_once() {
    let app = Arc::new(spawn_app().await);
    let vars = json!({"i": {"amount": "500", "idempotencyKey": "topup-1"}});
    let first = app.as_user("alice", CHARGE, vars.clone()).await;
    assert_eq!(first.data()["chargeBalance"]["user"]["balance"], "500");
    let again = app.as_user("alice", CHARGE, vars.clone()).await;
    assert_eq!(
        again.data()["chargeBalance"]["user"]["balance"],
        "500",
        "the retry charged nothing"
    );
    // Racing retries of one key: still once.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.as_user(
                "bob",
                CHARGE,
                json!({"i": {"amount": "70", "idempotencyKey": "k"}}),
            )
            .await
        }));
    }
    for t in tasks {
        assert_eq!(
            t.await.unwrap().data()["chargeBalance"]["user"]["balance"],
            "70"
        );
    }
    assert_eq!(app.balance_and_ledger("bob").await, (70, 70));
    // Keys are per user: alice's key does not affect bob.
    let r = app.as_user("bob", CHARGE, vars).await;
    assert_eq!(r.data()["chargeBalance"]["user"]["balance"], "570");
}

#[tokio::test]
async fn a_key_reused_with_another_amount_is_refused() {
    let app = spawn_app().await;
    app.as_user(
        "alice",
        CHARGE,
        json!({"i": {"amount": "500", "idempotencyKey": "k1"}}),
    )
    .await;
    let r = app
        .as_user(
            "alice",
            CHARGE,
            json!({"i": {"amount": "501", "idempotencyKey": "k1"}}),
        )
        .await;
    assert_eq!(
        r.user_error_codes("chargeBalance"),
        ["IDEMPOTENCY_KEY_REUSED"]
    );
    assert_eq!(
        r.user_error_fields("chargeBalance"),
        ["input.idempotencyKey"]
    );
    let r = app
        .as_user(
            "alice",
            CHARGE,
            json!({"i": {"amount": "1", "idempotencyKey": ""}}),
        )
        .await;
    assert_eq!(r.user_error_codes("chargeBalance"), ["INVALID_INPUT"]);
    let r = app
        .as_user(
            "alice",
            CHARGE,
            json!({"i": {"amount": "1", "idempotencyKey": "x".repeat(256)}}),
        )
        .await;
    assert_eq!(r.user_error_codes("chargeBalance"), ["INVALID_INPUT"]);
    assert_eq!(app.balance_and_ledger("alice").await, (500, 500));
}

#[tokio::test]
async fn the_database_refuses_a_negative_balance_and_ledger_edits() {
    let app = spawn_app().await;
    app.charge("alice", 10).await;
    // The last line of defence, if the code ever got it wrong.
    let overdraft = sqlx::query(
        "INSERT INTO balance_ledger (user_id, kind, amount, order_id)
         SELECT id, 'PAYMENT', -11, NULL FROM users WHERE subject = 'alice'",
    )
    .execute(&app.pool)
    .await;
    assert!(overdraft.is_err());
    assert!(
        sqlx::query("UPDATE balance_ledger SET amount = 1000")
            .execute(&app.pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("UPDATE users SET balance = -1")
            .execute(&app.pool)
            .await
            .is_err()
    );
    assert_eq!(app.balance_and_ledger("alice").await, (10, 10));
}
