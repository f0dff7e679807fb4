//! Which addresses sign in at an identity provider: those at a verified domain of an
//! organization with an active connection. The answer depends on the address's domain alone,
//! never on whether it has an account, so it tells a stranger nothing about accounts.

use crate::error::AppResult;
use crate::repositories::GenericClient;
use crate::repositories::sso::{self as rows, ConnectionRow};

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
