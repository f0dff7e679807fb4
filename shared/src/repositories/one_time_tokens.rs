//! The one_time_tokens table: email verification and password reset tokens.

use std::time::Duration;

use uuid::Uuid;

use super::{GenericClient, cached};
use crate::db::DbError;

crate::models::text_enum::text_enum! {
    /// What a one-time token is for.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Purpose {
        /// Proves an email address.
        VerifyEmail = "verify_email",
        /// Allows choosing a new password.
        ResetPassword = "reset_password",
        /// Moves the account to the address it was mailed to.
        ChangeEmail = "change_email",
    }
}

/// Stores a new token in place of the user's unspent one for the same purpose: only the
/// newest link works. One upsert on the one-live-token index, so concurrent requests queue on
/// the row instead of each leaving a live token behind.
pub async fn replace(
    db: &impl GenericClient,
    user_id: Uuid,
    purpose: Purpose,
    token_hash: &[u8],
    ttl: Duration,
) -> Result<(), DbError> {
    cached::execute(
        db,
        "INSERT INTO one_time_tokens (id, user_id, purpose, token_hash, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
         ON CONFLICT (user_id, purpose) WHERE used_at IS NULL DO UPDATE
             SET id = EXCLUDED.id, token_hash = EXCLUDED.token_hash, expires_at = EXCLUDED.expires_at,
                 created_at = now()",
        &[&Uuid::now_v7(), &user_id, &purpose, &token_hash, &ttl.as_secs_f64()],
    )
    .await?;
    Ok(())
}

/// Stores a token to move the user to `new_email`, in place of their unspent one: only the
/// newest change link works. `session_id` is the session that asked, kept when others end.
pub async fn replace_email_change(
    db: &impl GenericClient,
    user_id: Uuid,
    token_hash: &[u8],
    ttl: Duration,
    new_email: &str,
    session_id: Uuid,
) -> Result<(), DbError> {
    cached::execute(
        db,
        "INSERT INTO one_time_tokens (id, user_id, purpose, token_hash, expires_at, new_email, session_id)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6, $7)
         ON CONFLICT (user_id, purpose) WHERE used_at IS NULL DO UPDATE
             SET id = EXCLUDED.id, token_hash = EXCLUDED.token_hash, expires_at = EXCLUDED.expires_at,
                 new_email = EXCLUDED.new_email, session_id = EXCLUDED.session_id, created_at = now()",
        &[&Uuid::now_v7(), &user_id, &Purpose::ChangeEmail, &token_hash, &ttl.as_secs_f64(), &new_email, &session_id],
    )
    .await?;
    Ok(())
}

/// A spent email change token: whose, the address, and the session that asked.
#[derive(Debug, postgres_from_row::FromRow)]
pub struct EmailChange {
    /// The account to move.
    pub user_id: Uuid,
    /// The address the link was mailed to.
    pub new_email: String,
    /// The session that asked, if it still exists.
    pub session_id: Option<Uuid>,
}

/// Spends a live email change token in one atomic statement.
pub async fn consume_email_change(db: &impl GenericClient, token_hash: &[u8]) -> Result<Option<EmailChange>, DbError> {
    cached::fetch_opt(
        db,
        "UPDATE one_time_tokens SET used_at = now()
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
             RETURNING user_id, new_email, session_id",
        &[&token_hash, &Purpose::ChangeEmail],
    )
    .await
}

/// Spends every live token of the user: links mailed to an address they no longer use.
pub async fn spend_all(db: &impl GenericClient, user_id: Uuid) -> Result<u64, DbError> {
    cached::execute(
        db,
        "UPDATE one_time_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL",
        &[&user_id],
    )
    .await
}

/// Spends a live token in one atomic statement and returns its user.
pub async fn consume(db: &impl GenericClient, token_hash: &[u8], purpose: Purpose) -> Result<Option<Uuid>, DbError> {
    cached::value_opt(
        db,
        "UPDATE one_time_tokens SET used_at = now()
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
             RETURNING user_id",
        &[&token_hash, &purpose],
    )
    .await
}

/// True while a token could still be spent: the cheap check that comes before a password hash.
pub async fn is_live(db: &impl GenericClient, token_hash: &[u8], purpose: Purpose) -> Result<bool, DbError> {
    let row = cached::query_opt(
        db,
        "SELECT 1 FROM one_time_tokens
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()",
        &[&token_hash, &purpose],
    )
    .await?;
    Ok(row.is_some())
}
