//! Accounts: sign-up, email verification, forgotten and changed passwords, and their mail.

use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use crate::auth::tokens::{self, Opaque};
use crate::db::{self, DbError};
use crate::error::{AppError, AppResult, on_constraint};
use crate::mail::templates::Mail;
use crate::models::{AuditAction, ClientInfo, DisplayName, Email, Enrollment, NewPassword, Password, User, UserStatus};
use crate::repositories::one_time_tokens::{self, Purpose};
use crate::repositories::{GenericClient, lockouts, sessions, users};
use crate::services::access::Caller;
use crate::services::audit;
use crate::services::domain_enrollment;
use crate::services::ip_limits::{self, Guarded};
use crate::services::lockouts as lockout;
use crate::services::outbox;
use crate::state::AppState;

/// Lifetime of an email verification link.
pub const VERIFY_TTL: Duration = Duration::from_secs(24 * 3600);
/// Lifetime of a password reset link.
pub const RESET_TTL: Duration = Duration::from_secs(3600);

/// A checked sign-up.
#[derive(Debug)]
pub struct Registration {
    /// The address to create the account for.
    pub email: Email,
    /// Its password.
    pub password: NewPassword,
    /// Its owner's name.
    pub name: DisplayName,
}

/// A checked password reset.
#[derive(Debug)]
pub struct PasswordReset {
    /// The mailed reset token.
    pub token: Opaque,
    /// The password to set.
    pub new_password: NewPassword,
}

/// A checked password change.
#[derive(Debug)]
pub struct PasswordChange {
    /// The password the caller says they have.
    pub current: Password,
    /// The password to set.
    pub new: NewPassword,
}

/// What a verification or reset token that cannot be used gets told.
pub const BAD_TOKEN: &str = "is invalid, expired or already used; ask for a new link";

/// Starts a sign-up. A new email gets an account and a verification mail; an email that has
/// an account gets a mail saying so and nothing changes. Both cost one password hash and one
/// queued mail and answer alike, so registration does not tell who has an account.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn register(state: &AppState, req: Registration, client_info: ClientInfo) -> AppResult<()> {
    let Registration { email, password, name } = req;
    ip_limits::check(state, Guarded::Register, client_info.ip).await?;
    // No connection is held while the password hashes: that can wait for a core.
    let hash = state.passwords().hash(password.secret()).await?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let new = users::NewUser {
        id: Uuid::now_v7(),
        email: email.as_str(),
        name: name.as_str(),
        password_hash: Some(&hash),
        email_verified: false,
    };
    let mail = match users::insert_if_new(&tx, &new).await? {
        Some(user) => {
            let metadata = serde_json::json!({"name": user.name});
            audit::record_account(&tx, user.id, client_info.ip, AuditAction::UserCreated, &[user.id], metadata).await?;
            Some(queue_verification(state, &tx, &user).await?)
        }
        None => queue_account_exists(state, &tx, email.as_str()).await?,
    };
    tx.commit().await?;
    if let Some(mail) = mail {
        outbox::send_now(state.into(), &client, mail).await;
    }
    Ok(())
}

/// 409 for a unique violation on the email.
pub fn email_taken(err: DbError) -> AppError {
    on_constraint(users::EMAIL_UNIQUE, "An account with this email already exists; sign in instead.")(err)
}

/// The mailed link to `path` on APP_BASE_URL carrying `token`.
pub(crate) fn link(state: &AppState, path: &str, token: &str) -> String {
    format!("{}{path}?token={token}", state.config().mail.app_base_url)
}

/// The 422 for a verification or reset token that cannot be used.
pub fn bad_token() -> AppError {
    AppError::invalid("token", BAD_TOKEN)
}

/// Queues a verification mail for the user, in the caller's transaction.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn queue_verification(state: &AppState, db: &impl GenericClient, user: &User) -> Result<Uuid, DbError> {
    let token = tokens::generate();
    one_time_tokens::replace(db, user.id, Purpose::VerifyEmail, &tokens::hash(&token), VERIFY_TTL).await?;
    let mail = Mail::VerifyEmail {
        name: user.name.clone(),
        link: link(state, "/verify-email", &token),
        expires_at: Utc::now() + VERIFY_TTL,
    };
    outbox::enqueue(db, &user.email, &mail).await
}

/// Queues, in the caller's transaction, a mail telling an active account that someone tried to
/// register its address; None when no active account has it.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn queue_account_exists(
    state: &AppState,
    db: &impl GenericClient,
    email: &str,
) -> Result<Option<Uuid>, DbError> {
    let Some(found) = users::find_credentials(db, email).await? else { return Ok(None) };
    if found.user.status != UserStatus::Active {
        return Ok(None);
    }
    let mail = Mail::AccountExists {
        name: found.user.name.clone(),
        link: format!("{}/forgot-password", state.config().mail.app_base_url),
    };
    outbox::enqueue(db, &found.user.email, &mail).await.map(Some)
}

/// Proves the email address the token was mailed to. On an account never proven before, the
/// prover takes it over: its sessions, links, waiting sign-ins and factors end (whoever
/// registered it may not own the address). Then its email's verified domains enroll it;
/// what they did is answered beside the account.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn verify_email(
    state: &AppState,
    token: &Opaque,
    client_info: ClientInfo,
) -> AppResult<(User, Vec<Enrollment>)> {
    ip_limits::check(state, Guarded::Verify, client_info.ip).await?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let user_id = one_time_tokens::consume(&tx, &token.hash(), Purpose::VerifyEmail).await?.ok_or_else(bad_token)?;
    let user = users::mark_email_verified(&tx, user_id).await?.ok_or_else(bad_token)?;
    sessions::revoke_all_for_user(&tx, user_id).await?;
    tx.commit().await?;
    let enrolled = domain_enrollment::enroll_after(state, &mut client, user_id, client_info.ip).await;
    Ok((user, enrolled))
}

/// Mails a new verification link to the caller (older links stop working).
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn resend_verification(state: &AppState, caller: &Caller, client_info: ClientInfo) -> AppResult<()> {
    if caller.user.email_verified {
        return Err(AppError::Conflict("This email address is already verified.".into()));
    }
    ip_limits::check(state, Guarded::Verify, client_info.ip).await?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let mail = queue_verification(state, &tx, &caller.user).await?;
    tx.commit().await?;
    outbox::send_now(state.into(), &client, mail).await;
    Ok(())
}

/// Mails a reset link if an active account has this email. Answers the same either way, in
/// the same time: the mail is sent before the answer (Lambda freezes a sandbox once it has
/// answered, so nothing may be left running), and an answer without one waits as long as a
/// send usually takes (see [`EqualTime`](crate::equal_time::EqualTime)).
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn forgot_password(state: &AppState, email: &Email, client_info: ClientInfo) -> AppResult<()> {
    ip_limits::check(state, Guarded::Forgot, client_info.ip).await?;
    let started = std::time::Instant::now();
    let mailed = mail_reset_link(state, email.as_str()).await?;
    if mailed {
        state.forgot_time().record(started.elapsed());
    }
    state.forgot_time().wait(started).await;
    Ok(())
}

/// Queues and sends a reset link to an active account with this email; false when there is none.
async fn mail_reset_link(state: &AppState, email: &str) -> AppResult<bool> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let Some(found) = users::find_credentials(&tx, email).await? else { return Ok(false) };
    if found.user.status != UserStatus::Active {
        return Ok(false);
    }
    let token = tokens::generate();
    one_time_tokens::replace(&tx, found.user.id, Purpose::ResetPassword, &tokens::hash(&token), RESET_TTL).await?;
    let reset = Mail::ResetPassword {
        name: found.user.name.clone(),
        link: link(state, "/reset-password", &token),
        expires_at: Utc::now() + RESET_TTL,
    };
    let mail = outbox::enqueue(&tx, &found.user.email, &reset).await?;
    tx.commit().await?;
    outbox::send_now(state.into(), &client, mail).await;
    Ok(true)
}

/// Whether a reset link can still be used, so its page can say so before a password is typed.
/// Counted against the address like a reset, so it cannot be used to probe tokens.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn reset_link_is_live(state: &AppState, token: &Opaque, ip: Option<std::net::IpAddr>) -> AppResult<bool> {
    ip_limits::check(state, Guarded::Reset, ip).await?;
    let client = db::client(state.pool()).await?;
    Ok(one_time_tokens::is_live(&client, &token.hash(), Purpose::ResetPassword).await?)
}

/// Sets a new password with a reset token; ends every session and clears the lockout. The
/// mailed token also proves the address, so the email counts as verified. The token is
/// looked up before the new password is hashed, so a forged one costs no hash.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn reset_password(state: &AppState, req: PasswordReset, client_info: ClientInfo) -> AppResult<()> {
    ip_limits::check(state, Guarded::Reset, client_info.ip).await?;
    let token_hash = req.token.hash();
    {
        let client = db::client(state.pool()).await?;
        if !one_time_tokens::is_live(&client, &token_hash, Purpose::ResetPassword).await? {
            return Err(bad_token());
        }
    }
    let hash = state.passwords().hash(req.new_password.secret()).await?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    // Spent atomically here: of two resets racing with one token, one wins.
    let user_id = one_time_tokens::consume(&tx, &token_hash, Purpose::ResetPassword).await?.ok_or_else(bad_token)?;
    users::set_password(&tx, user_id, &hash).await?;
    let user = users::mark_email_verified(&tx, user_id).await?.ok_or_else(bad_token)?;
    let ended = sessions::revoke_all_for_user(&tx, user_id).await?;
    lockouts::clear(&tx, &user.email).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user_id, sessions_ended = ended, "password reset");
    // The mailed link proved the address: its verified domains apply.
    domain_enrollment::enroll_after(state, &mut client, user_id, client_info.ip).await;
    Ok(())
}

/// Checks that `password` is the caller's, counting a wrong one toward the email's lockout
/// like a failed login (so these routes cannot be used to guess it); a 422 on `field` if wrong.
pub(crate) async fn confirm_password(
    state: &AppState,
    caller: &Caller,
    password: &Password,
    field: &str,
) -> AppResult<()> {
    let email = &caller.user.email;
    let stored = {
        let client = db::client(state.pool()).await?;
        lockout::reserve_attempt(state, &client, email, "Too many wrong passwords for this account; try again later.")
            .await?;
        users::password_hash(&client, caller.user.id).await?
    };
    // No connection is held while passwords hash.
    let stored = match stored {
        Some(hash) => hash,
        None => state.dummy_hash().await?,
    };
    let client = db::client(state.pool()).await?;
    if !state.passwords().verify(password.secret(), stored).await? {
        lockout::record_failure(state, &client, email).await?;
        return Err(AppError::invalid(field, "is not your current password"));
    }
    // The attempt was counted before the check; a right password is not a failure.
    lockouts::clear(&client, email).await?;
    Ok(())
}

/// Changes the caller's password after checking the current one; other sessions end, the
/// caller's stays. Wrong current passwords count toward the email's lockout like failed logins.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn change_password(state: &AppState, caller: &Caller, req: PasswordChange) -> AppResult<()> {
    confirm_password(state, caller, &req.current, "current_password").await?;
    let email = &caller.user.email;
    let hash = state.passwords().hash(req.new.secret()).await?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let stamp = lock_caller(&tx, caller).await?;
    users::set_password(&tx, caller.user.id, &hash).await?;
    let ended = sessions::revoke_others(&tx, caller.user.id, Some(caller.session_id)).await?.len();
    sessions::adopt_stamp(&tx, caller.session_id, stamp).await?;
    lockouts::clear(&tx, email).await?;
    tx.commit().await?;
    tracing::info!(user_id = %caller.user.id, sessions_ended = ended, "password changed");
    Ok(())
}

/// Locks the caller's account for a credential change its request makes and returns the
/// stamp their session holds, which [`sessions::adopt_stamp`] carries over the change; a 401
/// when another change ended the session since the request was authenticated.
pub(crate) async fn lock_caller(tx: &impl GenericClient, caller: &Caller) -> AppResult<Uuid> {
    sessions::lock_live(tx, caller.session_id, caller.user.id).await?.ok_or_else(crate::services::access::session_ended)
}
