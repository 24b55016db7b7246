//! `chargeBalance`: adds money to the caller's balance, at most once per
//! idempotency key.

use super::{Services, identity};
use crate::auth::Principal;
use crate::db::RowKey;
use crate::domain::{balance, idempotency};
use crate::error::AppResult;

const OPERATION: &str = "chargeBalance";

/// Charges `amount` to the caller's balance; returns the caller's user id.
///
/// With an `idempotency_key`, a retry of the same charge does nothing more,
/// and the same key with another amount is `IDEMPOTENCY_KEY_REUSED`.
pub async fn charge(
    services: &Services,
    caller: &Principal,
    amount: i64,
    idempotency_key: Option<String>,
) -> AppResult<i64> {
    balance::validate_charge(amount)?;
    if let Some(key) = &idempotency_key {
        idempotency::validate_key(key)?;
    }
    let user_id = identity::user_id(services, caller).await?;
    let fingerprint = format!("amount={amount}");
    services
        .db
        .serializable_on(OPERATION, &[RowKey::new("users", user_id)], |tx| {
            let key = idempotency_key.clone();
            let fingerprint = fingerprint.clone();
            Box::pin(async move {
                let Some(key) = key else {
                    balance::charge(tx, user_id, amount).await?;
                    return Ok(user_id);
                };
                if idempotency::replay(tx, user_id, OPERATION, &key, &fingerprint)
                    .await?
                    .is_none()
                {
                    let ledger_id = balance::charge(tx, user_id, amount).await?;
                    idempotency::record(tx, user_id, OPERATION, &key, &fingerprint, ledger_id)
                        .await?;
                }
                Ok(user_id)
            })
        })
        .await
}
