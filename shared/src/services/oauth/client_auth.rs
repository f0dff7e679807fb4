//! How a client proves itself at the OAuth endpoints: an API key's id and value, an M2M
//! client's id and one of its secrets (by the method it registered), or an assertion it signed
//! (RFC 7523); wrong credentials count toward the client's lockout.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::errors::{OAuthError, OAuthErrorCode, TokenError};
use crate::auth::client_assertion;
use crate::auth::machine_secret::{self, MachineSecret, SecretKind};
use crate::db;
use crate::error::AppError;
use crate::models::Grantee;
use crate::repositories::{GenericClient, api_keys, lockouts as lockout_rows, oauth_clients};
use crate::services::lockouts;
use crate::state::AppState;

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
    /// Only a `client_id`: a public application (`none`), which PKCE holds to its request.
    Public {
        /// The client's id.
        client_id: String,
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
            ClientAuth::Public { client_id } => write!(f, "Public({client_id})"),
        }
    }
}

impl ClientAuth {
    /// The client the request names (an assertion's issuer), if any.
    pub fn client_id(&self) -> Option<String> {
        match self {
            ClientAuth::Basic { client_id, .. }
            | ClientAuth::Post { client_id, .. }
            | ClientAuth::Public { client_id } => Some(client_id.clone()),
            ClientAuth::Assertion { client_id, assertion } => {
                client_id.clone().or_else(|| client_assertion::claimed_client(assertion.expose_secret()))
            }
        }
    }

    /// RFC 7591's name of the method.
    fn method(&self) -> &'static str {
        match self {
            ClientAuth::Basic { .. } => "client_secret_basic",
            ClientAuth::Post { .. } => "client_secret_post",
            ClientAuth::Assertion { .. } => "private_key_jwt",
            ClientAuth::Public { .. } => "none",
        }
    }

    /// A refusal, marked as one of a Basic client when it was.
    fn refuse(&self, e: OAuthError) -> OAuthError {
        if matches!(self, ClientAuth::Basic { .. }) { e.basic() } else { e }
    }
}

/// Which endpoint authenticates the client: only token requests count toward the client's
/// per-minute limit; an application's grants look among applications, not machines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Token,
    Other,
    App,
    /// An application at the revocation endpoint: not counted.
    AppOther,
}

/// Checks the client's credentials: an API key's id and value, an OAuth client's id and one
/// of its secrets (by the method it registered), or its signed assertion. Wrong ones count
/// toward the client's lockout as wrong passwords count toward an email's, and a locked client
/// gets nothing even with the right one. Unlike a password, a secret is checked with one hash,
/// so attempts are counted after the check, not before: a client's many concurrent requests
/// never lock it. The lockout's state and the client leave together: one round trip.
pub(crate) async fn authenticate(
    state: &AppState,
    auth: &ClientAuth,
    endpoint: Endpoint,
) -> Result<Grantee, TokenError> {
    let limit = match endpoint {
        Endpoint::Token | Endpoint::App => {
            i32::try_from(state.config().quotas.client_token_requests_per_minute).unwrap_or(i32::MAX)
        }
        Endpoint::Other | Endpoint::AppOther => 0,
    };
    let apps = matches!(endpoint, Endpoint::App | Endpoint::AppOther);
    let db = db::client(state.pool()).await?;
    let grantee = match auth {
        ClientAuth::Basic { client_id, secret } | ClientAuth::Post { client_id, secret } => {
            let id: Uuid = client_id.parse().map_err(|_| auth.refuse(wrong_client()))?;
            // A secret of the wrong shape or checksum is refused before any query.
            let presented = MachineSecret::parse(secret.expose_secret()).ok_or_else(|| auth.refuse(wrong_client()))?;
            let hash = presented.hash();
            let find = async {
                match presented.kind() {
                    SecretKind::ApiKey if apps => Ok(None),
                    SecretKind::ApiKey => api_keys::find_for_grant(&db, id, &hash, limit).await,
                    SecretKind::ClientSecret => oauth_clients::find_for_secret(&db, id, &hash, limit, apps).await,
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
            let (status, found) = tokio::try_join!(
                lockout_rows::status(&db, &lockout_key),
                oauth_clients::find_for_assertion(&db, id, apps)
            )?;
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
        ClientAuth::Public { client_id } => {
            // Nothing secret to guess, so nothing to lock; only applications registered as
            // public get here, and only for grants that PKCE binds.
            let found = match client_id.parse::<Uuid>() {
                Ok(id) if apps => oauth_clients::find_public_app(&db, id).await?,
                _ => None,
            };
            found.ok_or_else(|| {
                OAuthError::new(OAuthErrorCode::InvalidClient, "the client is unknown or must authenticate")
            })?
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
    if let Some(registered) = grantee.auth_method.as_deref()
        && registered != method
    {
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
    match crate::services::quotas::over_minute_limit(grantee.hits, grantee.window_end, i64::from(limit)) {
        Some(wait) => Err(TokenError::Refused(OAuthError {
            code: OAuthErrorCode::TemporarilyUnavailable,
            description: format!(
                "this client asked for more than {limit} tokens this minute; reuse a token until it expires"
            ),
            basic_used: false,
            retry_after: Some(wait),
        })),
        None => Ok(()),
    }
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
