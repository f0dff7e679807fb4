//! Organizations, their roles and members.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::permission::PermissionSet;

/// An organization (a tenant).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct Organization {
    /// UUIDv7.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Unique, URL-safe handle.
    pub slug: String,
    /// Who made it; None once that user is deleted.
    pub created_by: Option<Uuid>,
    /// The role an invitation without `roles` grants (`member` unless changed).
    pub default_role: String,
    /// Most members the org may have; null for no limit. Set by platform admins.
    pub max_members: Option<i32>,
    /// Members need a second factor for this org's routes and tokens.
    pub require_mfa: bool,
    /// Its logo (an https image), on its invitations and its members' sign-in.
    pub logo_url: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An organization as one of its members sees it in a list, with their roles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct MyOrganization {
    /// The organization.
    #[serde(flatten)]
    #[from_row(flatten)]
    pub organization: Organization,
    /// The caller's role names there.
    pub roles: Vec<String>,
    /// When the caller joined.
    pub joined_at: DateTime<Utc>,
}

/// A role: a system role (shared by every org) or an org's custom role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct Role {
    /// UUIDv7 (system roles have fixed ids).
    pub id: Uuid,
    /// Unique within its org and among system roles.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// True for owner, admin and member.
    pub system: bool,
    /// Its permissions.
    #[serde(serialize_with = "serialize_permissions")]
    #[schema(value_type = Vec<String>, example = json!(["org:read", "members:read"]))]
    #[from_row(from = "Vec<String>")]
    pub permissions: PermissionSet,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

fn serialize_permissions<S: serde::Serializer>(set: &PermissionSet, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(set.iter())
}

/// A member of an organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct Member {
    /// The user's id.
    pub user_id: Uuid,
    /// Their email.
    pub email: String,
    /// Their name.
    pub name: String,
    /// Role names in this org, sorted.
    pub roles: Vec<String>,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
}

/// The name of the system role that holds every permission.
pub const OWNER_ROLE: &str = "owner";
/// Fixed id of the owner role (seeded by V1__init.sql).
pub const OWNER_ROLE_ID: Uuid = Uuid::from_u128(0x00000000_0000_7000_8000_000000000001);
/// Fixed id of the member role (seeded by V1__init.sql), every org's first default role.
pub const MEMBER_ROLE_ID: Uuid = Uuid::from_u128(0x00000000_0000_7000_8000_000000000003);
/// Names reserved by system roles.
pub const SYSTEM_ROLE_NAMES: [&str; 3] = ["owner", "admin", "member"];
