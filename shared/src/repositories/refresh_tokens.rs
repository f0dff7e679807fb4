//! The refresh_tokens table: one rotation chain per session.

use std::time::Duration;

use uuid::Uuid;

use super::{GenericClient, cached};
use crate::db::DbError;

const INSERT: &str = "INSERT INTO refresh_tokens (id, session_id, token_hash, parent_id, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))";

/// Stores a new refresh token of a session.
pub async fn insert(
    db: &impl GenericClient,
    id: Uuid,
    session_id: Uuid,
    token_hash: &[u8],
    parent_id: Option<Uuid>,
    ttl: Duration,
) -> Result<(), DbError> {
    cached::execute(db, INSERT, &[&id, &session_id, &token_hash, &parent_id, &ttl.as_secs_f64()]).await?;
    Ok(())
}

/// A refresh token that was just consumed.
#[derive(Debug, Clone, Copy, postgres_from_row::FromRow)]
pub struct Consumed {
    /// The token's id, parent of its successor.
    pub id: Uuid,
    /// Its session.
    pub session_id: Uuid,
}

const CONSUME: &str = "UPDATE refresh_tokens SET used_at = now()
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
             RETURNING id, session_id";

/// Marks an unused, unexpired token as used, atomically: of concurrent calls with one token,
/// exactly one gets it back.
pub async fn consume(db: &impl GenericClient, token_hash: &[u8]) -> Result<Option<Consumed>, DbError> {
    cached::fetch_opt(db, CONSUME, &[&token_hash]).await
}

const FIND_SPENT_SESSION: &str = "SELECT session_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL";

/// The session of a token that was already used: a sign of replay.
pub async fn find_spent_session(db: &impl GenericClient, token_hash: &[u8]) -> Result<Option<Uuid>, DbError> {
    cached::value_opt(db, FIND_SPENT_SESSION, &[&token_hash]).await
}
