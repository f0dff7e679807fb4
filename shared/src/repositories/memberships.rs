//! Memberships and the roles members hold (memberships, member_roles), read through the
//! `member_access` view, which aggregates a membership's role names and permissions.

use chrono::{DateTime, Utc};
use const_format::concatcp;
use uuid::Uuid;

use super::cached::Param;
use super::reads::Check;
use super::reads::Read;
use super::{GenericClient, cached, organizations, sessions, users};
use crate::db::DbError;
use crate::models::{Member, PermissionSet, User, UserStatus};

/// A row of [`resolve_caller`]: the live session's user, and their membership in the org if any.
#[derive(Clone, Debug)]
pub struct SessionMember {
    /// The active user behind the live session.
    pub user: User,
    /// Roles and permissions in the org; None if not a member.
    pub membership: Option<(Vec<String>, PermissionSet)>,
    /// The org requires a second factor and this session has not proved one.
    pub needs_mfa: bool,
    /// The session was last marked used over a minute ago (see `sessions::mark_used`).
    pub stale: bool,
}

/// A row of [`RESOLVE_CALLER`], before the membership is made optional.
#[derive(postgres_from_row::FromRow)]
struct CallerRow {
    #[from_row(flatten)]
    user: User,
    is_member: bool,
    roles: Vec<String>,
    #[from_row(from = "Vec<String>")]
    permissions: PermissionSet,
    needs_mfa: bool,
    stale: bool,
}

/// A member's role names and permissions.
#[derive(postgres_from_row::FromRow)]
struct AccessRow {
    roles: Vec<String>,
    #[from_row(from = "Vec<String>")]
    permissions: PermissionSet,
}

/// What an org-scoped token of a member would carry, and whether the org requires MFA.
#[derive(postgres_from_row::FromRow)]
pub struct TokenScope {
    /// Role names.
    pub roles: Vec<String>,
    /// Permissions through those roles.
    #[from_row(from = "Vec<String>")]
    pub permissions: PermissionSet,
    /// The org's policy: only sessions that proved a second factor get its tokens.
    pub require_mfa: bool,
}

/// Whether the org (`$3`, joined as `mfa` when it requires a second factor) requires one that
/// the member `m`'s session `s` has not proved. A join, not a subquery: the expression is
/// copied wherever the inlined check's column is used, and a copied subquery would run again.
const NEEDS_MFA: &str = "(m.user_id IS NOT NULL AND NOT ('otp' = ANY (s.amr)) AND mfa.id IS NOT NULL)";
/// The live session (`$1`) of the active user (`$2`, status `$4`) and their membership in the
/// org (`$3`): four lookups by key, as the membership row carries the roles and permissions it
/// grants (kept there by triggers, migration V6).
const CALLER_FROM: &str = " FROM sessions s JOIN users u ON u.id = s.user_id
     LEFT JOIN memberships m ON m.org_id = $3 AND m.user_id = u.id
     LEFT JOIN organizations mfa ON mfa.id = $3 AND mfa.require_mfa
     WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.security_stamp = u.security_stamp
       AND u.status = $4";
/// Every org write runs this one, and org reads that refuse their input.
const RESOLVE_CALLER: &str = concatcp!(
    "SELECT ",
    users::COLUMNS,
    ", m.user_id IS NOT NULL AS is_member, COALESCE(m.roles, '{}') AS roles, COALESCE(m.permissions, '{}') AS permissions, ",
    NEEDS_MFA,
    " AS needs_mfa, ",
    sessions::STALE,
    " AS stale",
    CALLER_FROM
);
/// Every org read with a session's token runs this one as its statement's head (see
/// `reads::checked`): the caller allowed when a member holding the permission `$5` who needs no
/// second factor more.
const CALLER_CHECK: &str = concatcp!(
    "WITH caller AS (
       SELECT c.*, (c.caller_org_id IS NOT NULL AND NOT c.caller_needs_mfa AND c.caller_holds) AS caller_allowed
       FROM (SELECT m.org_id AS caller_org_id, NULL::uuid AS caller_key_id, NULL::text AS caller_name,
                    false AS caller_is_client, NULL::bytea AS caller_secret_hash, NULL::int4 AS caller_hits,
                    NULL::timestamptz AS caller_window_end, COALESCE($5::text = ANY (m.permissions), false) AS caller_holds, ",
    NEEDS_MFA,
    " AS caller_needs_mfa, ",
    sessions::STALE,
    " AS caller_stale",
    CALLER_FROM,
    ") c)"
);
const INSERT: &str = "INSERT INTO memberships (org_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
const DELETE: &str = "DELETE FROM memberships WHERE org_id = $1 AND user_id = $2";
const CLEAR_ROLES: &str = "DELETE FROM member_roles WHERE org_id = $1 AND user_id = $2";
const ADD_ROLES: &str = "INSERT INTO member_roles (org_id, user_id, role_id) SELECT $1, $2, unnest($3::uuid[])";
const COUNT_HOLDERS: &str = "SELECT count(*) FROM member_roles WHERE org_id = $1 AND role_id = $2";
const ACCESS: &str = "SELECT roles, permissions FROM member_access WHERE org_id = $1 AND user_id = $2";
const TOKEN_SCOPE: &str = "SELECT ma.roles, ma.permissions, o.require_mfa
                           FROM member_access ma JOIN organizations o ON o.id = ma.org_id
                           WHERE ma.org_id = $1 AND ma.user_id = $2";
/// The columns [`Member`] maps from.
const MEMBER_SELECT: &str = "SELECT ma.user_id, u.email, u.name, ma.joined_at, ma.roles FROM member_access ma JOIN users u ON u.id = ma.user_id";
const FIND: &str = concatcp!(MEMBER_SELECT, " WHERE ma.org_id = $1 AND ma.user_id = $2");
/// A page of memberships by the (joined_at, user_id) index. The cursor's key is never NULL in
/// the comparison (a first page starts at -infinity), so even a generic plan reads the index
/// from the key on.
const LIST: &str = concatcp!(
    MEMBER_SELECT,
    " WHERE ma.org_id = $1
        AND (ma.joined_at, ma.user_id) > (COALESCE($2::timestamptz, '-infinity'), COALESCE($3::uuid, '00000000-0000-0000-0000-000000000000'))
      ORDER BY ma.joined_at, ma.user_id LIMIT $4"
);
const HAS_MEMBER_WITH_EMAIL: &str = "SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                                     WHERE m.org_id = $1 AND lower(u.email) = lower($2))";

const LOCK_ORGS_OF: &str =
    "SELECT o.id FROM organizations o WHERE o.id IN (SELECT org_id FROM memberships WHERE user_id = $1)
         ORDER BY o.id FOR UPDATE";

/// Locks every org the user belongs to, in id order (the order every other locker of two
/// orgs would take), until the transaction ends; their ids.
pub async fn lock_orgs_of(db: &impl GenericClient, user_id: Uuid) -> Result<Vec<Uuid>, DbError> {
    let rows = cached::query(db, LOCK_ORGS_OF, &[&user_id]).await?;
    rows.iter().map(|row| row.try_get(0).map_err(DbError::from)).collect()
}

const SOLE_HOLDER_IN: &str = "SELECT o.name, o.slug FROM member_roles mr JOIN organizations o ON o.id = mr.org_id
         WHERE mr.user_id = $1 AND mr.role_id = $2
           AND NOT EXISTS (SELECT 1 FROM member_roles x WHERE x.org_id = mr.org_id AND x.role_id = $2 AND x.user_id <> $1)
         ORDER BY o.slug";

/// The orgs (name, slug) where the user holds `role_id` and nobody else does.
pub async fn sole_holder_in(
    db: &impl GenericClient,
    user_id: Uuid,
    role_id: Uuid,
) -> Result<Vec<(String, String)>, DbError> {
    let rows = cached::query(db, SOLE_HOLDER_IN, &[&user_id, &role_id]).await?;
    rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect()
}

/// In one query: the session is live, the user active, and what they may do in the org.
pub async fn resolve_caller(
    db: &impl GenericClient,
    user_id: Uuid,
    session_id: Uuid,
    org_id: Uuid,
) -> Result<Option<SessionMember>, DbError> {
    let params = [&session_id as _, &user_id as _, &org_id as _, &UserStatus::Active as _];
    let row: Option<CallerRow> = cached::fetch_opt(db, RESOLVE_CALLER, &params).await?;
    Ok(row.map(|r| SessionMember {
        user: r.user,
        membership: r.is_member.then_some((r.roles, r.permissions)),
        needs_mfa: r.needs_mfa,
        stale: r.stale,
    }))
}

/// The check that heads an org read with a session's token: the user's session, their
/// membership in the org and whether they hold `permission` there.
pub fn caller_check<'a>(session: &'a (Uuid, Uuid), org_id: &'a Uuid, permission: &'a &'static str) -> Check<'a> {
    let (session_id, user_id) = session;
    Check { head: CALLER_CHECK, params: vec![session_id, user_id, org_id, &UserStatus::Active, permission] }
}

/// Locks the org's row until the transaction ends and then resolves the caller under that
/// lock, in one round trip: both statements are prepared first and sent in order, so the
/// server reads the caller only once it holds the lock. False (and no caller) when there is
/// no such org.
pub async fn lock_org_and_resolve_caller(
    db: &impl GenericClient,
    org_id: Uuid,
    user_id: Uuid,
    session_id: Uuid,
) -> Result<(bool, Option<SessionMember>), DbError> {
    cached::warm(db, &[organizations::LOCK, RESOLVE_CALLER]).await?;
    let lock = async { Ok::<_, DbError>(cached::query_opt(db, organizations::LOCK, &[&org_id]).await?.is_some()) };
    tokio::try_join!(biased; lock, resolve_caller(db, user_id, session_id, org_id))
}

/// Adds a member (no roles yet); false if they already are one.
pub async fn insert(db: &impl GenericClient, org_id: Uuid, user_id: Uuid) -> Result<bool, DbError> {
    Ok(cached::execute(db, INSERT, &[&org_id, &user_id]).await? == 1)
}

/// Removes a member and their roles; false if they were not one.
pub async fn delete(db: &impl GenericClient, org_id: Uuid, user_id: Uuid) -> Result<bool, DbError> {
    Ok(cached::execute(db, DELETE, &[&org_id, &user_id]).await? == 1)
}

/// Replaces a member's roles.
pub async fn set_roles(db: &impl GenericClient, org_id: Uuid, user_id: Uuid, role_ids: &[Uuid]) -> Result<(), DbError> {
    let (clear, add): ([Param; 2], [Param; 3]) = ([&org_id, &user_id], [&org_id, &user_id, &role_ids]);
    // Sent together and run in this order: both prepared first, then polled (so sent) in
    // order (biased), and PostgreSQL runs a connection's statements as they arrive.
    cached::warm(db, &[CLEAR_ROLES, ADD_ROLES]).await?;
    tokio::try_join!(biased; cached::execute(db, CLEAR_ROLES, &clear), cached::execute(db, ADD_ROLES, &add))?;
    Ok(())
}

/// As [`set_roles`], and the member as they are then, in the same round trip.
pub async fn set_roles_and_find(
    db: &impl GenericClient,
    org_id: Uuid,
    user_id: Uuid,
    role_ids: &[Uuid],
) -> Result<Option<Member>, DbError> {
    let (clear, add, key): ([Param; 2], [Param; 3], [Param; 2]) =
        ([&org_id, &user_id], [&org_id, &user_id, &role_ids], [&org_id, &user_id]);
    cached::warm(db, &[CLEAR_ROLES, ADD_ROLES, FIND]).await?;
    let (_, _, member) = tokio::try_join!(
        biased;
        cached::execute(db, CLEAR_ROLES, &clear),
        cached::execute(db, ADD_ROLES, &add),
        cached::fetch_opt(db, FIND, &key),
    )?;
    Ok(member)
}

/// How many members hold the role with this id.
pub async fn count_holders(db: &impl GenericClient, org_id: Uuid, role_id: Uuid) -> Result<i64, DbError> {
    cached::value(db, COUNT_HOLDERS, &[&org_id, &role_id]).await
}

/// The permissions a member holds through all their roles (none for a non-member).
pub async fn permissions(db: &impl GenericClient, org_id: Uuid, user_id: Uuid) -> Result<PermissionSet, DbError> {
    Ok(roles_and_permissions(db, org_id, user_id).await?.map(|(_, p)| p).unwrap_or_default())
}

/// One member.
#[track_caller]
pub fn find<C: GenericClient>(db: &C, org_id: Uuid, user_id: Uuid) -> Read<'_, C, Option<Member>> {
    Read::new(db, FIND, vec![Box::new(org_id), Box::new(user_id)])
}

/// Members in join order, after the (joined_at, user_id) key if given.
#[track_caller]
pub fn list<C: GenericClient>(
    db: &C,
    org_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Read<'_, C, Vec<Member>> {
    let (after_at, after_id) = after.unzip();
    Read::new(db, LIST, vec![Box::new(org_id), Box::new(after_at), Box::new(after_id), Box::new(limit)])
}

/// A member's role names and permissions in the org; None if not a member.
pub async fn roles_and_permissions(
    db: &impl GenericClient,
    org_id: Uuid,
    user_id: Uuid,
) -> Result<Option<(Vec<String>, PermissionSet)>, DbError> {
    let row: Option<AccessRow> = cached::fetch_opt(db, ACCESS, &[&org_id, &user_id]).await?;
    Ok(row.map(|r| (r.roles, r.permissions)))
}

/// A member's roles, permissions and the org's MFA policy, for an org-scoped token; None if
/// not a member.
pub async fn token_scope(db: &impl GenericClient, org_id: Uuid, user_id: Uuid) -> Result<Option<TokenScope>, DbError> {
    cached::fetch_opt(db, TOKEN_SCOPE, &[&org_id, &user_id]).await
}

/// Whether a member of the org has this email (any case).
pub async fn has_member_with_email(db: &impl GenericClient, org_id: Uuid, email: &str) -> Result<bool, DbError> {
    cached::value(db, HAS_MEMBER_WITH_EMAIL, &[&org_id, &email]).await
}
