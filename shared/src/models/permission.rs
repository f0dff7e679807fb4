//! The fixed permission catalog: what a role may grant (docs/design.md, "Permissions").

use serde::{Serialize, Serializer};

/// One permission a role can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Read the organization.
    OrgRead,
    /// Rename it or change its slug.
    OrgUpdate,
    /// Delete it.
    OrgDelete,
    /// List and read members.
    MembersRead,
    /// Remove members.
    MembersRemove,
    /// List roles.
    RolesRead,
    /// Create, edit and delete custom roles.
    RolesManage,
    /// Change members' roles.
    RolesAssign,
    /// List invitations.
    InvitationsRead,
    /// Invite people.
    InvitationsCreate,
    /// Revoke invitations.
    InvitationsRevoke,
    /// Read the audit log.
    AuditRead,
    /// Create, rotate and revoke the organization's API keys.
    ApiKeysManage,
    /// Read the organization's events feed.
    EventsRead,
    /// Create, change, test and delete the organization's webhook endpoints.
    WebhooksManage,
    /// Claim, verify and delete the organization's email domains and set what they do.
    DomainsManage,
    /// Connect, change, test and delete the organization's identity providers (single sign-on).
    SsoManage,
}

impl Permission {
    /// Every permission, in catalog order.
    pub const ALL: [Permission; 17] = [
        Permission::OrgRead,
        Permission::OrgUpdate,
        Permission::OrgDelete,
        Permission::MembersRead,
        Permission::MembersRemove,
        Permission::RolesRead,
        Permission::RolesManage,
        Permission::RolesAssign,
        Permission::InvitationsRead,
        Permission::InvitationsCreate,
        Permission::InvitationsRevoke,
        Permission::AuditRead,
        Permission::ApiKeysManage,
        Permission::EventsRead,
        Permission::WebhooksManage,
        Permission::DomainsManage,
        Permission::SsoManage,
    ];

    /// The wire and database spelling, e.g. `members:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::OrgRead => "org:read",
            Permission::OrgUpdate => "org:update",
            Permission::OrgDelete => "org:delete",
            Permission::MembersRead => "members:read",
            Permission::MembersRemove => "members:remove",
            Permission::RolesRead => "roles:read",
            Permission::RolesManage => "roles:manage",
            Permission::RolesAssign => "roles:assign",
            Permission::InvitationsRead => "invitations:read",
            Permission::InvitationsCreate => "invitations:create",
            Permission::InvitationsRevoke => "invitations:revoke",
            Permission::AuditRead => "audit:read",
            Permission::ApiKeysManage => "api_keys:manage",
            Permission::EventsRead => "events:read",
            Permission::WebhooksManage => "webhooks:manage",
            Permission::DomainsManage => "domains:manage",
            Permission::SsoManage => "sso:manage",
        }
    }

    /// What it allows, for GET /permissions.
    pub fn description(self) -> &'static str {
        match self {
            Permission::OrgRead => "Read the organization",
            Permission::OrgUpdate => "Rename the organization or change its slug",
            Permission::OrgDelete => "Delete the organization",
            Permission::MembersRead => "List and read members",
            Permission::MembersRemove => "Remove members",
            Permission::RolesRead => "List roles and their permissions",
            Permission::RolesManage => "Create, edit and delete custom roles",
            Permission::RolesAssign => "Change members' roles",
            Permission::InvitationsRead => "List and read invitations",
            Permission::InvitationsCreate => "Invite people and resend invitations",
            Permission::InvitationsRevoke => "Revoke invitations",
            Permission::AuditRead => "Read the audit log",
            Permission::ApiKeysManage => "Create, rotate and revoke the organization's API keys",
            Permission::EventsRead => "Read the organization's events feed",
            Permission::WebhooksManage => "Create, change, test and delete the organization's webhook endpoints",
            Permission::DomainsManage => {
                "Claim, verify and delete the organization's email domains and set what they do"
            }
            Permission::SsoManage => "Connect, change, test and delete the organization's identity providers (SSO)",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == raw)
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A set of permissions, as held by a caller or granted by roles.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PermissionSet(std::collections::BTreeSet<Permission>);

impl PermissionSet {
    /// From database spellings; unknown ones (a permission retired from the catalog) are dropped.
    pub fn from_names<I: IntoIterator<Item = S>, S: AsRef<str>>(names: I) -> PermissionSet {
        PermissionSet(names.into_iter().filter_map(|n| Permission::parse(n.as_ref())).collect())
    }

    /// Holds this permission.
    pub fn has(&self, p: Permission) -> bool {
        self.0.contains(&p)
    }

    /// Holds every permission of `other`.
    pub fn covers(&self, other: &PermissionSet) -> bool {
        other.0.is_subset(&self.0)
    }

    /// The permissions both sets hold.
    pub fn intersection(&self, other: &PermissionSet) -> PermissionSet {
        PermissionSet(self.0.intersection(&other.0).copied().collect())
    }

    /// Sorted wire spellings.
    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|p| p.as_str().to_owned()).collect()
    }

    /// Iterates in catalog order.
    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        self.0.iter().copied()
    }
}

impl From<Vec<String>> for PermissionSet {
    /// The known permissions among stored names; a name no longer known grants nothing.
    fn from(names: Vec<String>) -> PermissionSet {
        PermissionSet::from_names(names)
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        PermissionSet(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_round_trips_and_covers() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
        }
        assert_eq!(Permission::parse("org:explode"), None);
        let all: PermissionSet = Permission::ALL.into_iter().collect();
        let some = PermissionSet::from_names(["org:read", "members:read", "bogus"]);
        assert_eq!(some.names(), ["org:read", "members:read"]);
        assert!(all.covers(&some));
        assert!(!some.covers(&all));
    }
}
