//! RP-Initiated Logout 1.0: an application sends the user here to end their session at the
//! provider (and the sessions applications opened from it), then back to a post-logout URI it
//! registered.

use uuid::Uuid;

use super::authorize::with_query;
use crate::auth::tokens;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::repositories::provider as rows;
use crate::repositories::sessions as session_rows;
use crate::state::AppState;

/// The end-session request's parameters.
#[derive(Debug, Default)]
pub struct SignOut {
    /// An ID token we issued, naming who signs out and for which application.
    pub id_token_hint: Option<String>,
    /// The application, when there is no hint.
    pub client_id: Option<String>,
    /// Where to send the browser afterwards: registered exactly.
    pub post_logout_redirect_uri: Option<String>,
    /// Echoed to that URI.
    pub state: Option<String>,
}

/// What the end-session endpoint does next.
#[derive(Debug)]
pub enum SignOutNext {
    /// Ask the user first: nothing proves the application is the one they signed in to.
    Confirm,
    /// Signed out; go here (the application's URI) or show the signed-out page.
    Done(Option<String>),
}

/// Ends this browser's session at the provider when the hint names its user or the user
/// confirmed; sends them to the registered post-logout URI, if one was asked for.
pub async fn end_session(
    state: &AppState,
    req: &SignOut,
    browser_token: Option<&str>,
    confirmed: bool,
) -> AppResult<SignOutNext> {
    let hint = match &req.id_token_hint {
        Some(token) => Some(
            state
                .jwt()
                .verify_id_token_hint(token)
                .map_err(|_| AppError::invalid("request", "id_token_hint is not an ID token we issued"))?,
        ),
        None => None,
    };
    let client_id = match (hint.as_ref().map(|h| h.aud.as_str()), req.client_id.as_deref()) {
        (Some(a), Some(b)) if a != b => {
            return Err(AppError::invalid("request", "client_id is not the audience of id_token_hint"));
        }
        (Some(a), _) | (None, Some(a)) => {
            Some(a.parse::<Uuid>().map_err(|_| AppError::invalid("request", "client_id names no application"))?)
        }
        (None, None) => None,
    };
    let db = db::client(state.pool()).await?;
    let location = match &req.post_logout_redirect_uri {
        Some(uri) => {
            let id = client_id.ok_or_else(|| {
                AppError::invalid("request", "post_logout_redirect_uri needs id_token_hint or client_id")
            })?;
            let app = rows::find_app(&db, id)
                .await?
                .ok_or_else(|| AppError::invalid("request", "client_id names no application"))?;
            if !app.post_logout_redirect_uris.iter().any(|r| r == uri) {
                return Err(AppError::invalid(
                    "request",
                    "post_logout_redirect_uri is not one this application registered",
                ));
            }
            Some(with_query(uri, &[("state", req.state.as_deref())]))
        }
        None => None,
    };
    let session = match browser_token.filter(|t| tokens::is_well_formed(t)) {
        Some(token) => rows::find_browser(&db, &tokens::hash(token)).await?,
        None => None,
    };
    if let Some(session) = session {
        let vouched = hint.as_ref().is_some_and(|h| h.sub == session.user.id);
        if !vouched && !confirmed {
            return Ok(SignOutNext::Confirm);
        }
        end(&db, session.id).await?;
        tracing::info!(user_id = %session.user.id, browser_session_id = %session.id, "signed out at the provider");
    }
    Ok(SignOutNext::Done(location))
}

/// Ends the browser session behind this cookie token, if it is live (the hosted pages'
/// sign-out).
pub async fn sign_out_browser(state: &AppState, browser_token: &str) -> AppResult<()> {
    if !tokens::is_well_formed(browser_token) {
        return Ok(());
    }
    let db = db::client(state.pool()).await?;
    if let Some(session) = rows::find_browser(&db, &tokens::hash(browser_token)).await? {
        end(&db, session.id).await?;
    }
    Ok(())
}

async fn end(db: &impl crate::repositories::GenericClient, id: Uuid) -> AppResult<()> {
    rows::end_browser(db, id).await?;
    session_rows::revoke_from_browser(db, id).await?;
    Ok(())
}
