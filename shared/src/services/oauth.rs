//! The OAuth 2.0 token endpoint's rules (RFC 6749 §4.4, client credentials) and token
//! revocation (RFC 7009). A client authenticates with its id and secret; today the clients are
//! API keys (client_id: the key's id, client_secret: its value), and the token carries the
//! key's organization and the permissions asked for (all the key's when `scope` is absent).

use std::time::Duration;

use chrono::{TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::auth::machine_secret::{self, MachineSecret, SecretKind};
use crate::db;
use crate::error::AppError;
use crate::models::{Permission, PermissionSet};
use crate::repositories::{api_keys, lockouts as lockout_rows, revoked_tokens};
use crate::services::lockouts;
use crate::state::AppState;

/// RFC 6749 §5.2 error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthErrorCode {
    /// Malformed, missing or repeated parameters.
    InvalidRequest,
    /// Unknown client, wrong secret, or no authentication.
    InvalidClient,
    /// The client may not use this grant.
    UnauthorizedClient,
    /// A grant this server does not issue.
    UnsupportedGrantType,
    /// A scope that is not the client's to ask for.
    InvalidScope,
}

impl OAuthErrorCode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
        }
    }
}

/// A refusal as RFC 6749 words it, or a dependency's failure.
#[derive(Debug)]
pub struct OAuthError {
    /// The code.
    pub code: OAuthErrorCode,
    /// What was wrong.
    pub description: String,
    /// The client authenticated with HTTP Basic: a 401 names the scheme (RFC 6749 §5.2).
    pub basic_used: bool,
    /// For a locked-out client: when to try again (answered 429).
    pub retry_after: Option<Duration>,
}

impl OAuthError {
    /// A refusal with this code.
    pub fn new(code: OAuthErrorCode, description: &str) -> OAuthError {
        OAuthError { code, description: description.to_owned(), basic_used: false, retry_after: None }
    }

    /// An `invalid_request`.
    pub fn invalid_request(description: &str) -> OAuthError {
        OAuthError::new(OAuthErrorCode::InvalidRequest, description)
    }

    /// Marks the refusal as one of a client that used HTTP Basic.
    pub fn basic(mut self) -> OAuthError {
        self.basic_used = true;
        self
    }

    /// The HTTP status: 401 for `invalid_client`, 429 for a locked-out client, else 400.
    pub fn status(&self) -> u16 {
        match (self.retry_after, self.code) {
            (Some(_), _) => 429,
            (None, OAuthErrorCode::InvalidClient) => 401,
            _ => 400,
        }
    }
}

/// Why the token endpoint did not answer with a token: a refusal in RFC 6749's words, or a
/// failure of its own (a dependency down: 503 problem+json, as everywhere).
#[derive(Debug)]
pub enum TokenError {
    /// RFC 6749 §5.2.
    Refused(OAuthError),
    /// Anything else.
    Failed(AppError),
}

impl From<OAuthError> for TokenError {
    fn from(e: OAuthError) -> Self {
        TokenError::Refused(e)
    }
}

impl From<AppError> for TokenError {
    fn from(e: AppError) -> Self {
        TokenError::Failed(e)
    }
}

impl From<crate::db::DbError> for TokenError {
    fn from(e: crate::db::DbError) -> Self {
        TokenError::Failed(e.into())
    }
}

/// The one answer to a wrong client: unknown id, wrong secret, revoked or expired key alike.
fn wrong_client() -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidClient, "the client is unknown or its secret is wrong")
}

/// How the client authenticated.
pub enum ClientAuth {
    /// HTTP Basic (`client_secret_basic`).
    Basic {
        /// The client's id.
        client_id: String,
        /// Its secret.
        secret: SecretString,
    },
    /// Form parameters (`client_secret_post`).
    Post {
        /// The client's id.
        client_id: String,
        /// Its secret.
        secret: SecretString,
    },
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuth::Basic { client_id, .. } => write!(f, "Basic({client_id}, [REDACTED])"),
            ClientAuth::Post { client_id, .. } => write!(f, "Post({client_id}, [REDACTED])"),
        }
    }
}

impl ClientAuth {
    fn parts(&self) -> (&str, &SecretString, bool) {
        match self {
            ClientAuth::Basic { client_id, secret } => (client_id, secret, true),
            ClientAuth::Post { client_id, secret } => (client_id, secret, false),
        }
    }
}

/// A client whose secret was right.
struct Client {
    id: Uuid,
    org_id: Uuid,
    permissions: PermissionSet,
}

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

/// Checks the client's credentials; wrong secrets count toward the client's lockout as wrong
/// passwords count toward an email's, and a locked client gets no token even with the right
/// one. Unlike a password, a secret is checked with one hash, so attempts are counted after
/// the check, not before: a client's many concurrent requests never lock it.
async fn authenticate(state: &AppState, auth: &ClientAuth) -> Result<Client, TokenError> {
    let (client_id, secret, basic) = auth.parts();
    let refuse = |e: OAuthError| if basic { e.basic() } else { e };
    let id: Uuid = client_id.parse().map_err(|_| refuse(wrong_client()))?;
    // A secret of the wrong shape or checksum is refused before any query.
    let presented = MachineSecret::parse(secret.expose_secret())
        .filter(|s| s.kind() == SecretKind::ApiKey)
        .ok_or_else(|| refuse(wrong_client()))?;
    let lockout_key = format!("client:{id}");
    let client = db::client(state.pool()).await?;
    // Both reads leave together on the connection: one round trip.
    let (status, key) =
        tokio::try_join!(lockout_rows::status(&client, &lockout_key), api_keys::find_live(&client, id))?;
    if let Some((_, Some(until))) = status {
        let wait = (until - Utc::now()).to_std().unwrap_or_default().max(Duration::from_secs(1));
        let detail = "Too many failed attempts for this client; try again later.".to_owned();
        return Err(locked(AppError::TooManyRequests { detail, retry_after: wait }, basic));
    }
    match key.filter(|k| machine_secret::hashes_match(&k.secret_hash, &presented.hash())) {
        Some(key) => {
            if status.is_some() {
                lockout_rows::clear(&client, &lockout_key).await?;
            }
            Ok(Client { id: key.id, org_id: key.org_id, permissions: key.permissions })
        }
        None => {
            let detail = "Too many failed attempts for this client; try again later.";
            lockouts::reserve_attempt(state, &client, &lockout_key, detail).await.map_err(|e| locked(e, basic))?;
            lockouts::record_failure(state, &client, &lockout_key).await.map_err(|e| locked(e, basic))?;
            Err(refuse(wrong_client()).into())
        }
    }
}

/// A locked client's 429 in RFC 6749's shape, or any other error passed on.
fn locked(e: AppError, basic_used: bool) -> TokenError {
    match e {
        AppError::TooManyRequests { detail, retry_after } => TokenError::Refused(OAuthError {
            code: OAuthErrorCode::InvalidClient,
            description: detail,
            basic_used,
            retry_after: Some(retry_after),
        }),
        other => TokenError::Failed(other),
    }
}

/// `grant_type=client_credentials`: a token for the client's organization with the
/// permissions `scope` names (each one the client holds), or all of them.
pub async fn client_credentials(
    state: &AppState,
    auth: &ClientAuth,
    scope: Option<&str>,
) -> Result<TokenAnswer, TokenError> {
    let client = authenticate(state, auth).await?;
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
    let ttl = state.config().access_token_ttl;
    let keys = state.jwt();
    let claims = keys
        .machine_claims(&client.id.to_string(), Some(client.org_id), granted.names(), ttl)
        .map_err(AppError::internal("building a machine token"))?;
    let access_token = keys.sign(&claims).map_err(AppError::internal("signing a machine token"))?;
    tracing::info!(client_id = %client.id, org_id = %client.org_id, "machine token issued");
    Ok(TokenAnswer { access_token, token_type: "Bearer", expires_in: ttl.as_secs(), scope: claims.scope })
}

/// RFC 7009: revokes an access token this client was issued; its next request is a 401. A
/// token that is not one (malformed, expired, another client's) changes nothing, and the
/// answer is the same (§2.2), so nobody learns what a token is.
pub async fn revoke(state: &AppState, auth: &ClientAuth, token: &str) -> Result<(), TokenError> {
    let client = authenticate(state, auth).await?;
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
