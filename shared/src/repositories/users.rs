//! The users table.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{User, UserCredentials, UserStatus};

/// Name of the case-insensitive unique index on email.
pub const EMAIL_UNIQUE: &str = "users_email_lower_key";

/// A new user's row from [`NewUser`]'s fields, in order.
const INSERT: &str = "INSERT INTO users (id, email, name, password_hash, email_verified_at)
                      VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END)";

/// The columns [`user`] maps, unqualified.
pub(crate) const COLUMNS: &str =
    "id, email, name, email_verified_at, status, is_platform_admin, created_at, updated_at";

/// Maps a row holding the user columns.
pub(crate) fn user(row: &Row) -> User {
    let verified: Option<DateTime<Utc>> = row.get("email_verified_at");
    User {
        id: row.get("id"),
        email: row.get("email"),
        name: row.get("name"),
        email_verified: verified.is_some(),
        email_verified_at: verified,
        status: UserStatus::parse(row.get("status")),
        is_platform_admin: row.get("is_platform_admin"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// A user to create.
pub struct NewUser<'a> {
    /// UUIDv7.
    pub id: Uuid,
    /// The canonical email (`validate::email`: NFKC, lower case, punycode domain).
    pub email: &'a str,
    /// Display name.
    pub name: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    /// Set when the address was proven by other means (an accepted invitation).
    pub email_verified: bool,
}

/// Inserts a user; a taken email fails with a unique violation on [`EMAIL_UNIQUE`].
pub async fn insert(db: &impl GenericClient, new: &NewUser<'_>) -> Result<User, DbError> {
    let sql = format!("{INSERT} RETURNING {COLUMNS}");
    let row =
        cached::query_one(db, &sql, &[&new.id, &new.email, &new.name, &new.password_hash, &new.email_verified]).await?;
    Ok(user(&row))
}

/// Inserts a user unless the email is taken (any case); None when it is.
pub async fn insert_if_new(db: &impl GenericClient, new: &NewUser<'_>) -> Result<Option<User>, DbError> {
    let sql = format!("{INSERT} ON CONFLICT (lower(email)) DO NOTHING RETURNING {COLUMNS}");
    let row =
        cached::query_opt(db, &sql, &[&new.id, &new.email, &new.name, &new.password_hash, &new.email_verified]).await?;
    Ok(row.as_ref().map(user))
}

/// The user with this email (any case) and their password hash.
pub async fn find_credentials(db: &impl GenericClient, email: &str) -> Result<Option<UserCredentials>, DbError> {
    let sql = format!("SELECT {COLUMNS}, password_hash FROM users WHERE lower(email) = lower($1)");
    let row = cached::query_opt(db, &sql, &[&email]).await?;
    Ok(row.map(|r| UserCredentials { user: user(&r), password_hash: r.get("password_hash") }))
}

/// The user with this id.
pub async fn find(db: &impl GenericClient, id: Uuid) -> Result<Option<User>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    Ok(cached::query_opt(db, &sql, &[&id]).await?.as_ref().map(user))
}

/// The active user behind a live session: the one check every authenticated request makes.
pub async fn find_by_live_session(
    db: &impl GenericClient,
    user_id: Uuid,
    session_id: Uuid,
) -> Result<Option<User>, DbError> {
    // Built once: every authenticated request runs it.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {} FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND u.status = 'active'",
            *U_COLUMNS
        )
    });
    Ok(cached::query_opt(db, &SQL, &[&session_id, &user_id]).await?.as_ref().map(user))
}

/// The user columns qualified by the alias `u`, built once.
pub(crate) static U_COLUMNS: LazyLock<String> =
    LazyLock::new(|| COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", "));

/// Users whose email starts with `prefix` (case-insensitively), by id after `after`.
pub async fn list(
    db: &impl GenericClient,
    prefix: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<User>, DbError> {
    // LIKE wildcards in the prefix are taken literally.
    let pattern =
        prefix.map(|p| format!("{}%", p.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE ($1::text IS NULL OR lower(email) LIKE $1) AND ($2::uuid IS NULL OR id > $2)
         ORDER BY id LIMIT $3"
    );
    Ok(cached::query(db, &sql, &[&pattern, &after, &limit]).await?.iter().map(user).collect())
}

/// Changes what an administrator may change; fields left None stay.
pub async fn update(
    db: &impl GenericClient,
    id: Uuid,
    name: Option<&str>,
    status: Option<&str>,
    is_platform_admin: Option<bool>,
) -> Result<Option<User>, DbError> {
    let sql = format!(
        "UPDATE users SET name = COALESCE($2, name), status = COALESCE($3, status),
                is_platform_admin = COALESCE($4, is_platform_admin), updated_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    Ok(cached::query_opt(db, &sql, &[&id, &name, &status, &is_platform_admin]).await?.as_ref().map(user))
}

/// Makes the user with this email a platform admin; None if there is no such user.
pub async fn grant_platform_admin(db: &impl GenericClient, email: &str) -> Result<Option<User>, DbError> {
    let sql = format!(
        "UPDATE users SET is_platform_admin = true, updated_at = now() WHERE lower(email) = lower($1) RETURNING {COLUMNS}"
    );
    Ok(cached::query_opt(db, &sql, &[&email]).await?.as_ref().map(user))
}

/// Marks the user's email as verified (keeping the first verification time).
pub async fn mark_email_verified(db: &impl GenericClient, id: Uuid) -> Result<Option<User>, DbError> {
    let sql = format!(
        "UPDATE users SET email_verified_at = COALESCE(email_verified_at, now()), updated_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    Ok(cached::query_opt(db, &sql, &[&id]).await?.as_ref().map(user))
}

/// Replaces the user's password hash.
pub async fn set_password(db: &impl GenericClient, id: Uuid, password_hash: &str) -> Result<(), DbError> {
    cached::execute(
        db,
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
        &[&id, &password_hash],
    )
    .await?;
    Ok(())
}

/// The stored password hash of a user.
pub async fn password_hash(db: &impl GenericClient, id: Uuid) -> Result<Option<String>, DbError> {
    Ok(cached::query_opt(db, "SELECT password_hash FROM users WHERE id = $1", &[&id]).await?.and_then(|r| r.get(0)))
}
