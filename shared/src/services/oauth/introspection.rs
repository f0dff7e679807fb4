//! RFC 7662 introspection, for the platform's own clients.

use uuid::Uuid;

use super::client_auth::{ClientAuth, Endpoint, authenticate};
use super::errors::{OAuthError, OAuthErrorCode, TokenError};
use crate::auth::machine_secret::{self, MachineSecret, SecretKind};
use crate::db;
use crate::models::PermissionSet;
use crate::repositories::{api_keys, sessions};
use crate::state::AppState;

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
        let Some((user, stale)) = sessions::find_by_live_session(&db, claims.sub, claims.sid).await? else {
            return Ok(inactive);
        };
        // A resource server asking about the token is the token in use.
        if stale {
            sessions::mark_used(&db, claims.sid).await?;
        }
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
