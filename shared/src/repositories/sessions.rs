//! The sessions table.

use std::sync::LazyLock;
use std::time::Duration;

use uuid::Uuid;

use super::{GenericClient, cached, users};
use crate::db::DbError;
use crate::models::{ClientInfo, User};

/// A session to open, with its first refresh token.
pub struct NewSession<'a> {
    /// Session id.
    pub id: Uuid,
    /// Its user.
    pub user_id: Uuid,
    /// The organization it starts scoped to, if any.
    pub org_id: Option<Uuid>,
    /// Who opened it.
    pub client: &'a ClientInfo,
    /// The first refresh token's id.
    pub token_id: Uuid,
    /// The first refresh token's hash.
    pub token_hash: &'a [u8],
    /// How long the first refresh token lives.
    pub token_ttl: Duration,
}

/// Opens a session and stores its first refresh token, in one statement: the two exist
/// together or not at all, without a transaction around them.
pub async fn open(db: &impl GenericClient, new: &NewSession<'_>) -> Result<(), DbError> {
    cached::execute(
        db,
        "WITH s AS (INSERT INTO sessions (id, user_id, user_agent, ip, org_id) VALUES ($1, $2, $3, $4, $5) RETURNING id)
         INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at)
         SELECT $6, s.id, $7, now() + make_interval(secs => $8) FROM s",
        &[
            &new.id,
            &new.user_id,
            &new.client.user_agent,
            &new.client.ip,
            &new.org_id,
            &new.token_id,
            &new.token_hash,
            &new.token_ttl.as_secs_f64(),
        ],
    )
    .await?;
    Ok(())
}

/// Ends a session; true if it was live.
pub async fn revoke(db: &impl GenericClient, id: Uuid) -> Result<bool, DbError> {
    let n = cached::execute(db, "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", &[&id])
        .await?;
    Ok(n == 1)
}

/// A live session just marked as used: its active user and its active organization.
pub struct Touched {
    /// The session's user, active.
    pub user: User,
    /// The organization the session is scoped to, if any.
    pub org_id: Option<Uuid>,
}

/// Marks a live session of an active user as used now and returns the user and the session's
/// organization in the same statement; `None` if the session has ended or the user is
/// disabled.
pub async fn touch(db: &impl GenericClient, id: Uuid) -> Result<Option<Touched>, DbError> {
    // Built once: every refresh runs it.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE sessions s SET last_used_at = now()
             FROM users u
             WHERE s.id = $1 AND s.revoked_at IS NULL AND u.id = s.user_id AND u.status = 'active'
             RETURNING {}, s.org_id AS session_org_id",
            *users::U_COLUMNS
        )
    });
    let row = cached::query_opt(db, &SQL, &[&id]).await?;
    Ok(row.map(|r| Touched { user: users::user(&r), org_id: r.get("session_org_id") }))
}

/// Ends every live session of a user; returns how many.
pub async fn revoke_all_for_user(db: &impl GenericClient, user_id: Uuid) -> Result<u64, DbError> {
    cached::execute(db, "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", &[&user_id])
        .await
}

/// Sets or clears the session's active organization.
pub async fn set_org(db: &impl GenericClient, id: Uuid, org_id: Option<Uuid>) -> Result<(), DbError> {
    cached::execute(db, "UPDATE sessions SET org_id = $2 WHERE id = $1", &[&id, &org_id]).await?;
    Ok(())
}

/// Ends every live session of a user but one.
pub async fn revoke_others(db: &impl GenericClient, user_id: Uuid, keep: Uuid) -> Result<u64, DbError> {
    cached::execute(
        db,
        "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL",
        &[&user_id, &keep],
    )
    .await
}
