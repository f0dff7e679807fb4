//! Changing the sign-in address: asked with the password, done by a link mailed to the new
//! address, and told to the old one. The answer to the asker is the same whether the new
//! address is free or taken, so it cannot be used to learn who has an account.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use crate::auth::tokens::{self, Opaque};
use crate::db;
use crate::error::{AppError, AppResult, on_constraint};
use crate::mail::templates;
use crate::models::{ClientInfo, Email, Password, User};
use crate::repositories::one_time_tokens;
use crate::repositories::{sessions, users};
use crate::services::access::Caller;
use crate::services::account::{self, bad_token};
use crate::services::audit;
use crate::services::ip_limits::{self, Guarded};
use crate::services::outbox;
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
/// account, a notice that nothing changed) and the current address a notice. Nothing changes
/// until the link is used.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn request(state: &AppState, caller: &Caller, req: EmailChangeRequest) -> AppResult<()> {
    let user = &caller.user;
    let new_email = req.new_email.as_str();
    if new_email == user.email {
        return Err(AppError::invalid("new_email", "is already your address"));
    }
    account::confirm_password(state, caller, &req.password, "password").await?;
    let forgot = format!("{}/forgot-password", state.config().mail.app_base_url);
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let to_new = match users::find_credentials(&tx, new_email).await? {
        Some(owner) => {
            outbox::enqueue(&tx, new_email, templates::EMAIL_IN_USE, json!({"name": owner.user.name, "link": forgot}))
                .await?
        }
        None => {
            let token = tokens::generate();
            let hash = tokens::hash(&token);
            one_time_tokens::replace_email_change(&tx, user.id, &hash, CHANGE_TTL, new_email, caller.session_id)
                .await?;
            let payload = json!({
                "name": user.name,
                "link": account::link(state, "/confirm-email-change", &token),
                "expires_at": (Utc::now() + CHANGE_TTL).to_rfc3339(),
            });
            outbox::enqueue(&tx, new_email, templates::CONFIRM_EMAIL_CHANGE, payload).await?
        }
    };
    let notice = json!({"name": user.name, "new_email": new_email, "link": forgot});
    let to_old = outbox::enqueue(&tx, &user.email, templates::EMAIL_CHANGE_NOTICE, notice).await?;
    tx.commit().await?;
    // Sent before the answer: nothing may run once a Lambda has answered.
    tokio::join!(outbox::send_now(state.into(), &client, to_new), outbox::send_now(state.into(), &client, to_old));
    tracing::info!(user_id = %user.id, "email change asked");
    Ok(())
}

/// Moves the account to the address the link was mailed to: proven by the link, its other
/// sessions end (the one that asked stays), links mailed to the old address stop working.
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
    audit::record_account(&tx, user.id, client_info.ip, "user.email_changed", ("user", &[user.id]), json!({})).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, sessions_ended = ended.len(), "email changed");
    Ok(user)
}
