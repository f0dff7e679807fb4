//! Bodies of the organization, role and member routes, each parsed into what its service takes.

use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::models::{DisplayName, FieldErrors, Permission, PermissionSet, RoleName, Slug, fields};
use crate::services::orgs::{NewOrg, OrgChanges};
use crate::services::roles::{NewRole, RoleChanges};

/// Body of POST /orgs.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateOrg {
    /// Display name.
    #[schema(value_type = DisplayName)]
    pub name: String,
    /// URL handle; derived from the name when absent.
    #[schema(pattern = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    pub slug: Option<String>,
}

impl CreateOrg {
    /// The checked organization, or a 422 naming each invalid field.
    pub fn parse(self) -> AppResult<NewOrg> {
        let mut fields = FieldErrors::default();
        let name = fields.check("name", DisplayName::parse(&self.name));
        let slug = fields.optional("slug", self.slug.as_deref(), Slug::parse);
        fields.finish(|| Some(NewOrg { name: name?, slug: slug? }))
    }
}

/// Body of PATCH /orgs/{org}.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateOrg {
    /// New name.
    #[schema(value_type = Option<DisplayName>)]
    pub name: Option<String>,
    /// New slug.
    #[schema(pattern = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    pub slug: Option<String>,
    /// The role (by name) that invitations without `roles` grant; needs roles:manage and
    /// every permission the role holds.
    #[schema(pattern = "^[a-z0-9][a-z0-9_:-]{0,62}$")]
    pub default_role: Option<String>,
    /// Require a second factor of every member: without one they get no org-scoped tokens and
    /// a 403 (`mfa-required`) on this org's routes. Audited.
    pub require_mfa: Option<bool>,
    /// An https image URL shown on the organization's invitations and sign-in pages; null
    /// removes it.
    #[schema(value_type = Option<String>, nullable)]
    #[serde(default)]
    pub logo_url: Option<serde_json::Value>,
    /// Not settable here: platform administrators set it with PUT /orgs/{org}/limits.
    #[schema(value_type = Option<i32>, read_only)]
    #[serde(default)]
    pub max_members: Option<serde_json::Value>,
}

impl UpdateOrg {
    /// The checked changes, at least one, or a 422.
    pub fn parse(self) -> AppResult<OrgChanges> {
        let mut fields = FieldErrors::default();
        let name = fields.optional("name", self.name.as_deref(), DisplayName::parse);
        let slug = fields.optional("slug", self.slug.as_deref(), Slug::parse);
        // Checked as a name here, so an empty or malformed one is refused on its own field.
        fields.optional("default_role", self.default_role.as_deref(), RoleName::parse);
        let logo_url = match &self.logo_url {
            None => Some(None),
            Some(serde_json::Value::Null) => Some(Some(None)),
            Some(serde_json::Value::String(url)) => {
                fields.check("logo_url", crate::brand::image_url(url)).map(|u| Some(Some(u)))
            }
            Some(_) => {
                fields.push("logo_url", "must be an https URL or null");
                None
            }
        };
        if self.max_members.is_some() {
            fields.push("max_members", "is set by a platform administrator with PUT /orgs/{org}/limits");
        } else if self.name.is_none()
            && self.slug.is_none()
            && self.default_role.is_none()
            && self.require_mfa.is_none()
            && self.logo_url.is_none()
        {
            fields.push("", "give name, slug, default_role, require_mfa or logo_url to change");
        }
        let (default_role, require_mfa) = (self.default_role, self.require_mfa);
        fields.finish(|| Some(OrgChanges { name: name?, slug: slug?, default_role, require_mfa, logo_url: logo_url? }))
    }
}

/// Body of POST /orgs/{org}/roles.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateRole {
    /// Lower-case name, unique in the org.
    #[schema(pattern = "^[a-z0-9][a-z0-9_:-]{0,62}$")]
    pub name: String,
    /// What it is for.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
    /// Permission names from GET /permissions.
    pub permissions: Vec<String>,
}

/// Longest role description, in characters.
const DESCRIPTION_MAX: usize = 500;

impl CreateRole {
    /// The checked role, or a 422 naming each invalid field.
    pub fn parse(self) -> AppResult<NewRole> {
        let mut fields = FieldErrors::default();
        let name = fields.check("name", RoleName::parse(&self.name));
        let description = fields.check("description", fields::free_text(&self.description, DESCRIPTION_MAX));
        let permissions = permission_set(&self.permissions, &mut fields);
        fields.finish(|| Some(NewRole { name: name?, description: description?, permissions: permissions? }))
    }
}

/// Body of PATCH /orgs/{org}/roles/{role}.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateRole {
    /// New name.
    #[schema(pattern = "^[a-z0-9][a-z0-9_:-]{0,62}$")]
    pub name: Option<String>,
    /// New description.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// New permissions, replacing the old.
    pub permissions: Option<Vec<String>>,
}

impl UpdateRole {
    /// The checked changes, at least one, or a 422.
    pub fn parse(self) -> AppResult<RoleChanges> {
        let mut fields = FieldErrors::default();
        let name = fields.optional("name", self.name.as_deref(), RoleName::parse);
        let description =
            fields.optional("description", self.description.as_deref(), |d| fields::free_text(d, DESCRIPTION_MAX));
        let permissions = match &self.permissions {
            Some(names) => permission_set(names, &mut fields).map(Some),
            None => Some(None),
        };
        if self.name.is_none() && self.description.is_none() && self.permissions.is_none() {
            fields.push("", "give name, description or permissions to change");
        }
        fields.finish(|| Some(RoleChanges { name: name?, description: description?, permissions: permissions? }))
    }
}

/// The permissions named, or None with each unknown name noted by its position.
pub(crate) fn permission_set(names: &[String], fields: &mut FieldErrors) -> Option<PermissionSet> {
    let mut set = vec![];
    let mut all_known = true;
    for (i, name) in names.iter().enumerate() {
        match Permission::parse(name) {
            Some(p) => set.push(p),
            None => {
                all_known = false;
                fields
                    .push(&format!("permissions[{i}]"), format!("'{name}' is not a permission; see GET /permissions"));
            }
        }
    }
    all_known.then(|| set.into_iter().collect())
}

/// Body of PUT /orgs/{org}/members/{user}/roles.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SetRoles {
    /// Role names, system or custom; replaces the member's roles. At least one: a member with
    /// no role could not even read the organization.
    #[schema(min_items = 1)]
    pub roles: Vec<String>,
}

impl SetRoles {
    /// The role names, or a 422 for none.
    pub fn parse(self) -> AppResult<Vec<String>> {
        if self.roles.is_empty() {
            return Err(AppError::invalid(
                "roles",
                "give at least one role: a member with no role could not read the organization (remove them instead)",
            ));
        }
        Ok(self.roles)
    }
}

/// Body of PUT /orgs/{org}/limits (platform admins).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SetLimits {
    /// Most members the org may have, 1 to 1,000,000; null for no limit. Required.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1000000)]
    pub max_members: Option<Option<i64>>,
}

/// Tells a field given as null (Some(None)) from one left out (None).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(deserializer).map(Some)
}

impl SetLimits {
    /// The limit to set (None to clear it), or a 422.
    pub fn parse(self) -> AppResult<Option<i32>> {
        let mut fields = FieldErrors::default();
        let limit = match self.max_members {
            None => {
                fields.push("max_members", "is required: a number of seats, or null for no limit");
                None
            }
            Some(None) => Some(None),
            Some(Some(n)) if (1..=1_000_000).contains(&n) => Some(Some(n as i32)),
            Some(Some(_)) => {
                fields.push("max_members", "must be from 1 to 1000000, or null for no limit");
                None
            }
        };
        fields.finish(|| limit)
    }
}
