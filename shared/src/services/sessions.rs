//! Sessions and the tokens they issue: opening one, rotating its refresh token (with reuse
//! detection), switching its organization, ending it.

use uuid::Uuid;

use crate::auth::tokens::{self, Opaque};
use crate::db::{self, DbError};
use crate::error::{AppError, AppResult};
use crate::models::{ClientInfo, SessionMethod, TokenPair, User};
use crate::repositories::{GenericClient, memberships, refresh_tokens, sessions};
use crate::services::access::Caller;
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

/// A session opened in a transaction that has yet to commit.
pub struct OpenSession {
    session_id: Uuid,
    refresh_token: String,
}

impl OpenSession {
    /// The session's id.
    pub fn session_id(&self) -> Uuid {
        self.session_id
    }

    /// The token pair for this session, once its transaction has committed.
    pub fn into_pair(self, state: &AppState, user: &User) -> AppResult<TokenPair> {
        token_pair(state, user, self.session_id, self.refresh_token, None)
    }

    /// The token pair for this session with the claims of `scope`'s organization, if any.
    pub(crate) fn into_scoped_pair(
        self,
        state: &AppState,
        user: &User,
        scope: Option<OrgScope>,
    ) -> AppResult<TokenPair> {
        token_pair(state, user, self.session_id, self.refresh_token, scope)
    }
}

/// Opens a session begun by `method`, scoped to `org_id` if given, with its first refresh
/// token.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn open_session(
    state: &AppState,
    db: &impl GenericClient,
    user: &User,
    org_id: Option<Uuid>,
    client_info: &ClientInfo,
    method: SessionMethod,
) -> Result<OpenSession, DbError> {
    let session_id = Uuid::now_v7();
    let refresh_token = tokens::generate();
    let token_hash = tokens::hash(&refresh_token);
    let new = sessions::NewSession {
        id: session_id,
        user_id: user.id,
        org_id,
        client: client_info,
        method,
        token_id: Uuid::now_v7(),
        token_hash: &token_hash,
        token_ttl: state.config().refresh_token_ttl,
    };
    sessions::open(db, &new).await?;
    Ok(OpenSession { session_id, refresh_token })
}

/// Rotates a refresh token. A token used twice ends its whole session (reuse detection).
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn refresh(state: &AppState, req: Refresh) -> AppResult<TokenPair> {
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
    let scope = match req.org_id {
        // An explicit switch is refused for a non-member; the transaction rolls back, so the
        // presented token stays usable.
        Some(org_id) => Some(org_scope(&tx, org_id, user_id).await?.ok_or_else(not_a_member)?),
        // The session's current org, if the user is still a member there.
        None => match touched.org_id {
            Some(org_id) => org_scope(&tx, org_id, user_id).await?,
            None => None,
        },
    };
    let scoped_to = scope.as_ref().map(|s| s.org_id);
    if scoped_to != touched.org_id {
        sessions::set_org(&tx, consumed.session_id, scoped_to).await?;
    }
    tx.commit().await?;
    token_pair(state, &user, consumed.session_id, next, scope)
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
    org_id: Uuid,
    roles: Vec<String>,
    permissions: Vec<String>,
}

pub(crate) async fn org_scope(
    db: &impl GenericClient,
    org_id: Uuid,
    user_id: Uuid,
) -> Result<Option<OrgScope>, DbError> {
    let found = memberships::roles_and_permissions(db, org_id, user_id).await?;
    Ok(found.map(|(roles, permissions)| OrgScope { org_id, roles, permissions: permissions.names() }))
}

pub(crate) fn not_a_member() -> AppError {
    AppError::Forbidden("You are not a member of that organization.".into())
}

pub(crate) fn token_pair(
    state: &AppState,
    user: &User,
    session_id: Uuid,
    refresh_token: String,
    scope: Option<OrgScope>,
) -> AppResult<TokenPair> {
    let jwt = state.jwt();
    let mut claims = jwt
        .claims(user.id, session_id, &user.email)
        .map_err(AppError::internal("building the access token's claims"))?;
    if let Some(scope) = scope {
        claims.org_id = Some(scope.org_id);
        claims.roles = Some(scope.roles);
        claims.permissions = Some(scope.permissions);
    }
    let access_token = jwt.sign(&claims).map_err(AppError::internal("signing the access token"))?;
    Ok(TokenPair { access_token, token_type: "Bearer", expires_in: jwt.ttl().as_secs(), refresh_token })
}
