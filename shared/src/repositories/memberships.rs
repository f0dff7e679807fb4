//! Memberships and the roles members hold (memberships, member_roles).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{Member, PermissionSet, User};

/// A row of [`resolve_caller`]: the live session's user, and their membership in the org if any.
#[derive(Clone, Debug)]
pub struct SessionMember {
    /// The active user behind the live session.
    pub user: User,
    /// Roles and permissions in the org; None if not a member.
    pub membership: Option<(Vec<String>, PermissionSet)>,
}

/// In one query: the session is live, the user active, and what they may do in the org.
pub async fn resolve_caller(
    db: &impl GenericClient,
    user_id: Uuid,
    session_id: Uuid,
    org_id: Uuid,
) -> Result<Option<SessionMember>, DbError> {
    // Built once: every org request runs it.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
        "SELECT {}, m.user_id IS NOT NULL AS is_member,
                COALESCE((SELECT array_agg(r.name ORDER BY r.name) FROM member_roles mr JOIN roles r ON r.id = mr.role_id
                          WHERE mr.org_id = $3 AND mr.user_id = u.id), '{{}}') AS roles,
                COALESCE((SELECT array_agg(DISTINCT rp.permission) FROM member_roles mr
                          JOIN role_permissions rp ON rp.role_id = mr.role_id
                          WHERE mr.org_id = $3 AND mr.user_id = u.id), '{{}}') AS permissions
         FROM sessions s JOIN users u ON u.id = s.user_id
         LEFT JOIN memberships m ON m.org_id = $3 AND m.user_id = u.id
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND u.status = 'active'",
            *super::users::U_COLUMNS
        )
    });
    let Some(row) = cached::query_opt(db, &SQL, &[&session_id, &user_id, &org_id]).await? else { return Ok(None) };
    let membership = row.get::<_, bool>("is_member").then(|| {
        let permissions: Vec<String> = row.get("permissions");
        (row.get::<_, Vec<String>>("roles"), PermissionSet::from_names(permissions))
    });
    Ok(Some(SessionMember { user: super::users::user(&row), membership }))
}

/// Adds a member (no roles yet); false if they already are one.
pub async fn insert(db: &impl GenericClient, org_id: Uuid, user_id: Uuid) -> Result<bool, DbError> {
    let n = cached::execute(
        db,
        "INSERT INTO memberships (org_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&org_id, &user_id],
    )
    .await?;
    Ok(n == 1)
}

/// Removes a member and their roles; false if they were not one.
pub async fn delete(db: &impl GenericClient, org_id: Uuid, user_id: Uuid) -> Result<bool, DbError> {
    Ok(cached::execute(db, "DELETE FROM memberships WHERE org_id = $1 AND user_id = $2", &[&org_id, &user_id]).await?
        == 1)
}

/// Replaces a member's roles.
pub async fn set_roles(db: &impl GenericClient, org_id: Uuid, user_id: Uuid, role_ids: &[Uuid]) -> Result<(), DbError> {
    cached::execute(db, "DELETE FROM member_roles WHERE org_id = $1 AND user_id = $2", &[&org_id, &user_id]).await?;
    cached::execute(
        db,
        "INSERT INTO member_roles (org_id, user_id, role_id) SELECT $1, $2, unnest($3::uuid[])",
        &[&org_id, &user_id, &role_ids],
    )
    .await?;
    Ok(())
}

/// How many members hold the role with this id.
pub async fn count_holders(db: &impl GenericClient, org_id: Uuid, role_id: Uuid) -> Result<i64, DbError> {
    let row = cached::query_one(
        db,
        "SELECT count(*) FROM member_roles WHERE org_id = $1 AND role_id = $2",
        &[&org_id, &role_id],
    )
    .await?;
    Ok(row.get(0))
}

/// The permissions a member holds through all their roles.
pub async fn permissions(db: &impl GenericClient, org_id: Uuid, user_id: Uuid) -> Result<PermissionSet, DbError> {
    let row = cached::query_one(
        db,
        "SELECT COALESCE(array_agg(DISTINCT rp.permission), '{}') FROM member_roles mr
             JOIN role_permissions rp ON rp.role_id = mr.role_id WHERE mr.org_id = $1 AND mr.user_id = $2",
        &[&org_id, &user_id],
    )
    .await?;
    Ok(PermissionSet::from_names(row.get::<_, Vec<String>>(0)))
}

const MEMBER_SELECT: &str = "SELECT m.user_id, u.email, u.name, m.joined_at,
        COALESCE((SELECT array_agg(r.name ORDER BY r.name) FROM member_roles mr JOIN roles r ON r.id = mr.role_id
                  WHERE mr.org_id = m.org_id AND mr.user_id = m.user_id), '{}') AS roles
     FROM memberships m JOIN users u ON u.id = m.user_id";

fn member(row: &Row) -> Member {
    Member {
        user_id: row.get("user_id"),
        email: row.get("email"),
        name: row.get("name"),
        roles: row.get("roles"),
        joined_at: row.get("joined_at"),
    }
}

/// One member.
pub async fn find(db: &impl GenericClient, org_id: Uuid, user_id: Uuid) -> Result<Option<Member>, DbError> {
    let sql = format!("{MEMBER_SELECT} WHERE m.org_id = $1 AND m.user_id = $2");
    Ok(cached::query_opt(db, &sql, &[&org_id, &user_id]).await?.as_ref().map(member))
}

/// Members in join order, after the (joined_at, user_id) key if given.
pub async fn list(
    db: &impl GenericClient,
    org_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Member>, DbError> {
    let (after_at, after_id) = after.unzip();
    let sql = format!(
        "{MEMBER_SELECT} WHERE m.org_id = $1 AND ($2::timestamptz IS NULL OR (m.joined_at, m.user_id) > ($2, $3))
         ORDER BY m.joined_at, m.user_id LIMIT $4"
    );
    let rows = cached::query(db, &sql, &[&org_id, &after_at, &after_id, &limit]).await?;
    Ok(rows.iter().map(member).collect())
}

/// A member's role names and permissions in the org; None if not a member.
pub async fn roles_and_permissions(
    db: &impl GenericClient,
    org_id: Uuid,
    user_id: Uuid,
) -> Result<Option<(Vec<String>, PermissionSet)>, DbError> {
    let row = cached::query_opt(
        db,
        "SELECT COALESCE((SELECT array_agg(r.name ORDER BY r.name) FROM member_roles mr JOIN roles r ON r.id = mr.role_id
                          WHERE mr.org_id = m.org_id AND mr.user_id = m.user_id), '{}'),
                COALESCE((SELECT array_agg(DISTINCT rp.permission) FROM member_roles mr
                          JOIN role_permissions rp ON rp.role_id = mr.role_id
                          WHERE mr.org_id = m.org_id AND mr.user_id = m.user_id), '{}')
         FROM memberships m WHERE m.org_id = $1 AND m.user_id = $2",
        &[&org_id, &user_id],
    )
    .await?;
    Ok(row.map(|r| (r.get(0), PermissionSet::from_names(r.get::<_, Vec<String>>(1)))))
}

/// Whether a member of the org has this email (any case).
pub async fn has_member_with_email(db: &impl GenericClient, org_id: Uuid, email: &str) -> Result<bool, DbError> {
    let row = cached::query_one(
        db,
        "SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                            WHERE m.org_id = $1 AND lower(u.email) = lower($2))",
        &[&org_id, &email],
    )
    .await?;
    Ok(row.get(0))
}
