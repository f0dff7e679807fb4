//! Per-email lockout of password guesses (login, change of password), beside the per-IP limits,
//! and per-account lockout of second-factor guesses, counted apart from passwords.

use uuid::Uuid;

use crate::db::DbError;
use crate::error::{AppError, AppResult};
use crate::repositories::{GenericClient, lockouts};
use crate::state::AppState;

/// Counts an attempt at `email`'s password before it is checked, so concurrent guesses cannot
/// race past the limit; 429 with `detail` while the email is locked.
pub async fn reserve_attempt(state: &AppState, db: &impl GenericClient, email: &str, detail: &str) -> AppResult<()> {
    let config = state.config();
    reserve(db, email, config.login_max_failures, config.login_lockout, detail).await
}

/// Records that the password offered for `email` was wrong, locking it at the limit.
pub async fn record_failure(state: &AppState, db: &impl GenericClient, email: &str) -> AppResult<()> {
    let config = state.config();
    Ok(lockouts::record_failure(db, email, config.login_max_failures, config.login_lockout).await?)
}

/// The counter of an account's wrong codes: a key no email can be (it has no `@`).
fn code_key(user_id: Uuid) -> String {
    format!("mfa:{user_id}")
}

/// Counts a second-factor attempt for the account before the code is checked; 429 while the
/// account is locked by wrong codes.
pub async fn reserve_code_attempt(state: &AppState, db: &impl GenericClient, user_id: Uuid) -> AppResult<()> {
    let mfa = &state.config().mfa;
    let detail = "Too many wrong codes for this account; try again later.";
    reserve(db, &code_key(user_id), mfa.max_failures, mfa.lockout, detail).await
}

/// Records a wrong code, locking the account's codes at the limit.
pub async fn record_code_failure(state: &AppState, db: &impl GenericClient, user_id: Uuid) -> AppResult<()> {
    let mfa = &state.config().mfa;
    Ok(lockouts::record_failure(db, &code_key(user_id), mfa.max_failures, mfa.lockout).await?)
}

/// After a right code, or when an admin resets the factors: forgets the wrong codes.
pub async fn clear_codes(db: &impl GenericClient, user_id: Uuid) -> Result<(), DbError> {
    lockouts::clear(db, &code_key(user_id)).await
}

async fn reserve(
    db: &impl GenericClient,
    key: &str,
    max: i32,
    lockout: std::time::Duration,
    detail: &str,
) -> AppResult<()> {
    match lockouts::reserve_attempt(db, key, max, lockout).await? {
        None => Ok(()),
        Some(until) => Err(AppError::TooManyRequests {
            detail: detail.to_owned(),
            retry_after: (until - chrono::Utc::now()).to_std().unwrap_or_default(),
        }),
    }
}
