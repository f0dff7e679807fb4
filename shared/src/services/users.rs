//! Platform administration of users, and the platform-admin grant.

use uuid::Uuid;

use crate::db;
use crate::error::{AppError, AppResult};
use crate::models::{DisplayName, Email, Page, PageRequest, User, UserStatus};
use crate::repositories::{sessions, users};
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

/// Changes a user's name, status or admin flag. Disabling revokes all their sessions in the
/// same transaction. Admins cannot disable or demote themselves, so one always remains.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn update(state: &AppState, admin: &User, id: Uuid, req: UserChanges) -> AppResult<User> {
    let UserChanges { name, status, is_platform_admin } = req;
    if id == admin.id && (status == Some(UserStatus::Disabled) || is_platform_admin == Some(false)) {
        return Err(AppError::Conflict("You cannot disable or demote yourself; ask another admin.".into()));
    }
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let name = name.as_ref().map(DisplayName::as_str);
    let user = users::update(&tx, id, name, status, is_platform_admin).await?.ok_or_else(no_user)?;
    if status == Some(UserStatus::Disabled) {
        let ended = sessions::revoke_all_for_user(&tx, id).await?;
        tracing::info!(user_id = %id, sessions = ended, admin_id = %admin.id, "user disabled");
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
