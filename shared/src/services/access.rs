//! Who is asking: the caller of an authenticated request, checked against the database, and
//! the member acting in an organization with what they may do there.

use std::net::IpAddr;

use uuid::Uuid;

use crate::auth::jwt::AccessClaims;
use crate::db::{self, DbError};
use crate::error::{AppError, AppResult};
use crate::models::{Permission, PermissionSet, User};
use crate::repositories::{GenericClient, memberships, sessions};
use crate::state::AppState;

/// A member acting in one of their organizations, as resolved for this request.
#[derive(Clone, Debug)]
pub struct OrgActor {
    /// The organization.
    pub org_id: Uuid,
    /// The member, an active user with a live session.
    pub user: User,
    /// That session.
    pub session_id: Uuid,
    /// Their role names there.
    pub roles: Vec<String>,
    /// Their permissions there, fresh from the database.
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
        let (locked, caller) =
            memberships::lock_org_and_resolve_caller(tx, self.org_id, self.user.id, self.session_id).await?;
        if !locked {
            return Err(no_org());
        }
        actor_from(self.org_id, self.session_id, self.ip, caller)
    }

    /// 403 unless the actor holds `permission`.
    pub fn require(&self, permission: Permission) -> AppResult<()> {
        if self.permissions.has(permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("This needs the {} permission.", permission.as_str())))
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
    let user = sessions::find_by_live_session(&client, claims.sub, claims.sid).await?.ok_or_else(session_ended)?;
    Ok(Caller { user, session_id: claims.sid, claims })
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
    request.actor(memberships::resolve_caller(&client, request.claims.sub, request.claims.sid, request.org_id).await?)
}

/// An org route's verified token, its caller not yet looked up: a read sends the lookup with
/// its own statement, so both take one round trip on one connection.
#[derive(Clone, Debug)]
pub struct OrgRequest {
    claims: AccessClaims,
    org_id: Uuid,
    ip: Option<IpAddr>,
}

impl OrgRequest {
    /// Verifies the token (401) and that the path names an org id (404); no database yet.
    pub fn verify(state: &AppState, bearer: &str, org_id: Option<Uuid>, ip: Option<IpAddr>) -> AppResult<OrgRequest> {
        let claims = verify(state, bearer)?;
        Ok(OrgRequest { claims, org_id: org_id.ok_or_else(no_org)?, ip })
    }

    /// A read that needs `permission`.
    pub fn to_read(self, permission: Permission) -> OrgRead {
        OrgRead { request: self, permission }
    }

    /// The actor from the caller's row (see [`actor_from`]).
    fn actor(&self, caller: Option<memberships::SessionMember>) -> AppResult<OrgActor> {
        actor_from(self.org_id, self.claims.sid, self.ip, caller)
    }
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
    Ok(OrgActor { org_id, user: caller.user, session_id, roles, permissions, ip })
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

    /// Runs `read` pipelined with the caller's resolution on `db` (tokio-postgres sends both
    /// before awaiting either): 401, 404 or 403 as [`authorize_org`] and `require` give them,
    /// else what was read.
    pub async fn with<T>(
        &self,
        db: &impl GenericClient,
        read: impl Future<Output = Result<T, DbError>>,
    ) -> AppResult<T> {
        let claims = &self.request.claims;
        let resolve = memberships::resolve_caller(db, claims.sub, claims.sid, self.request.org_id);
        let (caller, value) = tokio::try_join!(resolve, read)?;
        self.request.actor(caller)?.require(self.permission)?;
        Ok(value)
    }

    /// Refuses bad input only once the caller is resolved and allowed: a stranger to the org
    /// gets its 404, not a verdict on their query.
    async fn refuse<T>(&self, state: &AppState, error: AppError) -> AppResult<T> {
        let client = db::client(state.pool()).await?;
        self.with(&client, std::future::ready(Ok(()))).await?;
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
