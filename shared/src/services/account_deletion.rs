//! Deleting an account (GDPR erasure), by its user or a platform admin: refused while it is
//! the last owner of an org; otherwise the account, its sessions, memberships and one-time
//! tokens go in one transaction and the audit log keeps ids but no personal data.

use serde_json::json;
use uuid::Uuid;

use crate::db;
use crate::error::{AppError, AppResult};
use crate::models::AuditAction;
use crate::models::Password;
use crate::models::organization::OWNER_ROLE_ID;
use crate::repositories::{audit as audit_rows, lockouts, memberships, outbox, users};
use crate::services::access::Caller;
use crate::services::account;
use crate::services::audit::{self, Attribution};
use crate::state::AppState;

/// Deletes the caller's account once their password is confirmed.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn delete_own(
    state: &AppState,
    caller: &Caller,
    password: &Password,
    ip: Option<std::net::IpAddr>,
) -> AppResult<()> {
    account::confirm_password(state, caller, password, "password").await?;
    erase(state, caller.user.id, caller.user.id, ip).await
}

/// A platform admin deletes a user's account; their own goes through DELETE /me.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn delete_user(
    state: &AppState,
    admin: &Caller,
    user_id: Uuid,
    ip: Option<std::net::IpAddr>,
) -> AppResult<()> {
    if user_id == admin.user.id {
        return Err(AppError::Conflict(
            "Delete your own account with DELETE /me, which asks for your password.".into(),
        ));
    }
    erase(state, user_id, admin.user.id, ip).await
}

async fn erase(state: &AppState, user_id: Uuid, actor_id: Uuid, ip: Option<std::net::IpAddr>) -> AppResult<()> {
    // A user's own address is their personal data too: the rows of their own deletion keep none.
    let ip = if actor_id == user_id { None } else { ip };
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    // The account's row first: an organization being created by this user (which locks
    // it) is waited for, and then counted below, so it cannot be left without an owner.
    if !users::lock_for_deletion(&tx, user_id).await? {
        return Err(AppError::NotFound("No such user.".into()));
    }
    // The orgs' rows are locked as removing a member locks them, so two owners of one org
    // deleting themselves at once cannot both pass the check below.
    let orgs = memberships::lock_orgs_of(&tx, user_id).await?;
    let sole = memberships::sole_holder_in(&tx, user_id, OWNER_ROLE_ID).await?;
    if !sole.is_empty() {
        let named: Vec<String> = sole.iter().map(|(name, slug)| format!("{name} ({slug})")).collect();
        return Err(AppError::Conflict(format!(
            "This account is the last owner of {}: make someone else owner, or delete the organization, first.",
            named.join(", ")
        )));
    }
    let email = users::delete(&tx, user_id).await?.ok_or_else(|| AppError::NotFound("No such user.".into()))?;
    let target = [user_id];
    let (scrubbed, _, (), (), ()) = tokio::try_join!(
        audit_rows::erase_personal_data(&tx, user_id, &email),
        outbox::forget_delivered_to(&tx, &email),
        lockouts::clear(&tx, &email),
        crate::services::lockouts::clear_codes(&tx, user_id),
        audit::record_account(&tx, actor_id, ip, AuditAction::UserDeleted, &target, json!({})),
    )?;
    // Each org's own log says the member left, as its members would otherwise see a gap.
    for org_id in &orgs {
        let actor = Attribution { org_id: *org_id, actor_id: Some(actor_id), actor_type: "user", ip };
        audit::record(&tx, actor, AuditAction::MemberRemoved, user_id, json!({"reason": "account_deleted"})).await?;
    }
    tx.commit().await?;
    tracing::info!(user_id = %user_id, actor_id = %actor_id, orgs = orgs.len(), audit_rows_scrubbed = scrubbed, "account deleted");
    Ok(())
}
