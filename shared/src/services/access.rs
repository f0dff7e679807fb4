//! Who is asking: the caller of an authenticated request, checked against the database, and
//! the member acting in an organization with what they may do there.

use std::net::IpAddr;

use uuid::Uuid;

use crate::auth::jwt::{AccessClaims, MachineClaims};
use crate::auth::machine_secret::{self, MachineSecret, SecretKind};
use crate::db::{self, DbError};
use crate::error::{AppError, AppResult};
use crate::models::{KeyCaller, Permission, PermissionSet, User};
use crate::repositories::reads::{self, Answer, CallerColumns, Read};
use crate::repositories::{GenericClient, api_keys, memberships, sessions};
use crate::state::AppState;

/// Who acts in an organization.
#[derive(Clone, Debug)]
pub enum Principal {
    /// A member, an active user, through their live session.
    Member {
        /// The member.
        user: User,
        /// Their session.
        session_id: Uuid,
    },
    /// One of the organization's live API keys.
    ApiKey {
        /// The key.
        id: Uuid,
        /// Its name.
        name: String,
    },
    /// One of the organization's OAuth clients, through a token it got.
    Client {
        /// The client.
        id: Uuid,
        /// Its name.
        name: String,
    },
}

/// Someone acting in an organization, as resolved for this request: a member or an API key.
#[derive(Clone, Debug)]
pub struct OrgActor {
    /// The organization.
    pub org_id: Uuid,
    /// Who acts.
    pub principal: Principal,
    /// A member's role names there (none for a key).
    pub roles: Vec<String>,
    /// What they may do there, fresh from the database.
    pub permissions: PermissionSet,
    /// Their address, for the audit log.
    pub ip: Option<IpAddr>,
}

impl OrgActor {
    /// Decides with the lock held: locks the organization's row until the transaction ends
    /// (every write to an organization takes it first, so they queue one behind another) and
    /// reads the caller's session, membership and permissions again under it. A caller whom a
    /// write that committed first removed, demoted or signed out is judged as they are now:
    /// 401, 404 or 403 as on any org request.
    pub async fn locked(&self, tx: &impl GenericClient) -> AppResult<OrgActor> {
        match &self.principal {
            Principal::Member { user, session_id } => {
                let (locked, caller) =
                    memberships::lock_org_and_resolve_caller(tx, self.org_id, user.id, *session_id).await?;
                if !locked {
                    return Err(no_org());
                }
                actor_from(self.org_id, *session_id, self.ip, caller)
            }
            Principal::ApiKey { id, .. } | Principal::Client { id, .. } => {
                let (locked, key) = api_keys::lock_org_and_resolve(tx, self.org_id, *id).await?;
                if !locked {
                    return Err(no_org());
                }
                // A machine keeps no more than it had when the request began: a token's
                // narrower scope stays narrow.
                let key = key.map(|k| KeyCaller { permissions: k.permissions.intersection(&self.permissions), ..k });
                key_actor(self.org_id, self.ip, key, None, 0)
            }
        }
    }

    /// The member acting, or None for a machine.
    pub fn member(&self) -> Option<&User> {
        match &self.principal {
            Principal::Member { user, .. } => Some(user),
            Principal::ApiKey { .. } | Principal::Client { .. } => None,
        }
    }

    /// The acting member's id, or None for a machine.
    pub fn user_id(&self) -> Option<Uuid> {
        self.member().map(|u| u.id)
    }

    /// 403 unless the actor holds `permission`.
    pub fn require(&self, permission: Permission) -> AppResult<()> {
        match self.permissions.has(permission) {
            true => Ok(()),
            false => Err(lacks(permission)),
        }
    }

    /// 403 unless the actor holds every permission in `wanted`: nobody grants, edits or
    /// removes more power than they have.
    pub fn require_all(&self, wanted: &PermissionSet, what: &str) -> AppResult<()> {
        let missing: Vec<&str> = wanted.iter().filter(|p| !self.permissions.has(*p)).map(Permission::as_str).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("{what} needs permissions you do not hold: {}.", missing.join(", "))))
        }
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

/// Verifies an access token and checks, in one query, that its session is live and its user
/// active.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn authenticate(state: &AppState, bearer: &str) -> AppResult<Caller> {
    let claims = verify(state, bearer)?;
    let client = db::client(state.pool()).await?;
    let (user, stale) =
        sessions::find_by_live_session(&client, claims.sub, claims.sid).await?.ok_or_else(session_ended)?;
    if stale {
        sessions::mark_used(&client, claims.sid).await?;
    }
    Ok(Caller { user, session_id: claims.sid, claims })
}

/// Who reads a platform-wide resource: a platform admin, or a platform client (an M2M client
/// of no organization) whose token carries the permission and which still holds it.
#[derive(Clone, Debug)]
pub enum PlatformReader {
    /// A signed-in platform admin.
    Admin(Box<Caller>),
    /// A platform client, by its id.
    Client(Uuid),
}

/// For a platform route that platform clients may read too: a user's token must be a platform
/// admin's (else 403); a machine token must be a live platform client's holding `permission`
/// (an organization's key or client: 403); anything else 401.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn authorize_platform(state: &AppState, bearer: &str, permission: Permission) -> AppResult<PlatformReader> {
    let not_platform = || AppError::Forbidden("This needs a platform administrator or a platform client.".into());
    if let Some(secret) = MachineSecret::parse(bearer) {
        // An API key acts in its organization only; an unknown one is a 401 as anywhere.
        let client = db::client(state.pool()).await?;
        return match api_keys::resolve(&client, &secret.hash(), 0).await? {
            Some(_) if secret.kind() == SecretKind::ApiKey => Err(not_platform()),
            _ => Err(key_refused()),
        };
    }
    let refused = match verify(state, bearer) {
        Ok(_) => {
            let caller = authenticate(state, bearer).await?;
            return match caller.user.is_platform_admin {
                true => Ok(PlatformReader::Admin(Box::new(caller))),
                false => Err(not_platform()),
            };
        }
        Err(refused) => refused,
    };
    let claims = state.jwt().verify_machine(bearer).map_err(|_| refused)?;
    let id = claims.client_id.parse::<Uuid>().map_err(|_| key_refused())?;
    let limits = &state.config().quotas;
    let limits = (counter_limit(limits.api_key_requests_per_minute), counter_limit(limits.client_requests_per_minute));
    let client = db::client(state.pool()).await?;
    let machine = api_keys::resolve_for_token(&client, id, limits, claims.jti).await?.ok_or_else(key_refused)?;
    if !machine.is_client || machine.org_id.is_some() || claims.org_id.is_some() {
        return Err(not_platform());
    }
    within_limit(&machine, state.config().quotas.client_requests_per_minute)?;
    let granted = PermissionSet::from_names(&claims.permissions).intersection(&machine.permissions);
    if !granted.has(permission) {
        return Err(AppError::Forbidden(format!("This client's token does not hold {}.", permission.as_str())));
    }
    Ok(PlatformReader::Client(machine.id))
}

/// For an org route: verifies the token and resolves, in one query, the live session, the
/// active user and their roles and permissions in the org. A non-member gets 404, so an
/// org's existence does not leak.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn authorize_org(
    state: &AppState,
    bearer: &str,
    org_id: Option<Uuid>,
    ip: Option<std::net::IpAddr>,
) -> AppResult<OrgActor> {
    let request = OrgRequest::verify(state, bearer, org_id, ip)?;
    let client = db::client(state.pool()).await?;
    request.actor(request.find(&client).await?)
}

/// What an org route's bearer is, checked offline: a session's access token (its signature
/// and claims verified) or an API key (its shape and checksum right).
#[derive(Clone, Debug)]
enum Credential {
    Session(Box<AccessClaims>),
    /// A key and the requests it may make per minute (0: no limit).
    ApiKey(MachineSecret, u32),
    /// A token the token endpoint issued to a key or a client, and the requests per minute
    /// of each.
    Machine(Box<MachineClaims>, (u32, u32)),
}

/// The caller's row as the per-request statement found it.
enum Found {
    Session(Option<memberships::SessionMember>),
    ApiKey(Option<KeyCaller>),
}

/// An org route's verified bearer, its caller not yet looked up: a read sends the lookup with
/// its own statement, so both take one round trip on one connection.
#[derive(Clone, Debug)]
pub struct OrgRequest {
    credential: Credential,
    org_id: Uuid,
    ip: Option<IpAddr>,
}

impl OrgRequest {
    /// Verifies the bearer (401) and that the path names an org id (404); no database yet.
    pub fn verify(state: &AppState, bearer: &str, org_id: Option<Uuid>, ip: Option<IpAddr>) -> AppResult<OrgRequest> {
        let credential = match MachineSecret::parse(bearer) {
            Some(secret) if secret.kind() == SecretKind::ApiKey => {
                Credential::ApiKey(secret, state.config().quotas.api_key_requests_per_minute)
            }
            Some(_) => return Err(not_a_bearer()),
            None => match verify(state, bearer) {
                Ok(claims) => Credential::Session(Box::new(claims)),
                // Not a user's token: perhaps a machine's, which has no session.
                Err(refused) => match state.jwt().verify_machine(bearer) {
                    Ok(claims) => {
                        let quotas = &state.config().quotas;
                        let limits = (quotas.api_key_requests_per_minute, quotas.client_requests_per_minute);
                        Credential::Machine(Box::new(claims), limits)
                    }
                    Err(_) => return Err(refused),
                },
            },
        };
        Ok(OrgRequest { credential, org_id: org_id.ok_or_else(no_org)?, ip })
    }

    /// A read that needs `permission`.
    pub fn to_read(self, permission: Permission) -> OrgRead {
        OrgRead { request: self, permission }
    }

    /// The per-request statement for this bearer.
    async fn find(&self, db: &impl GenericClient) -> Result<Found, DbError> {
        Ok(match &self.credential {
            Credential::Session(claims) => {
                let caller = memberships::resolve_caller(db, claims.sub, claims.sid, self.org_id).await?;
                if caller.as_ref().is_some_and(|c| c.stale) {
                    sessions::mark_used(db, claims.sid).await?;
                }
                Found::Session(caller)
            }
            Credential::ApiKey(secret, per_minute) => {
                let per_minute = counter_limit(*per_minute);
                Found::ApiKey(api_keys::resolve(db, &secret.hash(), per_minute).await?)
            }
            Credential::Machine(claims, (per_key, per_client)) => {
                let limits = (counter_limit(*per_key), counter_limit(*per_client));
                match claims.client_id.parse::<Uuid>() {
                    Ok(id) => Found::ApiKey(api_keys::resolve_for_token(db, id, limits, claims.jti).await?),
                    Err(_) => Found::ApiKey(None),
                }
            }
        })
    }

    /// The actor from the caller's row (see [`actor_from`] and [`key_actor`]).
    fn actor(&self, found: Found) -> AppResult<OrgActor> {
        match (found, &self.credential) {
            (Found::Session(caller), Credential::Session(claims)) => {
                actor_from(self.org_id, claims.sid, self.ip, caller)
            }
            (Found::ApiKey(key), Credential::ApiKey(secret, per_minute)) => {
                key_actor(self.org_id, self.ip, key, Some(secret), *per_minute)
            }
            (Found::ApiKey(key), Credential::Machine(claims, (per_key, per_client))) => {
                // The token acts with what it was granted, and only while its key or client
                // still holds it.
                let granted = PermissionSet::from_names(&claims.permissions);
                let key = key
                    .filter(|k| claims.org_id == k.org_id)
                    .map(|k| KeyCaller { permissions: granted.intersection(&k.permissions), ..k });
                let limit = if key.as_ref().is_some_and(|k| k.is_client) { *per_client } else { *per_key };
                key_actor(self.org_id, self.ip, key, None, limit)
            }
            _ => Err(AppError::bug("a bearer was resolved as another kind")),
        }
    }
}

/// The actor from a key's row (found by a key's value, or by the id a token names): 401 when
/// no live key has the value, the org's 404 for a key
/// of another org (as for a stranger).
fn key_actor(
    org_id: Uuid,
    ip: Option<IpAddr>,
    key: Option<KeyCaller>,
    presented: Option<&MachineSecret>,
    limit: u32,
) -> AppResult<OrgActor> {
    let key = key.ok_or_else(key_refused)?;
    // The row was found by this hash; comparing again, in constant time, costs nothing.
    if presented.is_some_and(|p| !machine_secret::hashes_match(&key.secret_hash, &p.hash())) {
        return Err(key_refused());
    }
    // A platform client's token acts in no organization: the same 404 as a stranger's.
    if key.org_id != Some(org_id) {
        return Err(no_org());
    }
    within_limit(&key, limit)?;
    let principal = if key.is_client {
        Principal::Client { id: key.id, name: key.name }
    } else {
        Principal::ApiKey { id: key.id, name: key.name }
    };
    Ok(OrgActor { org_id, principal, roles: vec![], permissions: key.permissions, ip })
}

/// A 429 with Retry-After when the machine's requests this minute (counted by the statement
/// that found it) passed `limit` (0: none).
fn within_limit(key: &KeyCaller, limit: u32) -> AppResult<()> {
    match crate::services::quotas::over_minute_limit(key.hits, key.window_end, i64::from(limit)) {
        Some(retry_after) => {
            let who = if key.is_client { "This client's tokens" } else { "This API key" };
            let detail = format!("{who} made more than {limit} requests this minute; wait and try again.");
            Err(AppError::TooManyRequests { detail, retry_after })
        }
        None => Ok(()),
    }
}

/// A requests-per-minute limit as the database's counters take it (beyond i32: no limit met).
fn counter_limit(limit: u32) -> i32 {
    i32::try_from(limit).unwrap_or(i32::MAX)
}

/// The 401 of an API key that is unknown, expired or revoked: one answer for all.
fn key_refused() -> AppError {
    AppError::Unauthorized("The API key is invalid, expired or revoked.".into())
}

/// The 401 of a client secret sent as a bearer: it is exchanged at the token endpoint.
fn not_a_bearer() -> AppError {
    AppError::Unauthorized("A client secret is not a bearer token; exchange it at POST /oauth2/token.".into())
}

/// The actor from the caller's row: 401 when the session is gone, 404 for a non-member, 403
/// `mfa-required` for a member whose session lacks the second factor the org requires.
fn actor_from(
    org_id: Uuid,
    session_id: Uuid,
    ip: Option<IpAddr>,
    caller: Option<memberships::SessionMember>,
) -> AppResult<OrgActor> {
    let caller = caller.ok_or_else(session_ended)?;
    let (roles, permissions) = caller.membership.ok_or_else(no_org)?;
    if caller.needs_mfa {
        return Err(mfa_required());
    }
    Ok(OrgActor { org_id, principal: Principal::Member { user: caller.user, session_id }, roles, permissions, ip })
}

/// The 403 of a caller without `permission`.
fn lacks(permission: Permission) -> AppError {
    AppError::Forbidden(format!("This needs the {} permission.", permission.as_str()))
}

/// An org read and the permission it needs: the caller is resolved in the same exchange as the
/// read, and the read's result is used only once the caller is allowed it.
#[derive(Clone, Debug)]
pub struct OrgRead {
    request: OrgRequest,
    permission: Permission,
}

impl OrgRead {
    /// The org.
    pub fn org_id(&self) -> Uuid {
        self.request.org_id
    }

    /// Runs `read` inside the caller's check, as one statement (see [`reads::checked`]): 401,
    /// 404 or 403 as [`authorize_org`] and `require` give them, else what was read. The
    /// database returns the read's rows only to a caller it found allowed.
    pub async fn with<'a, C, T>(&'a self, read: Read<'a, C, T>) -> AppResult<T>
    where
        C: GenericClient + Sync,
        T: Answer + Send + 'a,
    {
        let (org, permission) = (&self.request.org_id, &self.permission.as_str());
        let db = read.db();
        let (caller, value) = match &self.request.credential {
            Credential::Session(claims) => {
                let session = (claims.sid, claims.sub);
                let (caller, value) =
                    reads::checked(memberships::caller_check(&session, org, permission), read).await?;
                if caller.as_ref().is_some_and(|c| c.caller_stale) {
                    sessions::mark_used(db, claims.sid).await?;
                }
                (caller, value)
            }
            Credential::ApiKey(secret, per_minute) => {
                let hash = secret.hash();
                let (hash, per_minute) = (&hash[..], counter_limit(*per_minute));
                reads::checked(api_keys::caller_check_by_key(&hash, &per_minute, org, permission), read).await?
            }
            Credential::Machine(claims, (per_key, per_client)) => {
                let Ok(id) = claims.client_id.parse::<Uuid>() else { return Err(key_refused()) };
                let token = api_keys::TokenCheck {
                    id,
                    limits: (counter_limit(*per_key), counter_limit(*per_client)),
                    jti: claims.jti,
                    token_org: claims.org_id,
                    granted: &claims.permissions,
                };
                reads::checked(api_keys::caller_check_by_token(&token, org, permission), read).await?
            }
        };
        self.verdict(caller)?;
        Ok(value)
    }

    /// The verdict on the caller a read's check found: the same 401, 404, 403 or 429 as
    /// [`authorize_org`] and `require` give.
    fn verdict(&self, caller: Option<CallerColumns>) -> AppResult<()> {
        match &self.request.credential {
            Credential::Session(_) => {
                let caller = caller.ok_or_else(session_ended)?;
                if caller.caller_org_id.is_none() {
                    return Err(no_org());
                }
                if caller.caller_needs_mfa {
                    return Err(mfa_required());
                }
                match caller.caller_holds {
                    true => Ok(()),
                    false => Err(lacks(self.permission)),
                }
            }
            Credential::ApiKey(..) | Credential::Machine(..) => {
                let key = caller.and_then(|c| {
                    Some(KeyCaller {
                        id: c.caller_key_id?,
                        org_id: c.caller_org_id,
                        is_client: c.caller_is_client,
                        name: c.caller_name.unwrap_or_default(),
                        // What the read needs, as the check found it: held or not.
                        permissions: PermissionSet::from_iter(c.caller_holds.then_some(self.permission)),
                        secret_hash: c.caller_secret_hash.unwrap_or_default(),
                        hits: c.caller_hits,
                        window_end: c.caller_window_end,
                    })
                });
                self.request.actor(Found::ApiKey(key))?.require(self.permission)
            }
        }
    }

    /// Refuses bad input only once the caller is resolved and allowed: a stranger to the org
    /// gets its 404, not a verdict on their query.
    async fn refuse<T>(&self, state: &AppState, error: AppError) -> AppResult<T> {
        let client = db::client(state.pool()).await?;
        self.request.actor(self.request.find(&client).await?)?.require(self.permission)?;
        Err(error)
    }

    /// The input, or its refusal once the caller is resolved and allowed.
    pub async fn checked<T>(&self, state: &AppState, input: AppResult<T>) -> AppResult<T> {
        match input {
            Ok(value) => Ok(value),
            Err(error) => self.refuse(state, error).await,
        }
    }
}

fn verify(state: &AppState, bearer: &str) -> AppResult<AccessClaims> {
    if MachineSecret::parse(bearer).is_some() {
        return Err(AppError::Unauthorized(
            "API keys act only on their organization's routes; this route needs a signed-in user's access token."
                .into(),
        ));
    }
    state.jwt().verify(bearer).map_err(|e| {
        tracing::info!(reason = %e.0, "access token refused");
        AppError::Unauthorized("The access token is missing, invalid or expired.".into())
    })
}

pub(crate) fn session_ended() -> AppError {
    AppError::Unauthorized("The session has ended; sign in again.".into())
}

/// 404 for an organization that does not exist or that the caller may not know of.
pub fn no_org() -> AppError {
    AppError::NotFound("No such organization.".into())
}

/// The 403 of an org that requires a second factor the session has not proved.
pub fn mfa_required() -> AppError {
    AppError::MfaRequired(
        "This organization requires multi-factor authentication: enrol an authenticator (POST /me/mfa/totp), \
         then sign in again with a code."
            .into(),
    )
}
