//! Per-email lockout of password guesses (login, change of password), beside the per-IP limits.

use crate::error::{AppError, AppResult};
use crate::repositories::{GenericClient, lockouts};
use crate::state::AppState;

/// Counts an attempt at `email`'s password before it is checked, so concurrent guesses cannot
/// race past the limit; 429 with `detail` while the email is locked.
pub async fn reserve_attempt(state: &AppState, db: &impl GenericClient, email: &str, detail: &str) -> AppResult<()> {
    let config = state.config();
    match lockouts::reserve_attempt(db, email, config.login_max_failures, config.login_lockout).await? {
        None => Ok(()),
        Some(until) => Err(AppError::TooManyRequests {
            detail: detail.to_owned(),
            retry_after: (until - chrono::Utc::now()).to_std().unwrap_or_default(),
        }),
    }
}

/// Records that the password offered for `email` was wrong, locking it at the limit.
pub async fn record_failure(state: &AppState, db: &impl GenericClient, email: &str) -> AppResult<()> {
    let config = state.config();
    Ok(lockouts::record_failure(db, email, config.login_max_failures, config.login_lockout).await?)
}
