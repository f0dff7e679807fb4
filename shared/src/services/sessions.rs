//! Sessions and the tokens they issue: opening one, rotating its refresh token (with reuse
//! detection), switching its organization, ending it.

use uuid::Uuid;

use crate::auth::tokens::{self, Opaque};
use crate::db::{self, DbError};
use crate::error::{AppError, AppResult};
use crate::models::{TokenPair, User};
use crate::repositories::{GenericClient, memberships, refresh_tokens, sessions};
use crate::services::access::{self, Caller};
use crate::state::AppState;

/// A checked refresh: the presented token and the organization to switch to, if any.
#[derive(Debug)]
pub struct Refresh {
    /// The refresh token, of the shape we issue.
    pub token: Opaque,
    /// Switch the session's active organization.
    pub org_id: Option<Uuid>,
}

/// The 401 for a refresh token that is malformed, unknown, expired or spent: one answer for all.
pub fn invalid_refresh() -> AppError {
    AppError::Unauthorized("The refresh token is invalid, expired or already used.".into())
}

/// RFC 8176 amr of a password sign-in.
pub const PASSWORD_ONLY: &[&str] = &["pwd"];
/// RFC 8176 amr of a password and a one-time code (TOTP or recovery code).
pub const PASSWORD_AND_CODE: &[&str] = &["pwd", "otp"];

/// amr of a sign-in at an organization's identity provider.
pub const SSO_ONLY: &[&str] = &["sso"];
/// amr of a sign-in at a provider the connection says enforces MFA (RFC 8176 `mfa`).
pub const SSO_AND_PROVIDER_MFA: &[&str] = &["sso", "mfa"];
/// amr of a sign-in at a provider, then the account's own one-time code.
pub const SSO_AND_CODE: &[&str] = &["sso", "otp"];

/// True when `amr` includes a second factor: our own code, or a provider's MFA that its
/// connection vouches for.
pub fn proved_second_factor(amr: &[impl AsRef<str>]) -> bool {
    amr.iter().any(|m| matches!(m.as_ref(), "otp" | "mfa"))
}

/// A session opened in a transaction that has yet to commit.
pub struct OpenSession {
    session_id: Uuid,
    refresh_token: String,
    amr: &'static [&'static str],
}

impl OpenSession {
    /// A session whose row the caller has just inserted. Making one is harmless: its tokens
    /// work only while that row is live, which every request checks.
    pub(crate) fn inserted(session_id: Uuid, refresh_token: String, amr: &'static [&'static str]) -> OpenSession {
        OpenSession { session_id, refresh_token, amr }
    }

    /// The session's id.
    pub fn session_id(&self) -> Uuid {
        self.session_id
    }

    /// The token pair for this session, once its transaction has committed.
    pub fn into_pair(self, state: &AppState, user: &User) -> AppResult<TokenPair> {
        token_pair(state, user, self.session_id, self.refresh_token, Scope { org: None, amr: self.amr, client: None })
    }

    /// The token pair for this session with the claims of `scope`'s organization, if any.
    pub(crate) fn into_scoped_pair(self, state: &AppState, user: &User, org: Option<OrgScope>) -> AppResult<TokenPair> {
        token_pair(state, user, self.session_id, self.refresh_token, Scope { org, amr: self.amr, client: None })
    }

    /// The token pair of an application's session: its access token names the application.
    pub(crate) fn into_app_pair(
        self,
        state: &AppState,
        user: &User,
        org: Option<OrgScope>,
        client: Uuid,
    ) -> AppResult<TokenPair> {
        let scope = Scope { org, amr: self.amr, client: Some(client) };
        token_pair(state, user, self.session_id, self.refresh_token, scope)
    }
}

/// An account whose password was just checked, and the security stamp it was checked under
/// (read before the password was hashed): what a waiting sign-in records.
#[derive(Clone, Copy, Debug)]
pub struct Checked<'a> {
    /// The account.
    pub user: &'a User,
    /// Its stamp then.
    pub security_stamp: Uuid,
}

/// The 401 for a sign-in that a credential or status change overtook.
pub fn credentials_changed() -> AppError {
    AppError::Unauthorized("The account's credentials changed while signing in; sign in again.".into())
}

/// Rotates a refresh token of this API's own sign-in. A token used twice ends its whole
/// session (reuse detection); an application's token is refused here.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn refresh(state: &AppState, req: Refresh) -> AppResult<TokenPair> {
    Ok(rotate(state, req, None).await?.0)
}

/// A session whose refresh token was just rotated, as an application's ID token needs it.
pub(crate) struct Rotated {
    /// The session's id.
    pub(crate) session_id: Uuid,
    /// The session's user and what it records.
    pub(crate) touched: sessions::Touched,
    /// The organization its tokens now speak for, if any.
    pub(crate) org: Option<(Uuid, Vec<String>, Vec<String>)>,
}

/// Rotates a refresh token issued to `client` (None: this API's own sign-in): a token of
/// another client is refused as an unknown one (RFC 9700 §4.14: refresh tokens are bound to
/// their client), and nothing is spent.
pub(crate) async fn rotate(state: &AppState, req: Refresh, app: Option<Uuid>) -> AppResult<(TokenPair, Rotated)> {
    let invalid = invalid_refresh;
    let hash = req.token.hash();
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let Some(consumed) = refresh_tokens::consume(&tx, &hash).await? else {
        if let Some(session_id) = refresh_tokens::find_spent_session(&tx, &hash).await? {
            if sessions::revoke(&tx, session_id).await? {
                tracing::warn!(session_id = %session_id, "refresh token reused; session revoked");
            }
            tx.commit().await?;
        }
        return Err(invalid());
    };
    let Some(touched) = sessions::touch(&tx, consumed.session_id).await? else {
        return Err(invalid());
    };
    if touched.client_id != app {
        // Rolled back: the rightful client's token stays usable.
        return Err(invalid());
    }
    let user_id = touched.user.id;
    let next = tokens::generate();
    refresh_tokens::insert(
        &tx,
        Uuid::now_v7(),
        consumed.session_id,
        &tokens::hash(&next),
        Some(consumed.id),
        state.config().refresh_token_ttl,
    )
    .await?;
    let user = touched.user;
    let amr = &touched.amr;
    let scope = match req.org_id {
        // An explicit switch is refused for a non-member, or without the second factor the org
        // requires; the transaction rolls back, so the presented token stays usable.
        Some(org_id) => Some(org_scope(&tx, org_id, user_id, amr).await??.ok_or_else(not_a_member)?),
        // The session's current org, if the user is still a member there and may still have
        // its tokens (else the pair comes unscoped).
        None => match touched.org_id {
            Some(org_id) => org_scope(&tx, org_id, user_id, amr).await?.ok().flatten(),
            None => None,
        },
    };
    let scoped_to = scope.as_ref().map(|s| s.org_id);
    if scoped_to != touched.org_id {
        sessions::set_org(&tx, consumed.session_id, scoped_to).await?;
    }
    tx.commit().await?;
    let amr: Vec<&str> = touched.amr.iter().map(String::as_str).collect();
    let org = scope.as_ref().map(|s| (s.org_id, s.roles.clone(), s.permissions.clone()));
    let pair = token_pair(state, &user, consumed.session_id, next, Scope { org: scope, amr: &amr, client: app })?;
    Ok((pair, Rotated { session_id: consumed.session_id, touched: sessions::Touched { user, ..touched }, org }))
}

/// Ends the caller's session; its access and refresh tokens stop working at once.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn logout(state: &AppState, caller: &Caller) -> AppResult<()> {
    let client = db::client(state.pool()).await?;
    sessions::revoke(&client, caller.session_id).await?;
    tracing::info!(user_id = %caller.user.id, session_id = %caller.session_id, "signed out");
    Ok(())
}

/// The organization an org-scoped token speaks for, with the member's roles there.
pub(crate) struct OrgScope {
    pub(crate) org_id: Uuid,
    pub(crate) roles: Vec<String>,
    pub(crate) permissions: Vec<String>,
}

/// The scope of a member's org-scoped token, `None` for a non-member; the inner error is the
/// 403 of an org that requires a second factor `amr` lacks.
pub(crate) async fn org_scope(
    db: &impl GenericClient,
    org_id: Uuid,
    user_id: Uuid,
    amr: &[impl AsRef<str>],
) -> Result<AppResult<Option<OrgScope>>, DbError> {
    let Some(found) = memberships::token_scope(db, org_id, user_id).await? else {
        return Ok(Ok(None));
    };
    if found.require_mfa && !proved_second_factor(amr) {
        return Ok(Err(access::mfa_required()));
    }
    Ok(Ok(Some(OrgScope { org_id, roles: found.roles, permissions: found.permissions.names() })))
}

/// What a token pair speaks for: an org, if scoped, and the factors its session proved.
pub(crate) struct Scope<'a> {
    pub(crate) org: Option<OrgScope>,
    pub(crate) amr: &'a [&'a str],
    /// The application the tokens are issued to (None: this API's own sign-in).
    pub(crate) client: Option<Uuid>,
}

pub(crate) fn not_a_member() -> AppError {
    AppError::Forbidden("You are not a member of that organization.".into())
}

pub(crate) fn token_pair(
    state: &AppState,
    user: &User,
    session_id: Uuid,
    refresh_token: String,
    scope: Scope<'_>,
) -> AppResult<TokenPair> {
    let jwt = state.jwt();
    let mut claims = jwt
        .claims(user.id, session_id, &user.email)
        .map_err(AppError::internal("building the access token's claims"))?;
    claims.amr = scope.amr.iter().map(|m| (*m).to_owned()).collect();
    if let Some(client) = scope.client {
        claims.client_id = client.to_string();
    }
    if let Some(scope) = scope.org {
        claims.org_id = Some(scope.org_id);
        claims.roles = Some(scope.roles);
        claims.permissions = Some(scope.permissions);
    }
    let access_token = jwt.sign(&claims).map_err(AppError::internal("signing the access token"))?;
    let expires_in = jwt.ttl().as_secs();
    Ok(TokenPair { access_token, token_type: "Bearer", expires_in, refresh_token, recovery_codes_remaining: None })
}
