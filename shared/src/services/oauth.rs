//! The OAuth 2.0 token endpoint's rules (RFC 6749 §4.4, client credentials) and token
//! revocation (RFC 7009). A client is an OAuth client (a secret, or an assertion signed with
//! a key it registered) or an API key (client_id: the key's id, client_secret: its value); the
//! token carries the client's organization (none for a platform client) and the permissions
//! asked for (all the client's when `scope` is absent).

use std::time::Duration;

use chrono::{TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::auth::client_assertion;
use crate::auth::machine_secret::{self, MachineSecret, SecretKind};
use crate::db;
use crate::error::AppError;
use crate::models::{Grantee, Permission, PermissionSet};
use crate::repositories::{GenericClient, api_keys, lockouts as lockout_rows, oauth_clients, revoked_tokens, sessions};
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
    /// Too many token requests this minute (answered 429 with Retry-After).
    TemporarilyUnavailable,
    /// The client may not use this endpoint (answered 403).
    AccessDenied,
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
            OAuthErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthErrorCode::AccessDenied => "access_denied",
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

    /// The HTTP status: 401 for `invalid_client`, 403 for `access_denied`, 429 for a client
    /// locked out or over its limit, else 400.
    pub fn status(&self) -> u16 {
        match (self.retry_after, self.code) {
            (Some(_), _) => 429,
            (None, OAuthErrorCode::InvalidClient) => 401,
            (None, OAuthErrorCode::AccessDenied) => 403,
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
    /// A signed JWT (`private_key_jwt`, RFC 7523).
    Assertion {
        /// The `client_id` parameter, if sent: it must name the assertion's issuer.
        client_id: Option<String>,
        /// The assertion.
        assertion: SecretString,
    },
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuth::Basic { client_id, .. } => write!(f, "Basic({client_id}, [REDACTED])"),
            ClientAuth::Post { client_id, .. } => write!(f, "Post({client_id}, [REDACTED])"),
            ClientAuth::Assertion { client_id, .. } => write!(f, "Assertion({client_id:?}, [REDACTED])"),
        }
    }
}

impl ClientAuth {
    /// RFC 7591's name of the method.
    fn method(&self) -> &'static str {
        match self {
            ClientAuth::Basic { .. } => "client_secret_basic",
            ClientAuth::Post { .. } => "client_secret_post",
            ClientAuth::Assertion { .. } => "private_key_jwt",
        }
    }

    /// A refusal, marked as one of a Basic client when it was.
    fn refuse(&self, e: OAuthError) -> OAuthError {
        if matches!(self, ClientAuth::Basic { .. }) { e.basic() } else { e }
    }
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

/// Which endpoint authenticates the client: only token requests count toward the client's
/// per-minute limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Token,
    Other,
}

/// Checks the client's credentials: an API key's id and value, an OAuth client's id and one
/// of its secrets (by the method it registered), or its signed assertion. Wrong ones count
/// toward the client's lockout as wrong passwords count toward an email's, and a locked client
/// gets nothing even with the right one. Unlike a password, a secret is checked with one hash,
/// so attempts are counted after the check, not before: a client's many concurrent requests
/// never lock it. The lockout's state and the client leave together: one round trip.
async fn authenticate(state: &AppState, auth: &ClientAuth, endpoint: Endpoint) -> Result<Grantee, TokenError> {
    let limit = match endpoint {
        Endpoint::Token => i32::try_from(state.config().quotas.client_token_requests_per_minute).unwrap_or(i32::MAX),
        Endpoint::Other => 0,
    };
    let db = db::client(state.pool()).await?;
    let grantee = match auth {
        ClientAuth::Basic { client_id, secret } | ClientAuth::Post { client_id, secret } => {
            let id: Uuid = client_id.parse().map_err(|_| auth.refuse(wrong_client()))?;
            // A secret of the wrong shape or checksum is refused before any query.
            let presented = MachineSecret::parse(secret.expose_secret()).ok_or_else(|| auth.refuse(wrong_client()))?;
            let hash = presented.hash();
            let find = async {
                match presented.kind() {
                    SecretKind::ApiKey => api_keys::find_for_grant(&db, id, &hash, limit).await,
                    SecretKind::ClientSecret => oauth_clients::find_for_secret(&db, id, &hash, limit).await,
                }
            };
            let lockout_key = lockout_key(id);
            let (status, found) = tokio::try_join!(lockout_rows::status(&db, &lockout_key), find)?;
            refuse_if_locked(status, auth)?;
            match found.filter(|g| machine_secret::hashes_match(&g.secret_hash, &hash)) {
                Some(grantee) => settled(&db, auth, status.is_some(), grantee).await?,
                None => return Err(failed(state, &db, auth, id, wrong_client()).await),
            }
        }
        ClientAuth::Assertion { client_id, assertion } => {
            let assertion = assertion.expose_secret();
            let claimed = client_assertion::claimed_client(assertion);
            if client_id.is_some() && *client_id != claimed {
                return Err(
                    OAuthError::new(OAuthErrorCode::InvalidClient, "client_id is not the assertion's issuer").into()
                );
            }
            let id: Uuid = claimed.as_deref().and_then(|c| c.parse().ok()).ok_or_else(wrong_assertion)?;
            let lockout_key = lockout_key(id);
            let (status, found) =
                tokio::try_join!(lockout_rows::status(&db, &lockout_key), oauth_clients::find_for_assertion(&db, id))?;
            refuse_if_locked(status, auth)?;
            let Some((grantee, jwks)) = found.and_then(|g| {
                g.jwks.clone().filter(|_| g.auth_method.as_deref() == Some("private_key_jwt")).map(|j| (g, j))
            }) else {
                return Err(failed(state, &db, auth, id, wrong_assertion()).await);
            };
            let audiences = audiences(state)?;
            let audiences: Vec<&str> = audiences.iter().map(String::as_str).collect();
            let verified = match client_assertion::verify(assertion, &id.to_string(), &jwks, &audiences) {
                Ok(verified) => verified,
                Err(why) => {
                    let refusal = OAuthError::new(OAuthErrorCode::InvalidClient, &why);
                    return Err(failed(state, &db, auth, id, refusal).await);
                }
            };
            let expires_at = Utc.timestamp_opt(verified.exp, 0).single().unwrap_or_else(Utc::now);
            let spent = oauth_clients::spend_assertion(&db, id, &verified.jti, expires_at, limit).await?;
            if !spent.fresh {
                let refusal = OAuthError::new(OAuthErrorCode::InvalidClient, "this assertion was used already");
                return Err(failed(state, &db, auth, id, refusal).await);
            }
            let grantee = Grantee { hits: spent.hits, window_end: spent.window_end, ..grantee };
            settled(&db, auth, status.is_some(), grantee).await?
        }
    };
    within_limit(&grantee, limit)?;
    Ok(grantee)
}

/// The lockout row of a client (or an API key used as one).
fn lockout_key(id: Uuid) -> String {
    format!("client:{id}")
}

/// The answer to an assertion whose client is unknown or registered no keys.
fn wrong_assertion() -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidClient, "the client is unknown or does not sign assertions")
}

/// Where an assertion may be addressed (RFC 7523 §3): this server's issuer or token endpoint.
fn audiences(state: &AppState) -> Result<[String; 2], TokenError> {
    let issuer = state.jwt().issuer().map_err(AppError::internal("reading the issuer"))?.to_owned();
    Ok([format!("{issuer}/oauth2/token"), issuer])
}

/// 429 for a client locked out by wrong secrets, with the wait.
fn refuse_if_locked(status: Option<(i32, Option<chrono::DateTime<Utc>>)>, auth: &ClientAuth) -> Result<(), TokenError> {
    if let Some((_, Some(until))) = status {
        let wait = (until - Utc::now()).to_std().unwrap_or_default().max(Duration::from_secs(1));
        let detail = "Too many failed attempts for this client; try again later.".to_owned();
        return Err(locked(AppError::TooManyRequests { detail, retry_after: wait }, auth));
    }
    Ok(())
}

/// A right credential: by the method the client registered (a key takes either secret
/// method), and the failures counted so far forgotten.
async fn settled(
    db: &impl GenericClient,
    auth: &ClientAuth,
    had_failures: bool,
    grantee: Grantee,
) -> Result<Grantee, TokenError> {
    let method = auth.method();
    let registered = grantee.auth_method.as_deref().unwrap_or(method);
    let secret_methods = ["client_secret_basic", "client_secret_post"];
    if registered != method && !(grantee.auth_method.is_none() && secret_methods.contains(&method)) {
        let why = format!("this client authenticates with {registered}, not {method}");
        return Err(auth.refuse(OAuthError::new(OAuthErrorCode::InvalidClient, &why)).into());
    }
    if had_failures {
        lockout_rows::clear(db, &lockout_key(grantee.id)).await?;
    }
    Ok(grantee)
}

/// Counts a wrong credential toward the client's lockout; the refusal to answer (429 once the
/// client is locked).
async fn failed(
    state: &AppState,
    db: &impl GenericClient,
    auth: &ClientAuth,
    id: Uuid,
    refusal: OAuthError,
) -> TokenError {
    let key = lockout_key(id);
    let detail = "Too many failed attempts for this client; try again later.";
    if let Err(e) = lockouts::reserve_attempt(state, db, &key, detail).await {
        return locked(e, auth);
    }
    if let Err(e) = lockouts::record_failure(state, db, &key).await {
        return locked(e, auth);
    }
    auth.refuse(refusal).into()
}

/// 429 once the client's token requests this minute pass the limit.
fn within_limit(grantee: &Grantee, limit: i32) -> Result<(), TokenError> {
    if let (Some(hits), Some(window_end)) = (grantee.hits, grantee.window_end)
        && limit > 0
        && hits > limit
    {
        let wait = (window_end - Utc::now()).to_std().unwrap_or_default().max(Duration::from_secs(1));
        return Err(TokenError::Refused(OAuthError {
            code: OAuthErrorCode::TemporarilyUnavailable,
            description: format!(
                "this client asked for more than {limit} tokens this minute; reuse a token until it expires"
            ),
            basic_used: false,
            retry_after: Some(wait),
        }));
    }
    Ok(())
}

/// A locked client's 429 in RFC 6749's shape, or any other error passed on.
fn locked(e: AppError, auth: &ClientAuth) -> TokenError {
    match e {
        AppError::TooManyRequests { detail, retry_after } => TokenError::Refused(OAuthError {
            code: OAuthErrorCode::InvalidClient,
            description: detail,
            basic_used: matches!(auth, ClientAuth::Basic { .. }),
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

/// RFC 7662's answer: `active`, and for an active token what it is and may do.
#[derive(Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Introspection {
    /// Whether the token (or API key) works now.
    pub active: bool,
    /// What it may do now, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client it was issued to (for an API key, the key's id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// A user token's email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `Bearer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// When it expires (absent for an API key without expiry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// When it was issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Not before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Its subject: a user's id, or a client's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Its audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Its issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The organization it acts in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<Uuid>,
    /// What it may do now, as a list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// `api_key`, `client` or `user`: what presented it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_type: Option<&'static str>,
}

/// RFC 7662: whether `token` works now (a machine token, an API key, or a user's access
/// token), checked as a request bearing it would be: signature, expiry, and its key, client or
/// session still live. Only the platform's own clients may ask; anything else about the token
/// (malformed, expired, revoked, unknown) is `{"active": false}`.
pub async fn introspect(state: &AppState, auth: &ClientAuth, token: &str) -> Result<Introspection, TokenError> {
    let client = authenticate(state, auth, Endpoint::Other).await?;
    if !client.is_client || client.org_id.is_some() {
        let why = "only the platform's own clients may introspect tokens";
        return Err(OAuthError::new(OAuthErrorCode::AccessDenied, why).into());
    }
    let db = db::client(state.pool()).await?;
    let keys = state.jwt();
    let inactive = Introspection::default();
    if let Some(secret) = MachineSecret::parse(token) {
        let found = match secret.kind() {
            SecretKind::ApiKey => api_keys::resolve(&db, &secret.hash(), 0).await?,
            SecretKind::ClientSecret => None,
        };
        let Some(key) = found.filter(|k| machine_secret::hashes_match(&k.secret_hash, &secret.hash())) else {
            return Ok(inactive);
        };
        let permissions = key.permissions.names();
        return Ok(Introspection {
            active: true,
            scope: Some(permissions.join(" ")),
            client_id: Some(key.id.to_string()),
            token_type: Some("Bearer"),
            sub: Some(key.id.to_string()),
            org_id: key.org_id,
            permissions: Some(permissions),
            subject_type: Some("api_key"),
            ..inactive
        });
    }
    if let Ok(claims) = keys.verify_machine(token) {
        let Ok(id) = claims.client_id.parse::<Uuid>() else { return Ok(inactive) };
        let found = api_keys::resolve_for_token(&db, id, (0, 0), claims.jti).await?;
        let Some(machine) = found.filter(|m| m.org_id == claims.org_id) else { return Ok(inactive) };
        let permissions = PermissionSet::from_names(&claims.permissions).intersection(&machine.permissions).names();
        return Ok(Introspection {
            active: true,
            scope: Some(permissions.join(" ")),
            client_id: Some(claims.client_id),
            token_type: Some("Bearer"),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            nbf: Some(claims.nbf),
            sub: Some(claims.sub),
            aud: Some(claims.aud),
            iss: Some(claims.iss),
            jti: Some(claims.jti.to_string()),
            org_id: claims.org_id,
            permissions: Some(permissions),
            subject_type: Some(if machine.is_client { "client" } else { "api_key" }),
            ..inactive
        });
    }
    if let Ok(claims) = keys.verify(token) {
        let Some(user) = sessions::find_by_live_session(&db, claims.sub, claims.sid).await? else {
            return Ok(inactive);
        };
        return Ok(Introspection {
            active: true,
            username: Some(user.email),
            token_type: Some("Bearer"),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            nbf: Some(claims.nbf),
            sub: Some(claims.sub.to_string()),
            aud: Some(claims.aud),
            iss: Some(claims.iss),
            jti: Some(claims.jti.to_string()),
            subject_type: Some("user"),
            ..inactive
        });
    }
    Ok(inactive)
}
