//! Which addresses sign in at an identity provider: those at a verified domain of an
//! organization with an active connection. The answer depends on the address's domain alone,
//! never on whether it has an account, so it tells a stranger nothing about accounts.

use crate::db;
use crate::error::{AppError, AppResult};
use crate::repositories::GenericClient;
use crate::repositories::sso::{self as rows, ConnectionRow};
use crate::state::AppState;

/// The domain of an address (after its last `@`), lower case.
pub fn domain_of(email: &str) -> Option<String> {
    email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).filter(|d| !d.is_empty())
}

/// The active connection the address's domain routes to, if any.
pub async fn for_email(db: &impl GenericClient, email: &str) -> AppResult<Option<ConnectionRow>> {
    match domain_of(email) {
        Some(domain) => Ok(rows::for_domain(db, &domain).await?),
        None => Ok(None),
    }
}

/// The 403 for a password sign-in at a domain whose connection requires single sign-on: it
/// says where to sign in instead.
pub fn sso_required(domain: &str) -> AppError {
    AppError::Forbidden(format!(
        "Addresses at {domain} sign in through their organization's identity provider (single sign-on); \
         password sign-in is turned off for them. Sign in through the application's sign-in page \
         (/oauth2/authorize), entering only your email."
    ))
}

/// Refuses a password sign-in for an address whose domain's connection requires SSO.
pub async fn refuse_password_if_required(state: &AppState, email: &str) -> AppResult<()> {
    let Some(domain) = domain_of(email) else { return Ok(()) };
    let client = db::client(state.pool()).await?;
    match rows::for_domain(&client, &domain).await? {
        Some(connection) if connection.sso_required => Err(sso_required(&domain)),
        _ => Ok(()),
    }
}
