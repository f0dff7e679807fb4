//! Platform administration of users, and the platform-admin grant.

use serde::Deserialize;
use uuid::Uuid;

use crate::db;
use crate::error::{AppError, AppResult, FieldError};
use crate::models::{User, UserStatus};
use crate::repositories::{sessions, users};
use crate::services::page::{Page, PageParams, PageRequest};
use crate::services::validate;
use crate::state::AppState;

/// Query of GET /users.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Email prefix, matched case-insensitively.
    pub email: Option<String>,
    /// Page size.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

impl UserQuery {
    /// The page part of the query.
    pub fn page(&self) -> AppResult<PageRequest> {
        PageParams { limit: self.limit.clone(), cursor: self.cursor.clone() }.check()
    }
}

/// Body of PATCH /users/{id}.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateUser {
    /// New display name.
    #[schema(value_type = Option<crate::services::validate::DisplayName>)]
    pub name: Option<String>,
    /// `active` or `disabled`; disabling ends every session at once.
    pub status: Option<String>,
    /// Grant or withdraw platform administration.
    pub is_platform_admin: Option<bool>,
}

fn no_user() -> AppError {
    AppError::NotFound("No such user.".into())
}

/// Users by id, optionally those whose email starts with a prefix.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn list(state: &AppState, query: &UserQuery) -> AppResult<Page<User>> {
    let page = query.page()?;
    let prefix = query.email.as_deref().map(validate::email_prefix).filter(|p| !p.is_empty());
    let prefix = prefix.as_deref();
    if prefix.is_some_and(|p| p.len() > 254) {
        return Err(AppError::invalid("email", "must be at most 254 bytes"));
    }
    if prefix.is_some_and(|p| p.chars().any(char::is_control)) {
        return Err(AppError::invalid("email", "must not contain control characters"));
    }
    let client = db::client(state.pool()).await?;
    let rows = users::list(&client, prefix, page.key::<Uuid>(0)?, page.fetch()).await?;
    Ok(Page::from_rows(rows, &page, |u| vec![u.id.to_string()]))
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
pub async fn update(state: &AppState, admin: &User, id: Uuid, req: UpdateUser) -> AppResult<User> {
    let mut errors = vec![];
    let name = req.name.as_deref().map(|n| validate::name("name", n, &mut errors));
    let status = match req.status.as_deref() {
        None => None,
        Some("active") => Some(UserStatus::Active),
        Some("disabled") => Some(UserStatus::Disabled),
        Some(_) => {
            errors.push(FieldError::new("status", "must be 'active' or 'disabled'"));
            None
        }
    };
    if name.is_none() && req.status.is_none() && req.is_platform_admin.is_none() {
        errors.push(FieldError::new("", "give name, status or is_platform_admin to change"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if id == admin.id && (status == Some(UserStatus::Disabled) || req.is_platform_admin == Some(false)) {
        return Err(AppError::Conflict("You cannot disable or demote yourself; ask another admin.".into()));
    }
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let user = users::update(&tx, id, name.as_deref(), status.map(UserStatus::as_str), req.is_platform_admin)
        .await?
        .ok_or_else(no_user)?;
    if status == Some(UserStatus::Disabled) {
        let ended = sessions::revoke_all_for_user(&tx, id).await?;
        tracing::info!(user_id = %id, sessions = ended, admin_id = %admin.id, "user disabled");
    }
    tx.commit().await?;
    Ok(user)
}

/// Makes an existing user a platform admin (the `identity create-admin` command).
/// Takes a pool rather than the whole state: the command needs no signing key.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn grant_platform_admin(pool: &deadpool_postgres::Pool, email: &str) -> AppResult<User> {
    let mut errors = vec![];
    // The same canonical form register stores, so any spelling of the address finds it.
    let email = validate::email("email", email, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let client = db::client(pool).await?;
    users::grant_platform_admin(&client, &email)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No user has the email {email}; register first.")))
}
