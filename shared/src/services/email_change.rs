//! Changing the sign-in address: asked with the password, done by a link mailed to the new
//! address, and told to the old one. The answer to the asker is the same whether the new
//! address is free or taken, so it cannot be used to learn who has an account.

use std::net::IpAddr;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use crate::auth::tokens::{self, Opaque};
use crate::db;
use crate::error::{AppError, AppResult, on_constraint};
use crate::mail::templates::Mail;
use crate::models::AuditAction;
use crate::models::{ClientInfo, Email, Password, PendingEmailChange, User};
use crate::repositories::one_time_tokens;
use crate::repositories::{sessions, users};
use crate::services::access::Caller;
use crate::services::account::{self, bad_token};
use crate::services::audit;
use crate::services::ip_limits::{self, Guarded};
use crate::services::outbox;
use crate::services::quotas::{self, Hourly};
use crate::state::AppState;

/// Lifetime of an email change link.
pub const CHANGE_TTL: Duration = Duration::from_secs(3600);

/// A checked request to change the caller's address.
#[derive(Debug)]
pub struct EmailChangeRequest {
    /// The address to move to, canonical.
    pub new_email: Email,
    /// The caller's current password.
    pub password: Password,
}

/// Checks the password and mails the new address a confirmation link (or, if it has an
/// account, a notice that nothing changed) and the current address a notice with a link that
/// cancels the change. Nothing changes until the link is used. Only a proven address may be
/// moved: an account nobody has proved its address for belongs to whoever proves it first.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn request(state: &AppState, caller: &Caller, req: EmailChangeRequest) -> AppResult<()> {
    let user = &caller.user;
    if !user.email_verified {
        return Err(unverified());
    }
    let new_email = req.new_email.as_str();
    if new_email == user.email {
        return Err(AppError::invalid("new_email", "is already your address"));
    }
    account::confirm_password(state, caller, &req.password, "password").await?;
    let forgot = format!("{}/forgot-password", state.config().mail.app_base_url);
    let (token, cancel) = (tokens::generate(), tokens::generate());
    let (token_hash, cancel_token_hash) = (tokens::hash(&token), tokens::hash(&cancel));
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let security_stamp = account::lock_caller(&tx, caller).await?;
    quotas::spend(state, &tx, Hourly::EmailChangesPerUser, user.id).await?;
    // The change is stored even when the new address is taken (its link is never mailed), so
    // that the notice and its cancel link are the same either way.
    let change = one_time_tokens::NewEmailChange {
        user_id: user.id,
        token_hash: &token_hash,
        cancel_token_hash: &cancel_token_hash,
        ttl: CHANGE_TTL,
        new_email,
        session_id: caller.session_id,
        security_stamp,
    };
    one_time_tokens::replace_email_change(&tx, &change).await?;
    let expires_at = Utc::now() + CHANGE_TTL;
    let to_new = match users::find_credentials(&tx, new_email).await? {
        Some(owner) => Mail::EmailInUse { name: owner.user.name, link: forgot.clone() },
        None => Mail::ConfirmEmailChange {
            name: user.name.clone(),
            link: account::link(state, "/confirm-email-change", &token),
            expires_at,
        },
    };
    let to_new = outbox::enqueue(&tx, new_email, &to_new).await?;
    let notice = Mail::EmailChangeNotice {
        name: user.name.clone(),
        new_email: new_email.to_owned(),
        link: account::link(state, "/cancel-email-change", &cancel),
        reset_link: forgot,
        expires_at,
    };
    let to_old = outbox::enqueue(&tx, &user.email, &notice).await?;
    tx.commit().await?;
    // Sent before the answer: nothing may run once a Lambda has answered.
    tokio::join!(outbox::send_now(state.into(), &client, to_new), outbox::send_now(state.into(), &client, to_old));
    tracing::info!(user_id = %user.id, "email change asked");
    Ok(())
}

/// The 403 for moving an address nobody has proven.
fn unverified() -> AppError {
    AppError::Forbidden("Verify your current email address before changing it.".into())
}

/// Moves the account to the address the link was mailed to: proven by the link, its other
/// sessions end (the one that asked stays, if it is still the account's), links mailed to the
/// old address stop working. Refused once any credential changed since the change was asked.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn confirm(state: &AppState, token: &Opaque, client_info: ClientInfo) -> AppResult<User> {
    ip_limits::check(state, Guarded::Verify, client_info.ip).await?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let change = one_time_tokens::consume_email_change(&tx, &token.hash()).await?.ok_or_else(bad_token)?;
    let user = users::set_email(&tx, change.user_id, &change.new_email)
        .await
        .map_err(on_constraint(
            users::EMAIL_UNIQUE,
            "This address has been taken by another account since the link was sent.",
        ))?
        .ok_or_else(bad_token)?;
    let (ended, _) = tokio::try_join!(
        sessions::revoke_others(&tx, user.id, change.session_id),
        one_time_tokens::spend_all(&tx, user.id),
    )?;
    if let Some(asker) = change.session_id {
        sessions::adopt_stamp(&tx, asker, change.security_stamp).await?;
    }
    audit::record_account(&tx, user.id, client_info.ip, AuditAction::UserEmailChanged, &[user.id], json!({})).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, sessions_ended = ended.len(), "email changed");
    // The new address is proven: its verified domains apply.
    crate::services::domain_enrollment::enroll_after(state, &mut client, user.id, client_info.ip).await;
    Ok(user)
}

/// What a confirmation page shows before the click: whose account moves, from and to where.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn pending(state: &AppState, token: &Opaque, ip: Option<IpAddr>) -> AppResult<PendingEmailChange> {
    ip_limits::check(state, Guarded::Verify, ip).await?;
    let client = db::client(state.pool()).await?;
    one_time_tokens::pending_change(&client, &token.hash()).await?.ok_or_else(bad_token)
}

/// Cancels a pending change with the link mailed to the current address; the address it was
/// going to.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn cancel_by_link(state: &AppState, token: &Opaque, ip: Option<IpAddr>) -> AppResult<String> {
    ip_limits::check(state, Guarded::Verify, ip).await?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let cancelled = one_time_tokens::cancel_by_token(&tx, &token.hash()).await?.ok_or_else(|| {
        AppError::invalid("token", "is invalid or expired, or the change was already confirmed or cancelled")
    })?;
    let user_id = cancelled.user_id;
    audit::record_account(&tx, user_id, ip, AuditAction::UserEmailChangeCancelled, &[user_id], json!({})).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user_id, "email change cancelled from the old address");
    Ok(cancelled.new_email)
}

/// DELETE /me/email: cancels the caller's pending change, if any (idempotent).
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn cancel(state: &AppState, caller: &Caller, ip: Option<IpAddr>) -> AppResult<()> {
    let user_id = caller.user.id;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    if one_time_tokens::cancel_for_user(&tx, user_id).await?.is_some() {
        audit::record_account(&tx, user_id, ip, AuditAction::UserEmailChangeCancelled, &[user_id], json!({})).await?;
    }
    tx.commit().await?;
    Ok(())
}
