//! Roles and their permissions (roles, role_permissions), read through the `role_details` view.

use const_format::concatcp;
use uuid::Uuid;

use super::reads::Read;
use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{PermissionSet, Role};

/// Name of the unique index on (org_id, name).
pub const NAME_UNIQUE: &str = "roles_org_name_key";

/// The columns [`Role`] maps from.
const SELECT: &str =
    "SELECT r.id, r.name, r.description, r.system, r.created_at, r.updated_at, r.permissions FROM role_details r";
const LIST: &str = concatcp!(SELECT, " WHERE r.org_id IS NULL OR r.org_id = $1 ORDER BY r.org_id NULLS FIRST, r.name");
const FIND_BY_NAMES: &str =
    concatcp!(SELECT, " WHERE (r.org_id IS NULL OR r.org_id = $1) AND r.name = ANY($2) ORDER BY r.name");
const FIND_BY_ID: &str = concatcp!(SELECT, " WHERE (r.org_id IS NULL OR r.org_id = $1) AND r.id = $2");
const FIND_BY_NAME: &str = concatcp!(
    SELECT,
    " WHERE (r.org_id IS NULL OR r.org_id = $1) AND r.name = $2 ORDER BY r.org_id NULLS FIRST LIMIT 1"
);
const DEFAULT_FOR_ORG: &str =
    concatcp!(SELECT, " WHERE r.id = (SELECT default_role_id FROM organizations WHERE id = $1)");
const IS_A_DEFAULT: &str = "SELECT EXISTS (SELECT 1 FROM organizations WHERE default_role_id = $1)";
const FIND_BY_IDS: &str = concatcp!(SELECT, " WHERE r.id = ANY($1) ORDER BY r.name");
const INSERT: &str = "INSERT INTO roles (id, org_id, name, description) VALUES ($1, $2, $3, $4)";
const UPDATE: &str = "UPDATE roles SET name = COALESCE($2, name), description = COALESCE($3, description),
                      updated_at = now() WHERE id = $1 AND org_id IS NOT NULL";
const CLEAR_PERMISSIONS: &str = "DELETE FROM role_permissions WHERE role_id = $1";
const ADD_PERMISSIONS: &str = "INSERT INTO role_permissions (role_id, permission) SELECT $1, unnest($2::text[])";
const DELETE: &str = "DELETE FROM roles WHERE id = $1 AND org_id IS NOT NULL";

/// System roles, then the org's custom roles, each by name.
#[track_caller]
pub fn list<C: GenericClient>(db: &C, org_id: Uuid) -> Read<'_, C, Vec<Role>> {
    Read::new(db, LIST, vec![Box::new(org_id)])
}

/// The roles usable in the org with these names (system or the org's own).
pub async fn find_by_names(db: &impl GenericClient, org_id: Uuid, names: &[String]) -> Result<Vec<Role>, DbError> {
    cached::fetch(db, FIND_BY_NAMES, &[&org_id, &names]).await
}

/// A role usable in the org, by id.
pub async fn find_by_id(db: &impl GenericClient, org_id: Uuid, id: Uuid) -> Result<Option<Role>, DbError> {
    cached::fetch_opt(db, FIND_BY_ID, &[&org_id, &id]).await
}

/// A role usable in the org, by name (system and custom names never clash: the unique index
/// counts system roles as one org, and custom roles may not take a system role's name).
pub async fn find_by_name(db: &impl GenericClient, org_id: Uuid, name: &str) -> Result<Option<Role>, DbError> {
    cached::fetch_opt(db, FIND_BY_NAME, &[&org_id, &name]).await
}

/// The role the org grants to invitees invited without roles.
pub async fn default_for_org(db: &impl GenericClient, org_id: Uuid) -> Result<Option<Role>, DbError> {
    cached::fetch_opt(db, DEFAULT_FOR_ORG, &[&org_id]).await
}

/// True when some org grants this role by default.
pub async fn is_a_default(db: &impl GenericClient, id: Uuid) -> Result<bool, DbError> {
    cached::value(db, IS_A_DEFAULT, &[&id]).await
}

/// The roles with these ids, wherever they belong.
pub async fn find_by_ids(db: &impl GenericClient, ids: &[Uuid]) -> Result<Vec<Role>, DbError> {
    cached::fetch(db, FIND_BY_IDS, &[&ids]).await
}

/// Creates a custom role with its permissions.
pub async fn insert(
    db: &impl GenericClient,
    id: Uuid,
    org_id: Uuid,
    name: &str,
    description: &str,
    permissions: &PermissionSet,
) -> Result<(), DbError> {
    cached::execute(db, INSERT, &[&id, &org_id, &name, &description]).await?;
    set_permissions(db, id, permissions).await
}

/// Changes a custom role's name and/or description.
pub async fn update(
    db: &impl GenericClient,
    id: Uuid,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<(), DbError> {
    cached::execute(db, UPDATE, &[&id, &name, &description]).await?;
    Ok(())
}

/// Replaces a role's permissions.
pub async fn set_permissions(db: &impl GenericClient, id: Uuid, permissions: &PermissionSet) -> Result<(), DbError> {
    cached::execute(db, CLEAR_PERMISSIONS, &[&id]).await?;
    cached::execute(db, ADD_PERMISSIONS, &[&id, &permissions.names()]).await?;
    Ok(())
}

/// Deletes a custom role; members lose it (ON DELETE CASCADE).
pub async fn delete(db: &impl GenericClient, id: Uuid) -> Result<bool, DbError> {
    Ok(cached::execute(db, DELETE, &[&id]).await? == 1)
}

const PENDING_INVITATIONS_GRANTING: &str =
    "SELECT count(*) FROM invitations WHERE org_id = $1 AND status = 'pending' AND expires_at > now()
           AND $2 = ANY (role_ids)";

/// How many live pending invitations of the org grant this role.
pub async fn pending_invitations_granting(
    db: &impl GenericClient,
    org_id: Uuid,
    role_id: Uuid,
) -> Result<i64, DbError> {
    cached::value(db, PENDING_INVITATIONS_GRANTING, &[&org_id, &role_id]).await
}
