//! Who is acting in an organization, and what they may do there.

use std::net::IpAddr;

use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::models::{Permission, PermissionSet, User};

/// A member acting in one of their organizations, as resolved for this request.
#[derive(Clone, Debug)]
pub struct OrgActor {
    /// The organization.
    pub org_id: Uuid,
    /// The member.
    pub user: User,
    /// Their role names there.
    pub roles: Vec<String>,
    /// Their permissions there, fresh from the database.
    pub permissions: PermissionSet,
    /// Their address, for the audit log.
    pub ip: Option<IpAddr>,
}

impl OrgActor {
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
