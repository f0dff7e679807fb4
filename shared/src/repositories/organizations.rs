//! The organizations table.

use tokio_postgres::Row;
use uuid::Uuid;

use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{MyOrganization, Organization};

/// Name of the unique constraint on slug.
pub const SLUG_UNIQUE: &str = "organizations_slug_key";

const COLUMNS: &str = "o.id, o.name, o.slug, o.created_by, o.created_at, o.updated_at,
    (SELECT r.name FROM roles r WHERE r.id = o.default_role_id) AS default_role";

fn organization(row: &Row) -> Organization {
    Organization {
        id: row.get("id"),
        name: row.get("name"),
        slug: row.get("slug"),
        created_by: row.get("created_by"),
        default_role: row.get("default_role"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// Creates an organization; None when the slug is taken.
pub async fn insert(
    db: &impl GenericClient,
    id: Uuid,
    name: &str,
    slug: &str,
    created_by: Uuid,
) -> Result<Option<Organization>, DbError> {
    let sql = format!(
        "INSERT INTO organizations AS o (id, name, slug, created_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (slug) DO NOTHING RETURNING {COLUMNS}"
    );
    Ok(cached::query_opt(db, &sql, &[&id, &name, &slug, &created_by]).await?.as_ref().map(organization))
}

/// The organization with this id.
pub async fn find(db: &impl GenericClient, id: Uuid) -> Result<Option<Organization>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM organizations o WHERE o.id = $1");
    Ok(cached::query_opt(db, &sql, &[&id]).await?.as_ref().map(organization))
}

/// Locks the organization's row until the transaction ends, serialising changes to its
/// memberships (so two owners cannot remove each other at once).
pub async fn lock(db: &impl GenericClient, id: Uuid) -> Result<bool, DbError> {
    Ok(cached::query_opt(db, "SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE", &[&id]).await?.is_some())
}

/// Changes name and/or slug; fields left None stay.
pub async fn update(
    db: &impl GenericClient,
    id: Uuid,
    name: Option<&str>,
    slug: Option<&str>,
) -> Result<Option<Organization>, DbError> {
    let sql = format!(
        "UPDATE organizations o SET name = COALESCE($2, o.name), slug = COALESCE($3, o.slug), updated_at = now()
         WHERE o.id = $1 RETURNING {COLUMNS}"
    );
    Ok(cached::query_opt(db, &sql, &[&id, &name, &slug]).await?.as_ref().map(organization))
}

/// Makes `role_id` the role invitations without roles grant.
pub async fn set_default_role(db: &impl GenericClient, id: Uuid, role_id: Uuid) -> Result<(), DbError> {
    cached::execute(
        db,
        "UPDATE organizations SET default_role_id = $2, updated_at = now() WHERE id = $1",
        &[&id, &role_id],
    )
    .await?;
    Ok(())
}

/// Deletes the organization; memberships, roles and invitations go with it (ON DELETE CASCADE).
pub async fn delete(db: &impl GenericClient, id: Uuid) -> Result<bool, DbError> {
    Ok(cached::execute(db, "DELETE FROM organizations WHERE id = $1", &[&id]).await? == 1)
}

/// The user's organizations with their roles there, by organization id after `after`.
pub async fn list_for_user(
    db: &impl GenericClient,
    user_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<MyOrganization>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS}, m.joined_at,
                COALESCE((SELECT array_agg(r.name ORDER BY r.name) FROM member_roles mr JOIN roles r ON r.id = mr.role_id
                          WHERE mr.org_id = o.id AND mr.user_id = m.user_id), '{{}}') AS roles
         FROM memberships m JOIN organizations o ON o.id = m.org_id
         WHERE m.user_id = $1 AND ($2::uuid IS NULL OR o.id > $2)
         ORDER BY o.id LIMIT $3"
    );
    let rows = cached::query(db, &sql, &[&user_id, &after, &limit]).await?;
    Ok(rows
        .iter()
        .map(|r| MyOrganization { organization: organization(r), roles: r.get("roles"), joined_at: r.get("joined_at") })
        .collect())
}
