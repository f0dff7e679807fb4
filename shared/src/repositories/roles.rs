//! Roles and their permissions (roles, role_permissions).

use tokio_postgres::Row;
use uuid::Uuid;

use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{PermissionSet, Role};

/// Name of the unique index on (org_id, name).
pub const NAME_UNIQUE: &str = "roles_org_name_key";

const SELECT: &str = "SELECT r.id, r.name, r.description, r.org_id IS NULL AS system, r.created_at, r.updated_at,
        COALESCE((SELECT array_agg(rp.permission) FROM role_permissions rp WHERE rp.role_id = r.id), '{}') AS permissions
     FROM roles r";

fn role(row: &Row) -> Role {
    Role {
        id: row.get("id"),
        name: row.get("name"),
        description: row.get("description"),
        system: row.get("system"),
        permissions: PermissionSet::from_names(row.get::<_, Vec<String>>("permissions")),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// System roles, then the org's custom roles, each by name.
pub async fn list(db: &impl GenericClient, org_id: Uuid) -> Result<Vec<Role>, DbError> {
    let sql = format!("{SELECT} WHERE r.org_id IS NULL OR r.org_id = $1 ORDER BY r.org_id NULLS FIRST, r.name");
    Ok(cached::query(db, &sql, &[&org_id]).await?.iter().map(role).collect())
}

/// The roles usable in the org with these names (system or the org's own).
pub async fn find_by_names(db: &impl GenericClient, org_id: Uuid, names: &[String]) -> Result<Vec<Role>, DbError> {
    let sql = format!("{SELECT} WHERE (r.org_id IS NULL OR r.org_id = $1) AND r.name = ANY($2) ORDER BY r.name");
    Ok(cached::query(db, &sql, &[&org_id, &names]).await?.iter().map(role).collect())
}

/// A role usable in the org, by id.
pub async fn find_by_id(db: &impl GenericClient, org_id: Uuid, id: Uuid) -> Result<Option<Role>, DbError> {
    let sql = format!("{SELECT} WHERE (r.org_id IS NULL OR r.org_id = $1) AND r.id = $2");
    Ok(cached::query_opt(db, &sql, &[&org_id, &id]).await?.as_ref().map(role))
}

/// A role usable in the org, by name (system and custom names never clash: the unique index
/// counts system roles as one org, and custom roles may not take a system role's name).
pub async fn find_by_name(db: &impl GenericClient, org_id: Uuid, name: &str) -> Result<Option<Role>, DbError> {
    let sql = format!(
        "{SELECT} WHERE (r.org_id IS NULL OR r.org_id = $1) AND r.name = $2 ORDER BY r.org_id NULLS FIRST LIMIT 1"
    );
    Ok(cached::query_opt(db, &sql, &[&org_id, &name]).await?.as_ref().map(role))
}

/// The role the org grants to invitees invited without roles.
pub async fn default_for_org(db: &impl GenericClient, org_id: Uuid) -> Result<Option<Role>, DbError> {
    let sql = format!("{SELECT} WHERE r.id = (SELECT default_role_id FROM organizations WHERE id = $1)");
    Ok(cached::query_opt(db, &sql, &[&org_id]).await?.as_ref().map(role))
}

/// True when some org grants this role by default.
pub async fn is_a_default(db: &impl GenericClient, id: Uuid) -> Result<bool, DbError> {
    let sql = "SELECT EXISTS (SELECT 1 FROM organizations WHERE default_role_id = $1)";
    Ok(cached::query_one(db, sql, &[&id]).await?.get(0))
}

/// The roles with these ids, wherever they belong.
pub async fn find_by_ids(db: &impl GenericClient, ids: &[Uuid]) -> Result<Vec<Role>, DbError> {
    let sql = format!("{SELECT} WHERE r.id = ANY($1) ORDER BY r.name");
    Ok(cached::query(db, &sql, &[&ids]).await?.iter().map(role).collect())
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
    cached::execute(
        db,
        "INSERT INTO roles (id, org_id, name, description) VALUES ($1, $2, $3, $4)",
        &[&id, &org_id, &name, &description],
    )
    .await?;
    set_permissions(db, id, permissions).await
}

/// Changes a custom role's name and/or description.
pub async fn update(
    db: &impl GenericClient,
    id: Uuid,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<(), DbError> {
    cached::execute(
        db,
        "UPDATE roles SET name = COALESCE($2, name), description = COALESCE($3, description), updated_at = now()
         WHERE id = $1 AND org_id IS NOT NULL",
        &[&id, &name, &description],
    )
    .await?;
    Ok(())
}

/// Replaces a role's permissions.
pub async fn set_permissions(db: &impl GenericClient, id: Uuid, permissions: &PermissionSet) -> Result<(), DbError> {
    cached::execute(db, "DELETE FROM role_permissions WHERE role_id = $1", &[&id]).await?;
    cached::execute(
        db,
        "INSERT INTO role_permissions (role_id, permission) SELECT $1, unnest($2::text[])",
        &[&id, &permissions.names()],
    )
    .await?;
    Ok(())
}

/// Deletes a custom role; members lose it (ON DELETE CASCADE).
pub async fn delete(db: &impl GenericClient, id: Uuid) -> Result<bool, DbError> {
    Ok(cached::execute(db, "DELETE FROM roles WHERE id = $1 AND org_id IS NOT NULL", &[&id]).await? == 1)
}
