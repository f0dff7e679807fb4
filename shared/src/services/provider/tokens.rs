//! The token endpoint's grants for applications (authorization code with PKCE, refresh token),
//! the ID token they carry, userinfo, and signing out at the provider.

use std::time::Duration;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::super::oauth::client_auth::{ClientAuth, Endpoint, authenticate};
use super::super::oauth::{OAuthError, OAuthErrorCode, TokenError};
use crate::auth::jwt::IdClaims;
use crate::auth::pkce;
use crate::auth::tokens::{self, Opaque};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::models::{ClientInfo, User};
use crate::repositories::organizations;
use crate::repositories::provider as rows;
use crate::repositories::sessions as session_rows;
use crate::services::sessions::{self, Refresh, org_scope};
use crate::services::sign_in::{self, SignInProof};
use crate::state::AppState;

/// RFC 6749 §5.1 and OIDC Core §3.1.3.3's answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct OidcTokens {
    /// An RFC 9068 access token for this API (and APIs that trust its JWKS).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The ID token: who signed in, for the application.
    pub id_token: String,
    /// With `offline_access`: a single-use refresh token (rotated on each use).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The scopes granted, space-separated.
    pub scope: String,
}

impl std::fmt::Debug for OidcTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcTokens").field("scope", &self.scope).finish_non_exhaustive()
    }
}

fn invalid_grant(why: &str) -> TokenError {
    OAuthError::new(OAuthErrorCode::InvalidGrant, why).into()
}

/// `grant_type=authorization_code`: a code is spent once, by the client it was issued to, with
/// the redirect URI it was sent to and the verifier of its challenge. A code presented again
/// ends the session its first exchange opened (RFC 6749 §4.1.2).
pub async fn exchange_code(
    state: &AppState,
    auth: &ClientAuth,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
    client_info: ClientInfo,
) -> Result<OidcTokens, TokenError> {
    let client = authenticate(state, auth, Endpoint::App).await?;
    let hash = tokens::hash(code);
    let mut db = db::client(state.pool()).await?;
    let Some(issued) = rows::spend_code(&db, &hash).await? else {
        if let Some(Some(session_id)) = rows::spent_code_session(&db, &hash).await?
            && session_rows::revoke(&db, session_id).await?
        {
            tracing::warn!(session_id = %session_id, "authorization code replayed; its session ended");
        }
        return Err(invalid_grant("the code is invalid, expired or already used"));
    };
    if issued.client_id != client.id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    if issued.redirect_uri != redirect_uri {
        return Err(invalid_grant("redirect_uri is not the one the code was sent to"));
    }
    if !pkce_matches(verifier, &issued.code_challenge) {
        return Err(invalid_grant("code_verifier does not match the code_challenge"));
    }
    let Some(browser) = rows::find_browser_by_id(&db, issued.browser_session_id).await? else {
        return Err(invalid_grant("the sign-in behind this code has ended"));
    };
    let proof = SignInProof::from_browser_session(browser.user.clone(), browser.security_stamp, &browser.amr);
    let tx = db.transaction().await.map_err(crate::db::DbError::from)?;
    let org = match issued.org_id {
        Some(org_id) => match org_scope(&tx, org_id, browser.user.id, &browser.amr).await? {
            Ok(Some(scope)) => Some(scope),
            Ok(None) => return Err(invalid_grant("the user is no longer a member of that organization")),
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let link = session_rows::AppSession {
        client_id: client.id,
        browser_session_id: browser.id,
        scopes: &issued.scopes,
        auth_time: browser.auth_time,
    };
    // A credential change that commits between the check above and here ends the sign-in too.
    let open = match sign_in::open_app_session(state, &tx, &proof, issued.org_id, &client_info, link).await {
        Ok(open) => open,
        Err(AppError::Unauthorized(_)) => return Err(invalid_grant("the sign-in behind this code has ended")),
        Err(e) => return Err(e.into()),
    };
    let session_id = open.session_id();
    rows::set_code_session(&tx, &hash, session_id).await?;
    tx.commit().await.map_err(crate::db::DbError::from)?;
    let org_name = match issued.org_id {
        Some(id) => organizations::find(&db, id).await?.map(|o| o.name),
        None => None,
    };
    let org_claims = org.as_ref().map(|s| (s.org_id, org_name, s.roles.clone(), s.permissions.clone()));
    let pair = open.into_app_pair(state, &browser.user, org, client.id)?;
    // The application's registered lifetime, read when it authenticated.
    let ttl = Duration::from_secs(client.ttl_secs.and_then(|s| u64::try_from(s).ok()).unwrap_or(900));
    let id = IdToken {
        user: &browser.user,
        client_id: client.id,
        sid: browser.id,
        auth_time: browser.auth_time,
        amr: &browser.amr,
        nonce: issued.nonce,
        scopes: &issued.scopes,
        org: org_claims,
    };
    let id_token = id.sign(state, ttl)?;
    tracing::info!(client_id = %client.id, user_id = %browser.user.id, session_id = %session_id, "code exchanged");
    let offline = issued.scopes.iter().any(|s| s == "offline_access");
    Ok(OidcTokens {
        access_token: pair.access_token,
        token_type: "Bearer",
        expires_in: pair.expires_in,
        id_token,
        refresh_token: offline.then_some(pair.refresh_token),
        scope: issued.scopes.join(" "),
    })
}

/// `grant_type=refresh_token` for an application: rotation and reuse detection as for this
/// API's own refresh, for this client's tokens only, with a fresh ID token.
pub async fn refresh(state: &AppState, auth: &ClientAuth, token: &str) -> Result<OidcTokens, TokenError> {
    let client = authenticate(state, auth, Endpoint::App).await?;
    let token = Opaque::parse(token.to_owned().into()).ok_or_else(|| invalid_grant("the refresh token is invalid"))?;
    let (pair, rotated) = match sessions::rotate(state, Refresh { token, org_id: None }, Some(client.id)).await {
        Ok(done) => done,
        Err(AppError::Unauthorized(_)) => {
            return Err(invalid_grant("the refresh token is invalid, expired or already used"));
        }
        Err(e) => return Err(e.into()),
    };
    let scopes = rotated.touched.scopes.clone().unwrap_or_default();
    let org_claims = match rotated.org {
        Some((org_id, roles, permissions)) => {
            let db = db::client(state.pool()).await?;
            let name = organizations::find(&db, org_id).await?.map(|o| o.name);
            Some((org_id, name, roles, permissions))
        }
        None => None,
    };
    let ttl = state.jwt().ttl();
    let id = IdToken {
        user: &rotated.touched.user,
        client_id: client.id,
        sid: rotated.touched.browser_session_id.unwrap_or(rotated.session_id),
        auth_time: rotated.touched.auth_time.unwrap_or_else(Utc::now),
        amr: &rotated.touched.amr,
        nonce: None,
        scopes: &scopes,
        org: org_claims,
    };
    let id_token = id.sign(state, ttl)?;
    Ok(OidcTokens {
        access_token: pair.access_token,
        token_type: "Bearer",
        expires_in: pair.expires_in,
        id_token,
        refresh_token: Some(pair.refresh_token),
        scope: scopes.join(" "),
    })
}

/// Whether the client a request names is an application (its grants and revocations are the
/// provider's), not a machine.
pub async fn names_an_application(state: &AppState, auth: &ClientAuth) -> Result<bool, TokenError> {
    let Some(id) = auth.client_id().and_then(|c| c.parse::<Uuid>().ok()) else { return Ok(false) };
    let db = db::client(state.pool()).await?;
    Ok(rows::find_app(&db, id).await?.is_some())
}

/// RFC 7009 for an application: a refresh token or access token it was issued ends the
/// session both belong to (the other token with it). Anything else changes nothing, with the
/// same answer (§2.2).
pub async fn revoke(state: &AppState, auth: &ClientAuth, token: &str) -> Result<(), TokenError> {
    let client = authenticate(state, auth, Endpoint::AppOther).await?;
    let db = db::client(state.pool()).await?;
    let ended = match state.jwt().verify(token) {
        Ok(claims) if claims.client_id == client.id.to_string() => {
            session_rows::revoke_app_session(&db, claims.sid, client.id).await?
        }
        Ok(_) => false,
        Err(_) => session_rows::revoke_by_app_refresh(&db, &tokens::hash(token), client.id).await?,
    };
    if ended {
        tracing::info!(client_id = %client.id, "application token revoked; its session ended");
    }
    Ok(())
}

/// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) equals the challenge; the verifier is 43 to
/// 128 unreserved characters.
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let shaped = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    shaped && verify_slices_are_equal(pkce::challenge(verifier).as_bytes(), challenge.as_bytes()).is_ok()
}

/// An organization-scoped sign-in's claims: id, name, roles, permissions.
type OrgClaims = (Uuid, Option<String>, Vec<String>, Vec<String>);

/// What an ID token says.
struct IdToken<'a> {
    user: &'a User,
    client_id: Uuid,
    sid: Uuid,
    auth_time: DateTime<Utc>,
    amr: &'a [String],
    nonce: Option<String>,
    scopes: &'a [String],
    org: Option<OrgClaims>,
}

impl IdToken<'_> {
    fn sign(self, state: &AppState, ttl: Duration) -> Result<String, TokenError> {
        let keys = state.jwt();
        let now = u64::try_from(Utc::now().timestamp()).unwrap_or_default();
        let has = |s: &str| self.scopes.iter().any(|x| x == s);
        let (org_id, org_name, roles, permissions) = match self.org {
            Some((id, name, roles, permissions)) => (Some(id), name, Some(roles), Some(permissions)),
            None => (None, None, None, None),
        };
        let claims = IdClaims {
            iss: keys.issuer().map_err(AppError::internal("reading the issuer"))?.to_owned(),
            sub: self.user.id,
            aud: self.client_id.to_string(),
            azp: self.client_id.to_string(),
            exp: now + ttl.as_secs(),
            iat: now,
            auth_time: u64::try_from(self.auth_time.timestamp()).unwrap_or_default(),
            nonce: self.nonce,
            amr: self.amr.to_vec(),
            sid: self.sid,
            email: has("email").then(|| self.user.email.clone()),
            email_verified: has("email").then_some(self.user.email_verified),
            name: has("profile").then(|| self.user.name.clone()),
            org_id,
            org_name,
            roles,
            permissions,
        };
        Ok(keys.sign_id_token(&claims).map_err(AppError::internal("signing an ID token"))?)
    }
}

/// OIDC Core §5.3's answer: the claims the access token's scopes allow.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UserInfo {
    /// The user's id (the ID token's `sub`).
    pub sub: Uuid,
    /// With `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// With `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// With `profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The organization of an organization-scoped token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<Uuid>,
    /// The member's roles there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// The member's permissions there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

/// The signed-in user's claims, as far as the session's scopes allow (this API's own
/// sign-in: all of them).
pub async fn userinfo(state: &AppState, caller: &crate::services::access::Caller) -> AppResult<UserInfo> {
    let db = db::client(state.pool()).await?;
    let (_, scopes) = session_rows::app_of(&db, caller.session_id)
        .await?
        .ok_or_else(|| AppError::Unauthorized("The session has ended.".into()))?;
    let has = |s: &str| scopes.as_ref().is_none_or(|list| list.iter().any(|x| x == s));
    let user = &caller.user;
    Ok(UserInfo {
        sub: user.id,
        email: has("email").then(|| user.email.clone()),
        email_verified: has("email").then_some(user.email_verified),
        name: has("profile").then(|| user.name.clone()),
        org_id: caller.claims.org_id,
        roles: caller.claims.roles.clone(),
        permissions: caller.claims.permissions.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_compares_the_s256_of_the_verifier() {
        // BASE64URL(SHA256(verifier)), computed independently (Python's hashlib).
        let verifier = "dBjftJeZ4CVP-mJ92_9BN0cZRmNhRC8OGV2hZGX8SgA";
        let challenge = "u2YvlX2IHzLdz5cyAdvOG67sTEwtKNImXXV3tJYk-1Y";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches("dBjftJeZ4CVP-mJ92_9BN0cZRmNhRC8OGV2hZGX8SgB", challenge));
        assert!(!pkce_matches("short", challenge));
    }
}
