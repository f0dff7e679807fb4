//! Client credentials grants, revocation, and forgetting what has expired.

use std::time::Duration;

use chrono::{TimeZone, Utc};

use super::client_auth::{ClientAuth, Endpoint, authenticate};
use super::errors::{OAuthError, OAuthErrorCode, TokenError};
use crate::db;
use crate::error::AppError;
use crate::models::Permission;
use crate::repositories::{GenericClient, oauth_clients, revoked_tokens};
use crate::state::AppState;

/// RFC 6749 §5.1's answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TokenAnswer {
    /// An RFC 9068 JWT access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// The permissions granted, space-separated.
    pub scope: String,
}

/// `grant_type=client_credentials`: a token for the client's organization with the
/// permissions `scope` names (each one the client holds), or all of them.
pub async fn client_credentials(
    state: &AppState,
    auth: &ClientAuth,
    scope: Option<&str>,
) -> Result<TokenAnswer, TokenError> {
    let client = authenticate(state, auth, Endpoint::Token).await?;
    let granted = match scope {
        None => client.permissions.clone(),
        Some(scope) => {
            let mut granted = vec![];
            for name in scope.split(' ').filter(|s| !s.is_empty()) {
                match Permission::parse(name).filter(|p| client.permissions.has(*p)) {
                    Some(p) => granted.push(p),
                    None => {
                        let why = format!("{name} is not a scope this client may ask for");
                        return Err(OAuthError::new(OAuthErrorCode::InvalidScope, &why).into());
                    }
                }
            }
            granted.into_iter().collect()
        }
    };
    let ttl = match client.ttl_secs {
        Some(secs) => Duration::from_secs(u64::try_from(secs).unwrap_or(60)),
        None => state.config().access_token_ttl,
    };
    let keys = state.jwt();
    let claims = keys
        .machine_claims(&client.id.to_string(), client.org_id, granted.names(), ttl)
        .map_err(AppError::internal("building a machine token"))?;
    let access_token = keys.sign(&claims).map_err(AppError::internal("signing a machine token"))?;
    tracing::info!(client_id = %client.id, org_id = ?client.org_id, "machine token issued");
    Ok(TokenAnswer { access_token, token_type: "Bearer", expires_in: ttl.as_secs(), scope: claims.scope })
}

/// RFC 7009: revokes an access token this client was issued; its next request is a 401. A
/// token that is not one (malformed, expired, another client's) changes nothing, and the
/// answer is the same (§2.2), so nobody learns what a token is.
pub async fn revoke(state: &AppState, auth: &ClientAuth, token: &str) -> Result<(), TokenError> {
    let client = authenticate(state, auth, Endpoint::Other).await?;
    let Ok(claims) = state.jwt().verify_machine(token) else { return Ok(()) };
    if claims.client_id != client.id.to_string() {
        return Ok(());
    }
    let expires_at = Utc.timestamp_opt(claims.exp as i64, 0).single().unwrap_or_else(Utc::now);
    let db = db::client(state.pool()).await?;
    revoked_tokens::insert(&db, claims.jti, expires_at).await?;
    tracing::info!(client_id = %client.id, jti = %claims.jti, "machine token revoked");
    Ok(())
}

/// Forgets revocations of tokens that have expired anyway and assertions that can no longer
/// be replayed (the mailer's schedule runs this); how many rows went.
pub async fn prune(db: &impl GenericClient) -> Result<u64, crate::db::DbError> {
    Ok(revoked_tokens::prune(db).await? + oauth_clients::prune_assertions(db).await?)
}
