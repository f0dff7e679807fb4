//! The organizations table.

use const_format::concatcp;
use uuid::Uuid;

use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{MyOrganization, Organization};

/// Name of the unique constraint on slug.
pub const SLUG_UNIQUE: &str = "organizations_slug_key";

/// The columns [`Organization`] maps from, on the alias `o`.
const COLUMNS: &str = "o.id, o.name, o.slug, o.created_by, o.created_at, o.updated_at,
    (SELECT r.name FROM roles r WHERE r.id = o.default_role_id) AS default_role";

const INSERT: &str = concatcp!(
    "INSERT INTO organizations AS o (id, name, slug, created_by) VALUES ($1, $2, $3, $4)
     ON CONFLICT (slug) DO NOTHING RETURNING ",
    COLUMNS
);
const FIND: &str = concatcp!("SELECT ", COLUMNS, " FROM organizations o WHERE o.id = $1");
const LOCK: &str = "SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE";
const UPDATE: &str = concatcp!(
    "UPDATE organizations o SET name = COALESCE($2, o.name), slug = COALESCE($3, o.slug), updated_at = now()
     WHERE o.id = $1 RETURNING ",
    COLUMNS
);
const SET_DEFAULT_ROLE: &str = "UPDATE organizations SET default_role_id = $2, updated_at = now() WHERE id = $1";
const DELETE: &str = "DELETE FROM organizations WHERE id = $1";
const LIST_FOR_USER: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    ", ma.joined_at, ma.roles FROM member_access ma JOIN organizations o ON o.id = ma.org_id
     WHERE ma.user_id = $1 AND o.id > COALESCE($2::uuid, '00000000-0000-0000-0000-000000000000') ORDER BY o.id LIMIT $3"
);

/// Creates an organization; None when the slug is taken.
pub async fn insert(
    db: &impl GenericClient,
    id: Uuid,
    name: &str,
    slug: &str,
    created_by: Uuid,
) -> Result<Option<Organization>, DbError> {
    cached::fetch_opt(db, INSERT, &[&id, &name, &slug, &created_by]).await
}

/// The organization with this id.
pub async fn find(db: &impl GenericClient, id: Uuid) -> Result<Option<Organization>, DbError> {
    cached::fetch_opt(db, FIND, &[&id]).await
}

/// Locks the organization's row until the transaction ends, serialising changes to its
/// memberships (so two owners cannot remove each other at once).
pub async fn lock(db: &impl GenericClient, id: Uuid) -> Result<bool, DbError> {
    Ok(cached::query_opt(db, LOCK, &[&id]).await?.is_some())
}

/// Changes name and/or slug; fields left None stay.
pub async fn update(
    db: &impl GenericClient,
    id: Uuid,
    name: Option<&str>,
    slug: Option<&str>,
) -> Result<Option<Organization>, DbError> {
    cached::fetch_opt(db, UPDATE, &[&id, &name, &slug]).await
}

/// Makes `role_id` the role invitations without roles grant.
pub async fn set_default_role(db: &impl GenericClient, id: Uuid, role_id: Uuid) -> Result<(), DbError> {
    cached::execute(db, SET_DEFAULT_ROLE, &[&id, &role_id]).await?;
    Ok(())
}

/// Deletes the organization; memberships, roles and invitations go with it (ON DELETE CASCADE).
pub async fn delete(db: &impl GenericClient, id: Uuid) -> Result<bool, DbError> {
    Ok(cached::execute(db, DELETE, &[&id]).await? == 1)
}

/// The user's organizations with their roles there, by organization id after `after`.
pub async fn list_for_user(
    db: &impl GenericClient,
    user_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<MyOrganization>, DbError> {
    cached::fetch(db, LIST_FOR_USER, &[&user_id, &after, &limit]).await
}
