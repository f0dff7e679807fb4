//! Registration, sign-in, refresh-token rotation, sign-out, and the per-request session check.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::jwt::AccessClaims;
use crate::auth::tokens;
use crate::db::{self, DbError};
use crate::error::{AppError, AppResult};
use crate::models::{ClientInfo, User, UserStatus};
use crate::repositories::{GenericClient, lockouts, memberships, refresh_tokens, sessions, users};
use crate::services::ip_limits::{self, Guarded};
use crate::services::{account, outbox, validate};
use crate::state::AppState;

/// Body of POST /auth/register. Fields not named here (is_platform_admin, ...) are ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegisterRequest {
    /// Email address.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
    /// New password, 8 to 1024 characters.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 1024)]
    pub password: SecretString,
    /// Display name.
    #[schema(value_type = crate::services::validate::DisplayName)]
    pub name: String,
}

/// Body of POST /auth/login.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// Email address.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
    /// Password.
    #[schema(value_type = String, format = Password, min_length = 1, max_length = 1024)]
    pub password: SecretString,
    /// Issue an org-scoped token for this organization (the caller must be a member).
    #[serde(default)]
    #[schema(pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub org_id: Option<Uuid>,
}

/// Body of POST /auth/refresh.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    #[schema(value_type = String, format = Password, pattern = "^[A-Za-z0-9_-]{43}$")]
    pub refresh_token: SecretString,
    /// Switch the session's active organization (the caller must be a member).
    #[serde(default)]
    #[schema(pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub org_id: Option<Uuid>,
}

/// Answer of login and refresh.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// Signed JWT.
    pub access_token: String,
    /// Always "Bearer".
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque, single-use refresh token.
    pub refresh_token: String,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// The caller of an authenticated request, checked against the database.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The signed-in user, active.
    pub user: User,
    /// Their live session.
    pub session_id: Uuid,
    /// The verified token's claims.
    pub claims: AccessClaims,
}

const INVALID_CREDENTIALS: &str = "Invalid email or password.";

/// Starts a sign-up. A new email gets an account and a verification mail; an email that has
/// an account gets a mail saying so and nothing changes. Both cost one password hash and one
/// queued mail and answer alike, so registration does not tell who has an account.
pub async fn register(state: &AppState, req: RegisterRequest, client_info: ClientInfo) -> AppResult<()> {
    let mut errors = vec![];
    let email = validate::email("email", &req.email, &mut errors);
    validate::new_password("password", req.password.expose_secret(), &mut errors);
    let name = validate::name("name", &req.name, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    ip_limits::check(state, Guarded::Register, client_info.ip).await?;
    // No connection is held while the password hashes: that can wait for a core.
    let hash = state.passwords().hash(&req.password).await?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await.map_err(DbError::from)?;
    let new =
        users::NewUser { id: Uuid::now_v7(), email: &email, name: &name, password_hash: &hash, email_verified: false };
    let mail = match users::insert_if_new(&tx, &new).await? {
        Some(user) => Some(account::queue_verification(state, &tx, &user).await?),
        None => account::queue_account_exists(state, &tx, &email).await?,
    };
    tx.commit().await.map_err(DbError::from)?;
    if let Some(mail) = mail {
        outbox::send_now(state.into(), &client, mail).await;
    }
    Ok(())
}

/// 409 for a unique violation on the email.
pub fn email_taken(err: DbError) -> AppError {
    if err.is_unique(users::EMAIL_UNIQUE) {
        AppError::Conflict("An account with this email already exists; sign in instead.".into())
    } else {
        err.into()
    }
}

/// Checks a password and opens a session. Unknown emails cost and answer the same as wrong
/// passwords; each email locks after too many failures, whether or not it has an account.
pub async fn login(state: &AppState, req: LoginRequest, client_info: ClientInfo) -> AppResult<TokenPair> {
    let mut errors = vec![];
    let email = validate::email("email", &req.email, &mut errors);
    validate::offered_password("password", req.password.expose_secret(), &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    ip_limits::check(state, Guarded::Login, client_info.ip).await?;
    let credentials = {
        let client = db::client(state.pool()).await?;
        reserve_attempt(state, &client, &email, "Too many failed sign-in attempts for this email; try again later.")
            .await?;
        users::find_credentials(&client, &email).await?
    };
    // The connection went back to the pool: the check below can wait for a core.
    let dummy = state.dummy_hash().await?;
    let (account, phc) = match credentials {
        Some(c) => {
            let phc = c.password_hash.clone().unwrap_or(dummy);
            (c.password_hash.is_some().then_some(c.user), phc)
        }
        None => (None, dummy),
    };
    let matched = state.passwords().verify(&req.password, phc).await?;
    let client = db::client(state.pool()).await?;
    let user = match account {
        Some(user) if matched => user,
        _ => {
            record_failure(state, &client, &email).await?;
            return Err(AppError::Unauthorized(INVALID_CREDENTIALS.into()));
        }
    };
    if user.status != UserStatus::Active {
        return Err(AppError::Forbidden("This account is disabled.".into()));
    }
    let scope = match req.org_id {
        Some(org_id) => Some(org_scope(&client, org_id, user.id).await?.ok_or_else(not_a_member)?),
        None => None,
    };
    // The password was right, so the failures are forgotten whether or not the session
    // opens; the session and its first token are one statement. No transaction is needed.
    lockouts::clear(&client, &email).await?;
    let open = open_session(state, &client, &user, req.org_id, &client_info).await?;
    tracing::info!(user_id = %user.id, session_id = %open.session_id, "signed in");
    token_pair(state, &user, open.session_id, open.refresh_token, scope)
}

/// Counts an attempt at `email`'s password before it is checked, so concurrent guesses cannot
/// race past the limit; 429 with `detail` while the email is locked.
pub(crate) async fn reserve_attempt(
    state: &AppState,
    db: &impl GenericClient,
    email: &str,
    detail: &str,
) -> AppResult<()> {
    let config = state.config();
    match lockouts::reserve_attempt(db, email, config.login_max_failures, config.login_lockout).await? {
        None => Ok(()),
        Some(until) => Err(AppError::TooManyRequests {
            detail: detail.to_owned(),
            retry_after: (until - chrono::Utc::now()).to_std().unwrap_or_default(),
        }),
    }
}

/// Records that the password offered for `email` was wrong, locking it at the limit.
pub(crate) async fn record_failure(state: &AppState, db: &impl GenericClient, email: &str) -> AppResult<()> {
    let config = state.config();
    Ok(lockouts::record_failure(db, email, config.login_max_failures, config.login_lockout).await?)
}

/// A session opened in a transaction that has yet to commit.
pub struct OpenSession {
    session_id: Uuid,
    refresh_token: String,
}

impl OpenSession {
    /// The token pair for this session, once its transaction has committed.
    pub fn into_pair(self, state: &AppState, user: &User) -> AppResult<TokenPair> {
        token_pair(state, user, self.session_id, self.refresh_token, None)
    }
}

/// Opens a session, scoped to `org_id` if given, with its first refresh token.
pub async fn open_session(
    state: &AppState,
    db: &impl GenericClient,
    user: &User,
    org_id: Option<Uuid>,
    client_info: &ClientInfo,
) -> Result<OpenSession, DbError> {
    let session_id = Uuid::now_v7();
    let refresh_token = tokens::generate();
    let token_hash = tokens::hash(&refresh_token);
    let new = sessions::NewSession {
        id: session_id,
        user_id: user.id,
        org_id,
        client: client_info,
        token_id: Uuid::now_v7(),
        token_hash: &token_hash,
        token_ttl: state.config().refresh_token_ttl,
    };
    sessions::open(db, &new).await?;
    Ok(OpenSession { session_id, refresh_token })
}

/// Rotates a refresh token. A token used twice ends its whole session (reuse detection).
pub async fn refresh(state: &AppState, req: RefreshRequest) -> AppResult<TokenPair> {
    let presented = req.refresh_token.expose_secret();
    let invalid = || AppError::Unauthorized("The refresh token is invalid, expired or already used.".into());
    if !tokens::is_well_formed(presented) {
        return Err(invalid());
    }
    let hash = tokens::hash(presented);
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await.map_err(DbError::from)?;
    let Some(consumed) = refresh_tokens::consume(&tx, &hash).await? else {
        if let Some(session_id) = refresh_tokens::find_spent_session(&tx, &hash).await? {
            if sessions::revoke(&tx, session_id).await? {
                tracing::warn!(session_id = %session_id, "refresh token reused; session revoked");
            }
            tx.commit().await.map_err(DbError::from)?;
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
    tx.commit().await.map_err(DbError::from)?;
    token_pair(state, &user, consumed.session_id, next, scope)
}

/// Ends the caller's session; its access and refresh tokens stop working at once.
pub async fn logout(state: &AppState, caller: &Caller) -> AppResult<()> {
    let client = db::client(state.pool()).await?;
    sessions::revoke(&client, caller.session_id).await?;
    tracing::info!(user_id = %caller.user.id, session_id = %caller.session_id, "signed out");
    Ok(())
}

/// Verifies an access token and checks, in one query, that its session is live and its user
/// active.
pub async fn authenticate(state: &AppState, bearer: &str) -> AppResult<Caller> {
    let claims = verify(state, bearer)?;
    let client = db::client(state.pool()).await?;
    let user = users::find_by_live_session(&client, claims.sub, claims.sid).await?.ok_or_else(session_ended)?;
    Ok(Caller { user, session_id: claims.sid, claims })
}

/// The organization an org-scoped token speaks for, with the member's roles there.
struct OrgScope {
    org_id: Uuid,
    roles: Vec<String>,
    permissions: Vec<String>,
}

async fn org_scope(db: &impl GenericClient, org_id: Uuid, user_id: Uuid) -> Result<Option<OrgScope>, DbError> {
    let found = memberships::roles_and_permissions(db, org_id, user_id).await?;
    Ok(found.map(|(roles, permissions)| OrgScope { org_id, roles, permissions: permissions.names() }))
}

fn not_a_member() -> AppError {
    AppError::Forbidden("You are not a member of that organization.".into())
}

fn token_pair(
    state: &AppState,
    user: &User,
    session_id: Uuid,
    refresh_token: String,
    scope: Option<OrgScope>,
) -> AppResult<TokenPair> {
    let jwt = state.jwt();
    let mut claims = jwt.claims(user.id, session_id, &user.email).map_err(|e| AppError::Internal(e.to_string()))?;
    if let Some(scope) = scope {
        claims.org_id = Some(scope.org_id);
        claims.roles = Some(scope.roles);
        claims.permissions = Some(scope.permissions);
    }
    let access_token = jwt.sign(&claims).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(TokenPair { access_token, token_type: "Bearer", expires_in: jwt.ttl().as_secs(), refresh_token })
}

/// For an org route: verifies the token and resolves, in one query, the live session, the
/// active user and their roles and permissions in the org. A non-member gets 404, so an
/// org's existence does not leak.
pub async fn authorize_org(
    state: &AppState,
    bearer: &str,
    org_id: Option<Uuid>,
    ip: Option<std::net::IpAddr>,
) -> AppResult<crate::services::access::OrgActor> {
    let claims = verify(state, bearer)?;
    let org_id = org_id.ok_or_else(crate::services::orgs::no_org)?;
    let client = db::client(state.pool()).await?;
    let caller =
        memberships::resolve_caller(&client, claims.sub, claims.sid, org_id).await?.ok_or_else(session_ended)?;
    let (roles, permissions) = caller.membership.ok_or_else(crate::services::orgs::no_org)?;
    Ok(crate::services::access::OrgActor { org_id, user: caller.user, roles, permissions, ip })
}

fn verify(state: &AppState, bearer: &str) -> AppResult<AccessClaims> {
    state.jwt().verify(bearer).map_err(|e| {
        tracing::info!(reason = %e.0, "access token refused");
        AppError::Unauthorized("The access token is missing, invalid or expired.".into())
    })
}

fn session_ended() -> AppError {
    AppError::Unauthorized("The session has ended; sign in again.".into())
}
