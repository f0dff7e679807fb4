//! The sessions a user sees and ends: their own, or any user's for a platform admin. An
//! ended session's access and refresh tokens stop working on their next use, as every request
//! checks its session.

use serde_json::json;
use uuid::Uuid;

use crate::db;
use crate::error::{AppError, AppResult};
use crate::models::AuditAction;
use crate::models::{Page, PageRequest, Session};
use crate::repositories::{sessions, users};
use crate::services::audit;
use crate::state::AppState;

/// Who ends a session, and from where.
#[derive(Clone, Copy, Debug)]
pub struct Ender {
    /// The acting user: the session's own user, or a platform admin.
    pub actor_id: Uuid,
    /// Their address.
    pub ip: Option<std::net::IpAddr>,
}

fn no_session() -> AppError {
    AppError::NotFound("No such session.".into())
}

fn no_user() -> AppError {
    AppError::NotFound("No such user.".into())
}

/// A page of the user's live sessions, newest first; `current` (the asking session) flagged.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn list(
    state: &AppState,
    user_id: Uuid,
    current: Option<Uuid>,
    page: &PageRequest,
) -> AppResult<Page<Session>> {
    let before = page.key::<Uuid>(0)?;
    let client = db::client(state.pool()).await?;
    let rows = sessions::list_live(&client, user_id, current, before, page.fetch()).await?;
    Ok(Page::from_rows(rows, page, |s| vec![s.id.to_string()]))
}

/// As [`list`] for a platform admin: 404 for a user who does not exist.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn list_for_admin(state: &AppState, user_id: Uuid, page: &PageRequest) -> AppResult<Page<Session>> {
    let before = page.key::<Uuid>(0)?;
    let client = db::client(state.pool()).await?;
    let (user, rows) = tokio::try_join!(
        users::find(&client, user_id),
        sessions::list_live(&client, user_id, None, before, page.fetch())
    )?;
    user.ok_or_else(no_user)?;
    Ok(Page::from_rows(rows, page, |s| vec![s.id.to_string()]))
}

/// Ends one of the user's live sessions; 404 for one that is not theirs or already ended
/// (whoever's it is, so session ids of others tell nothing).
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn end(state: &AppState, by: Ender, user_id: Uuid, session_id: Uuid) -> AppResult<()> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    if !sessions::revoke_own(&tx, user_id, session_id).await? {
        return Err(no_session());
    }
    let metadata = json!({"user_id": user_id});
    audit::record_account(&tx, by.actor_id, by.ip, AuditAction::SessionRevoked, &[session_id], metadata).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user_id, session_id = %session_id, actor_id = %by.actor_id, "session ended");
    Ok(())
}

/// Ends every live session of the user but `keep`; how many ended.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn end_others(state: &AppState, by: Ender, user_id: Uuid, keep: Uuid) -> AppResult<usize> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let ended = sessions::revoke_others(&tx, user_id, Some(keep)).await?;
    let metadata = json!({"user_id": user_id});
    audit::record_account(&tx, by.actor_id, by.ip, AuditAction::SessionRevoked, &ended, metadata).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user_id, sessions_ended = ended.len(), "other sessions ended");
    Ok(ended.len())
}
