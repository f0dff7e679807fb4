//! Quotas on what mails or grows without bound: per organization (invitations sent, roles),
//! per invitation (resends) and per account (email changes, organizations, sessions). Each is
//! counted in the transaction of the write it limits, so a refused write counts nothing and
//! concurrent writes are counted one after another.

use std::time::Duration;

use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::repositories::{GenericClient, quotas};
use crate::state::AppState;

const HOUR: Duration = Duration::from_secs(3600);
/// What a count of things that exist answers in Retry-After: it frees only when one is deleted.
const EXISTING_RETRY: Duration = Duration::from_secs(60);

/// A quota counted per hour.
#[derive(Clone, Copy, Debug)]
pub enum Hourly {
    /// Invitations created and resent by an organization.
    InvitationsPerOrg,
    /// Resends of one invitation.
    ResendsPerInvitation,
    /// Email change requests of one account.
    EmailChangesPerUser,
}

impl Hourly {
    fn name(self) -> &'static str {
        match self {
            Hourly::InvitationsPerOrg => "invitations_per_org_hour",
            Hourly::ResendsPerInvitation => "resends_per_invitation_hour",
            Hourly::EmailChangesPerUser => "email_changes_per_user_hour",
        }
    }

    fn limit(self, state: &AppState) -> u32 {
        let quotas = &state.config().quotas;
        match self {
            Hourly::InvitationsPerOrg => quotas.invitations_per_org_hour,
            Hourly::ResendsPerInvitation => quotas.resends_per_invitation_hour,
            Hourly::EmailChangesPerUser => quotas.email_changes_per_user_hour,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Hourly::InvitationsPerOrg => "This organization has sent as many invitations as it may this hour",
            Hourly::ResendsPerInvitation => "This invitation has been resent as often as it may be this hour",
            Hourly::EmailChangesPerUser => "This account has asked to change its address as often as it may this hour",
        }
    }
}

/// Counts one use of `quota` by `subject` in the caller's transaction; 429 `quota-exceeded`
/// with the wait until the window frees one when it is spent.
pub async fn spend(state: &AppState, tx: &impl GenericClient, quota: Hourly, subject: Uuid) -> AppResult<()> {
    let limit = quota.limit(state);
    if limit == 0 {
        return Ok(());
    }
    let (hits, window_end) = quotas::hit(tx, quota.name(), subject, HOUR).await?;
    if u32::try_from(hits).unwrap_or(u32::MAX) <= limit {
        return Ok(());
    }
    Err(AppError::QuotaExceeded {
        quota: quota.name(),
        detail: format!("{} ({limit}); try again later.", quota.what()),
        retry_after: (window_end - chrono::Utc::now()).to_std().unwrap_or(Duration::from_secs(1)),
    })
}

/// Forgets counters whose window began over a day ago (the mailer's schedule runs this).
pub async fn prune(db: &impl GenericClient) -> Result<u64, crate::db::DbError> {
    quotas::prune(db, chrono::Utc::now() - chrono::Duration::days(1)).await
}

/// 429 `quota-exceeded` when `existing` things already fill a count quota of `limit` (0: no
/// limit); `what` says what is counted.
pub fn room_for_one(quota: &'static str, existing: i64, limit: u32, what: &str) -> AppResult<()> {
    if limit == 0 || existing < i64::from(limit) {
        return Ok(());
    }
    Err(AppError::QuotaExceeded {
        quota,
        detail: format!("{what} reached its quota ({limit}); delete one first."),
        retry_after: EXISTING_RETRY,
    })
}

/// How long a machine over its per-minute `limit` (0: none) waits, from the hits the statement
/// that found it counted and when their window ends; None when it is within the limit.
pub fn over_minute_limit(
    hits: Option<i32>,
    window_end: Option<chrono::DateTime<chrono::Utc>>,
    limit: i64,
) -> Option<std::time::Duration> {
    let (hits, window_end) = (hits?, window_end?);
    (limit > 0 && i64::from(hits) > limit).then(|| {
        let wait = (window_end - chrono::Utc::now()).to_std().unwrap_or_default();
        wait.max(std::time::Duration::from_secs(1))
    })
}
