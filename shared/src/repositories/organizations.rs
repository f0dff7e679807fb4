//! The organizations table.

use const_format::concatcp;
use uuid::Uuid;

use super::reads::Read;
use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{InvitationStatus, MyOrganization, Organization};

/// Name of the unique constraint on slug.
pub const SLUG_UNIQUE: &str = "organizations_slug_key";

/// The columns [`Organization`] maps from, on the alias `o`.
const COLUMNS: &str =
    "o.id, o.name, o.slug, o.created_by, o.max_members, o.require_mfa, o.logo_url, o.created_at, o.updated_at,
    (SELECT r.name FROM roles r WHERE r.id = o.default_role_id) AS default_role";

const INSERT: &str = concatcp!(
    "INSERT INTO organizations AS o (id, name, slug, created_by) VALUES ($1, $2, $3, $4)
     ON CONFLICT (slug) DO NOTHING RETURNING ",
    COLUMNS
);
const FIND: &str = concatcp!("SELECT ", COLUMNS, " FROM organizations o WHERE o.id = $1");
pub(crate) const LOCK: &str = "SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE";
const UPDATE: &str = concatcp!(
    "UPDATE organizations o SET name = COALESCE($2, o.name), slug = COALESCE($3, o.slug), updated_at = now()
     WHERE o.id = $1 RETURNING ",
    COLUMNS
);
const LOCK_SEATS: &str = "SELECT max_members FROM organizations WHERE id = $1 FOR UPDATE";
/// The limit, the members and the live pending invitations: the seats taken or promised.
const SEATS: &str = "SELECT o.max_members,
            (SELECT count(*) FROM memberships m WHERE m.org_id = o.id) AS members,
            (SELECT count(*) FROM invitations i WHERE i.org_id = o.id AND i.status = $2 AND i.expires_at > now()) AS invited
     FROM organizations o WHERE o.id = $1";
const MEMBER_COUNT: &str = "SELECT count(*) FROM memberships WHERE org_id = $1";
const SET_MAX_MEMBERS: &str =
    concatcp!("UPDATE organizations o SET max_members = $2, updated_at = now() WHERE o.id = $1 RETURNING ", COLUMNS);
const SET_LOGO_URL: &str = "UPDATE organizations SET logo_url = $2, updated_at = now() WHERE id = $1";
const SET_REQUIRE_MFA: &str = "UPDATE organizations SET require_mfa = $2, updated_at = now() WHERE id = $1";
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
#[track_caller]
pub fn find<C: GenericClient>(db: &C, id: Uuid) -> Read<'_, C, Option<Organization>> {
    Read::new(db, FIND, vec![Box::new(id)])
}

/// Locks the organization's row until the transaction ends, serialising changes to its
/// memberships (so two owners cannot remove each other at once).
pub async fn lock(db: &impl GenericClient, id: Uuid) -> Result<bool, DbError> {
    Ok(cached::query_opt(db, LOCK, &[&id]).await?.is_some())
}

/// As [`lock`], and the org's member limit: None when there is no such org, Some(None) when
/// it has no limit.
pub async fn lock_seats(db: &impl GenericClient, id: Uuid) -> Result<Option<Option<i32>>, DbError> {
    cached::value_opt(db, LOCK_SEATS, &[&id]).await
}

/// How many members the org has. Read after [`lock_seats`], in a statement of its own, it
/// counts every member a committed join added (a statement's snapshot is taken when it starts).
pub async fn member_count(db: &impl GenericClient, id: Uuid) -> Result<i64, DbError> {
    cached::value(db, MEMBER_COUNT, &[&id]).await
}

/// The org's seats: its limit, its members and its live pending invitations.
#[derive(Clone, Copy, Debug, postgres_from_row::FromRow)]
pub struct Seats {
    /// Most members; None for no limit.
    pub max_members: Option<i32>,
    /// Members now.
    pub members: i64,
    /// Pending invitations not yet expired.
    pub invited: i64,
}

/// The org's seats; None when there is no such org.
pub async fn seats(db: &impl GenericClient, id: Uuid) -> Result<Option<Seats>, DbError> {
    cached::fetch_opt(db, SEATS, &[&id, &InvitationStatus::Pending]).await
}

/// Sets or clears (None) the org's member limit.
pub async fn set_max_members(
    db: &impl GenericClient,
    id: Uuid,
    max: Option<i32>,
) -> Result<Option<Organization>, DbError> {
    cached::fetch_opt(db, SET_MAX_MEMBERS, &[&id, &max]).await
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

/// Sets whether the org requires a second factor of its members.
/// Sets or clears the organization's logo.
pub async fn set_logo_url(db: &impl GenericClient, id: Uuid, url: Option<&str>) -> Result<(), DbError> {
    cached::execute(db, SET_LOGO_URL, &[&id, &url]).await?;
    Ok(())
}

pub async fn set_require_mfa(db: &impl GenericClient, id: Uuid, required: bool) -> Result<(), DbError> {
    cached::execute(db, SET_REQUIRE_MFA, &[&id, &required]).await?;
    Ok(())
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
