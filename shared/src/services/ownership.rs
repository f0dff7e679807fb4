//! Who owns an OAuth client or a webhook endpoint: an organization (managed by its members
//! and machines holding the route's permission) or the platform (managed by platform admins);
//! how each is judged under its owner's lock and how its changes are recorded.

use std::net::IpAddr;

use serde_json::Value;
use uuid::Uuid;

use crate::db::DbError;
use crate::error::AppResult;
use crate::models::{AuditAction, Permission, PermissionSet};
use crate::repositories::GenericClient;
use crate::services::access::{Caller, OrgActor, OrgRead};
use crate::services::{audit, users};

/// Who changes what an owner has: a member (or machine) of an organization, or a platform admin.
#[derive(Clone, Copy, Debug)]
pub enum Manager<'a> {
    /// For the organization's.
    Org(&'a OrgActor),
    /// For the platform's, from this address.
    Platform(&'a Caller, Option<IpAddr>),
    /// For the platform's, by the operator at the `identity` command, acting as the platform
    /// administrator with this id.
    Console(Uuid),
}

/// Who reads what an owner has: an org read (its caller resolved with the read), or a platform
/// admin.
#[derive(Clone, Copy, Debug)]
pub enum Reader<'a> {
    /// The organization's.
    Org(&'a OrgRead),
    /// The platform's.
    Platform,
}

/// A manager as judged under the owner's lock.
pub enum Decided {
    /// A member or machine of the organization, judged under its lock.
    Org(OrgActor),
    /// A platform admin, still one under the admins' lock.
    Platform {
        /// The admin.
        admin: Uuid,
        /// Their address.
        ip: Option<IpAddr>,
    },
}

impl Decided {
    /// Takes the owner's lock and judges the manager under it: an org write's lock with
    /// `permission`, or the platform admins' lock with the caller still one of them.
    pub async fn under_lock(
        manager: Manager<'_>,
        tx: &impl GenericClient,
        permission: Permission,
    ) -> AppResult<Decided> {
        match manager {
            Manager::Org(actor) => {
                let actor = actor.locked(tx).await?;
                actor.require(permission)?;
                Ok(Decided::Org(actor))
            }
            Manager::Platform(caller, ip) => {
                users::lock_admins_as(tx, caller).await?;
                Ok(Decided::Platform { admin: caller.user.id, ip })
            }
            Manager::Console(admin) => {
                users::lock_admin_by_id(tx, admin).await?;
                Ok(Decided::Platform { admin, ip: None })
            }
        }
    }

    /// The owner column: the org, or None for the platform.
    pub fn owner(&self) -> Option<Uuid> {
        match self {
            Decided::Org(actor) => Some(actor.org_id),
            Decided::Platform { .. } => None,
        }
    }

    /// Who made it: the member or platform admin (None for a machine).
    pub fn created_by(&self) -> Option<Uuid> {
        match self {
            Decided::Org(actor) => actor.user_id(),
            Decided::Platform { admin, .. } => Some(*admin),
        }
    }

    /// In an organization nobody gives more than they hold; a platform admin gives a platform
    /// client any permission (it acts in no organization).
    pub fn require_all(&self, wanted: &PermissionSet, what: &str) -> AppResult<()> {
        match self {
            Decided::Org(actor) => actor.require_all(wanted, what),
            Decided::Platform { .. } => Ok(()),
        }
    }

    /// Who acted, as an event names them: `user`, `api_key` or `m2m_client`, and the id.
    pub fn event_actor(&self) -> (&'static str, Option<Uuid>) {
        match self {
            Decided::Org(actor) => {
                let by = audit::Attribution::from(actor);
                (if by.actor_type == "client" { "m2m_client" } else { by.actor_type }, by.actor_id)
            }
            Decided::Platform { admin, .. } => ("user", Some(*admin)),
        }
    }

    /// Records the change: in the org's audit log, or as the admin's own act.
    pub async fn record(
        &self,
        tx: &impl GenericClient,
        action: AuditAction,
        id: Uuid,
        metadata: Value,
    ) -> Result<(), DbError> {
        match self {
            Decided::Org(actor) => audit::record(tx, actor, action, id, metadata).await,
            Decided::Platform { admin, ip } => audit::record_account(tx, *admin, *ip, action, &[id], metadata).await,
        }
    }
}
