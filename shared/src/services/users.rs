//! Platform administration of users, and the platform-admin grant.

use std::net::IpAddr;

use serde_json::json;
use uuid::Uuid;

use crate::db;
use crate::error::{AppError, AppResult};
use crate::models::AuditAction;
use crate::models::{DisplayName, Email, Page, PageRequest, User, UserStatus};
use crate::repositories::{sessions, users};
use crate::services::access::Caller;
use crate::services::audit;
use crate::state::AppState;

/// Checked changes to a user: at least one is given.
#[derive(Debug)]
pub struct UserChanges {
    /// A new display name.
    pub name: Option<DisplayName>,
    /// A new status; disabling ends every session at once.
    pub status: Option<UserStatus>,
    /// Grant or withdraw platform administration.
    pub is_platform_admin: Option<bool>,
}

fn no_user() -> AppError {
    AppError::NotFound("No such user.".into())
}

/// Users by id, optionally those whose email starts with a prefix.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn list(state: &AppState, prefix: Option<&str>, page: &PageRequest) -> AppResult<Page<User>> {
    let client = db::client(state.pool()).await?;
    let rows = users::list(&client, prefix, page.key::<Uuid>(0)?, page.fetch()).await?;
    Ok(Page::from_rows(rows, page, |u| vec![u.id.to_string()]))
}

/// One user.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn get(state: &AppState, id: Uuid) -> AppResult<User> {
    let client = db::client(state.pool()).await?;
    users::find(&client, id).await?.ok_or_else(no_user)
}

/// Changes a user's name, status or admin flag, audited (`user.updated`, before and after) in
/// the same transaction. Disabling ends all their sessions (each audited `session.revoked`).
/// Admins cannot disable or demote themselves. The active platform admins' rows are locked
/// first, in id order, and the caller's authority is read again under that lock: two admins
/// demoting or disabling each other at once queue, the second is judged as they are after the
/// first (403), and at least one active admin always remains (409).
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn update(
    state: &AppState,
    admin: &Caller,
    id: Uuid,
    req: UserChanges,
    ip: Option<IpAddr>,
) -> AppResult<User> {
    let UserChanges { name, status, is_platform_admin } = req;
    let admin_id = admin.user.id;
    if id == admin_id && (status == Some(UserStatus::Disabled) || is_platform_admin == Some(false)) {
        return Err(AppError::Conflict("You cannot disable or demote yourself; ask another admin.".into()));
    }
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let admins = lock_admins_as(&tx, admin).await?;
    let before = users::find(&tx, id).await?.ok_or_else(no_user)?;
    let removes_an_admin =
        admins.contains(&id) && (status == Some(UserStatus::Disabled) || is_platform_admin == Some(false));
    if removes_an_admin && admins.len() <= 1 {
        return Err(AppError::Conflict("At least one active platform administrator must remain.".into()));
    }
    let name = name.as_ref().map(DisplayName::as_str);
    let user = users::update(&tx, id, name, status, is_platform_admin).await?.ok_or_else(no_user)?;
    let metadata = json!({
        "before": {"name": before.name, "status": before.status, "is_platform_admin": before.is_platform_admin},
        "after": {"name": user.name, "status": user.status, "is_platform_admin": user.is_platform_admin},
    });
    audit::record_account(&tx, admin_id, ip, AuditAction::UserUpdated, &[id], metadata).await?;
    if status == Some(UserStatus::Disabled) {
        let ended = sessions::revoke_others(&tx, id, None).await?;
        if !ended.is_empty() {
            let metadata = json!({"user_id": id, "reason": "user_disabled"});
            audit::record_account(&tx, admin_id, ip, AuditAction::SessionRevoked, &ended, metadata).await?;
        }
        tracing::info!(user_id = %id, sessions = ended.len(), admin_id = %admin_id, "user disabled");
    }
    tx.commit().await?;
    Ok(user)
}

/// The caller changes their own display name.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn update_profile(state: &AppState, user_id: Uuid, name: &DisplayName) -> AppResult<User> {
    let client = db::client(state.pool()).await?;
    users::update(&client, user_id, Some(name.as_str()), None, None).await?.ok_or_else(no_user)
}

/// Makes an existing user a platform admin (the `identity create-admin` command).
/// Takes a pool rather than the whole state: the command needs no signing key.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn grant_platform_admin(pool: &deadpool_postgres::Pool, email: &Email) -> AppResult<User> {
    let client = db::client(pool).await?;
    users::grant_platform_admin(&client, email.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No user has the email {email}; register first.")))
}

/// Locks the active platform administrators' rows, as [`lock_admins_as`] does, for an
/// operator at the command line acting as the administrator `admin` (403 unless they are one).
pub(crate) async fn lock_admin_by_id(tx: &impl crate::repositories::GenericClient, admin: Uuid) -> AppResult<()> {
    if users::lock_platform_admins(tx).await?.contains(&admin) {
        Ok(())
    } else {
        Err(AppError::Forbidden("This needs a platform administrator.".into()))
    }
}

/// Locks the active platform administrators' rows (in id order, as every locker of several
/// does) and checks, under that lock, that `admin` is still one with a live session: a write
/// that demoted, disabled or signed them out first is seen (403). The admins' ids.
pub(crate) async fn lock_admins_as(
    tx: &impl crate::repositories::GenericClient,
    admin: &Caller,
) -> AppResult<Vec<Uuid>> {
    let admins = users::lock_platform_admins(tx).await?;
    let still_admin = admins.contains(&admin.user.id)
        && sessions::find_by_live_session(tx, admin.user.id, admin.session_id).await?.is_some();
    if !still_admin {
        return Err(AppError::Forbidden("This needs a platform administrator.".into()));
    }
    Ok(admins)
}
