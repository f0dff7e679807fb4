//! The one_time_tokens table: email verification, password reset and email change links.
//! Each link records the account's security stamp when it was issued, and is spent only while
//! the account is active and still has that stamp: a credential change voids every link.

use std::time::Duration;

use uuid::Uuid;

use const_format::concatcp;

use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{PendingEmailChange, UserStatus};

/// A live token row `t` (by hash `$1`, purpose `$2`) whose account is active and still has the
/// stamp the token was issued under; the account's row is locked for the change the token
/// makes, so a credential change in flight is waited for and then seen.
const LIVE: &str = "t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > now()
     AND EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id AND u.security_stamp = t.security_stamp
                   AND u.status = $3 FOR NO KEY UPDATE)";
const CONSUME: &str = concatcp!("UPDATE one_time_tokens t SET used_at = now() WHERE ", LIVE, " RETURNING t.user_id");
const CONSUME_EMAIL_CHANGE: &str = concatcp!(
    "UPDATE one_time_tokens t SET used_at = now() WHERE ",
    LIVE,
    " RETURNING t.user_id, t.new_email, t.session_id, t.security_stamp"
);
/// The same check, without spending or locking, for a page to show before the click.
const IS_LIVE: &str = "SELECT 1 FROM one_time_tokens t JOIN users u ON u.id = t.user_id
     WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > now()
       AND u.security_stamp = t.security_stamp AND u.status = $3";
const PENDING_CHANGE: &str =
    "SELECT u.name, u.email, t.new_email FROM one_time_tokens t JOIN users u ON u.id = t.user_id
     WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > now()
       AND u.security_stamp = t.security_stamp AND u.status = $3";
/// Spends the live change whose notice carried this cancel token.
const CANCEL_BY_TOKEN: &str = "UPDATE one_time_tokens SET used_at = now()
     WHERE cancel_token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
     RETURNING user_id, new_email";
const CANCEL_FOR_USER: &str = "UPDATE one_time_tokens SET used_at = now()
     WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL RETURNING new_email";

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

const REPLACE: &str = "INSERT INTO one_time_tokens (id, user_id, purpose, token_hash, expires_at, security_stamp)
         SELECT $1, u.id, $3, $4, now() + make_interval(secs => $5), u.security_stamp FROM users u WHERE u.id = $2
         ON CONFLICT (user_id, purpose) WHERE used_at IS NULL DO UPDATE
             SET id = EXCLUDED.id, token_hash = EXCLUDED.token_hash, expires_at = EXCLUDED.expires_at,
                 security_stamp = EXCLUDED.security_stamp, created_at = now()";

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
    cached::execute(db, REPLACE, &[&Uuid::now_v7(), &user_id, &purpose, &token_hash, &ttl.as_secs_f64()]).await?;
    Ok(())
}

/// An email change to store: the link for the new address and the cancel link for the old.
pub struct NewEmailChange<'a> {
    /// The account to move.
    pub user_id: Uuid,
    /// The hash of the token mailed to the new address.
    pub token_hash: &'a [u8],
    /// The hash of the token mailed to the current address, which cancels the change.
    pub cancel_token_hash: &'a [u8],
    /// How long both work.
    pub ttl: Duration,
    /// Where the account goes.
    pub new_email: &'a str,
    /// The session that asked, kept when others end.
    pub session_id: Uuid,
    /// The stamp the asking session held (checked and locked by the caller).
    pub security_stamp: Uuid,
}

const REPLACE_EMAIL_CHANGE: &str =
    "INSERT INTO one_time_tokens (id, user_id, purpose, token_hash, expires_at, new_email, session_id,
                                      security_stamp, cancel_token_hash)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6, $7, $8, $9)
         ON CONFLICT (user_id, purpose) WHERE used_at IS NULL DO UPDATE
             SET id = EXCLUDED.id, token_hash = EXCLUDED.token_hash, expires_at = EXCLUDED.expires_at,
                 new_email = EXCLUDED.new_email, session_id = EXCLUDED.session_id,
                 security_stamp = EXCLUDED.security_stamp, cancel_token_hash = EXCLUDED.cancel_token_hash,
                 created_at = now()";

/// Stores a change in place of the user's unspent one: only the newest change link works.
pub async fn replace_email_change(db: &impl GenericClient, new: &NewEmailChange<'_>) -> Result<(), DbError> {
    cached::execute(
        db,
        REPLACE_EMAIL_CHANGE,
        &[
            &Uuid::now_v7(),
            &new.user_id,
            &Purpose::ChangeEmail,
            &new.token_hash,
            &new.ttl.as_secs_f64(),
            &new.new_email,
            &new.session_id,
            &new.security_stamp,
            &new.cancel_token_hash,
        ],
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
    /// The account's stamp when it was asked (and still now).
    pub security_stamp: Uuid,
}

/// Spends a live email change token in one atomic statement, locking its account.
pub async fn consume_email_change(db: &impl GenericClient, token_hash: &[u8]) -> Result<Option<EmailChange>, DbError> {
    cached::fetch_opt(db, CONSUME_EMAIL_CHANGE, &[&token_hash, &Purpose::ChangeEmail, &UserStatus::Active]).await
}

/// The live change of this link, read without spending it.
pub async fn pending_change(db: &impl GenericClient, token_hash: &[u8]) -> Result<Option<PendingEmailChange>, DbError> {
    cached::fetch_opt(db, PENDING_CHANGE, &[&token_hash, &Purpose::ChangeEmail, &UserStatus::Active]).await
}

/// A cancelled email change.
#[derive(Debug, postgres_from_row::FromRow)]
pub struct Cancelled {
    /// The account that stays where it is.
    pub user_id: Uuid,
    /// The address it was going to.
    pub new_email: String,
}

/// Cancels the live change whose notice carried this cancel token; None if there is no such
/// live change.
pub async fn cancel_by_token(db: &impl GenericClient, cancel_hash: &[u8]) -> Result<Option<Cancelled>, DbError> {
    cached::fetch_opt(db, CANCEL_BY_TOKEN, &[&cancel_hash, &Purpose::ChangeEmail]).await
}

/// Cancels the user's pending email change; the address it was going to, if there was one.
pub async fn cancel_for_user(db: &impl GenericClient, user_id: Uuid) -> Result<Option<String>, DbError> {
    cached::value_opt(db, CANCEL_FOR_USER, &[&user_id, &Purpose::ChangeEmail]).await
}

const SPEND_ALL: &str = "UPDATE one_time_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL";

/// Spends every live token of the user: links mailed to an address they no longer use.
pub async fn spend_all(db: &impl GenericClient, user_id: Uuid) -> Result<u64, DbError> {
    cached::execute(db, SPEND_ALL, &[&user_id]).await
}

/// Spends a live token in one atomic statement, locking its account, and returns its user.
pub async fn consume(db: &impl GenericClient, token_hash: &[u8], purpose: Purpose) -> Result<Option<Uuid>, DbError> {
    cached::value_opt(db, CONSUME, &[&token_hash, &purpose, &UserStatus::Active]).await
}

/// True while a token could still be spent: the cheap check that comes before a password hash.
pub async fn is_live(db: &impl GenericClient, token_hash: &[u8], purpose: Purpose) -> Result<bool, DbError> {
    Ok(cached::query_opt(db, IS_LIVE, &[&token_hash, &purpose, &UserStatus::Active]).await?.is_some())
}
