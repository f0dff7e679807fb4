//! The users table.

use const_format::concatcp;
use uuid::Uuid;

use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{User, UserCredentials, UserStatus};

/// Name of the case-insensitive unique index on email.
pub const EMAIL_UNIQUE: &str = "users_email_lower_key";

/// The columns [`User`] maps from, on the alias `u`.
pub(crate) const COLUMNS: &str = "u.id, u.email, u.name, u.email_verified_at IS NOT NULL AS email_verified, \
     u.email_verified_at, u.status, u.is_platform_admin, u.created_at, u.updated_at";

/// A new user's row from [`NewUser`]'s fields, in order.
const INSERT: &str = "INSERT INTO users AS u (id, email, name, password_hash, email_verified_at)
                      VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END)";

const INSERT_RETURNING: &str = concatcp!(INSERT, " RETURNING ", COLUMNS);
const INSERT_IF_NEW: &str = concatcp!(INSERT, " ON CONFLICT (lower(email)) DO NOTHING RETURNING ", COLUMNS);
const FIND_CREDENTIALS: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    ", u.password_hash, u.security_stamp,
       EXISTS (SELECT 1 FROM mfa_factors f WHERE f.user_id = u.id AND f.status = $2) AS has_second_factor
     FROM users u WHERE lower(u.email) = lower($1)"
);
const FIND: &str = concatcp!("SELECT ", COLUMNS, " FROM users u WHERE u.id = $1");
const LIST: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    " FROM users u WHERE ($1::text IS NULL OR lower(u.email) LIKE $1) AND u.id > COALESCE($2::uuid, '00000000-0000-0000-0000-000000000000')
      ORDER BY u.id LIMIT $3"
);
const UPDATE: &str = concatcp!(
    "UPDATE users u SET name = COALESCE($2, u.name), status = COALESCE($3, u.status),
            is_platform_admin = COALESCE($4, u.is_platform_admin), updated_at = now()
     WHERE u.id = $1 RETURNING ",
    COLUMNS
);
const GRANT_PLATFORM_ADMIN: &str = concatcp!(
    "UPDATE users u SET is_platform_admin = true, updated_at = now() WHERE lower(u.email) = lower($1) RETURNING ",
    COLUMNS
);
/// The first proof of an address voids what was set up on the account before it: whoever
/// registered it may not have been its owner, so their factors and waiting second-factor
/// sign-ins go (the stamp trigger ends sessions and links). The CTE reads the row as the
/// statement began; it takes no lock of its own (one would skip the row this statement
/// updates), the UPDATE's lock is enough.
const MARK_EMAIL_VERIFIED: &str = concatcp!(
    "WITH unproven AS (SELECT id FROM users WHERE id = $1 AND email_verified_at IS NULL),
          factors AS (DELETE FROM mfa_factors WHERE user_id IN (SELECT id FROM unproven)),
          codes AS (DELETE FROM mfa_recovery_codes WHERE user_id IN (SELECT id FROM unproven)),
          challenges AS (DELETE FROM mfa_challenges WHERE user_id IN (SELECT id FROM unproven))
     UPDATE users u SET email_verified_at = COALESCE(u.email_verified_at, now()), updated_at = now()
     WHERE u.id = $1 RETURNING ",
    COLUMNS
);
const STAMP: &str = "SELECT security_stamp FROM users WHERE id = $1";
const REPLACE_STAMP: &str = "UPDATE users SET security_stamp = gen_random_uuid() WHERE id = $1";
/// Locks an active account's row for a credential change, if its stamp is still `$2`.
const LOCK_UNDER_STAMP: &str =
    "SELECT 1 FROM users WHERE id = $1 AND security_stamp = $2 AND status = $3 FOR NO KEY UPDATE";
const SET_EMAIL: &str = concatcp!(
    "UPDATE users u SET email = $2, email_verified_at = now(), updated_at = now() WHERE u.id = $1 AND u.status = $3 RETURNING ",
    COLUMNS
);
const DELETE: &str = "DELETE FROM users WHERE id = $1 RETURNING email";
const SET_PASSWORD: &str = "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1";
const PASSWORD_HASH: &str = "SELECT password_hash FROM users WHERE id = $1";

/// A user to create.
pub struct NewUser<'a> {
    /// UUIDv7.
    pub id: Uuid,
    /// The canonical email ([`Email`](crate::models::Email): NFKC, lower case, punycode domain).
    pub email: &'a str,
    /// Display name.
    pub name: &'a str,
    /// argon2id PHC string; none for an account that signs in only through its
    /// organization's identity provider.
    pub password_hash: Option<&'a str>,
    /// Set when the address was proven by other means (an accepted invitation).
    pub email_verified: bool,
}

/// Inserts a user; a taken email fails with a unique violation on [`EMAIL_UNIQUE`].
pub async fn insert(db: &impl GenericClient, new: &NewUser<'_>) -> Result<User, DbError> {
    let params = [&new.id as _, &new.email as _, &new.name as _, &new.password_hash as _, &new.email_verified as _];
    cached::fetch_one(db, INSERT_RETURNING, &params).await
}

/// Inserts a user unless the email is taken (any case); None when it is.
pub async fn insert_if_new(db: &impl GenericClient, new: &NewUser<'_>) -> Result<Option<User>, DbError> {
    let params = [&new.id as _, &new.email as _, &new.name as _, &new.password_hash as _, &new.email_verified as _];
    cached::fetch_opt(db, INSERT_IF_NEW, &params).await
}

/// The user with this email (any case) and their password hash.
pub async fn find_credentials(db: &impl GenericClient, email: &str) -> Result<Option<UserCredentials>, DbError> {
    cached::fetch_opt(db, FIND_CREDENTIALS, &[&email, &crate::models::FactorStatus::Active]).await
}

/// The user with this id.
pub async fn find(db: &impl GenericClient, id: Uuid) -> Result<Option<User>, DbError> {
    cached::fetch_opt(db, FIND, &[&id]).await
}

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
    cached::fetch(db, LIST, &[&pattern, &after, &limit]).await
}

/// Changes what an administrator may change; fields left None stay.
pub async fn update(
    db: &impl GenericClient,
    id: Uuid,
    name: Option<&str>,
    status: Option<UserStatus>,
    is_platform_admin: Option<bool>,
) -> Result<Option<User>, DbError> {
    cached::fetch_opt(db, UPDATE, &[&id, &name, &status, &is_platform_admin]).await
}

/// Makes the user with this email a platform admin; None if there is no such user.
pub async fn grant_platform_admin(db: &impl GenericClient, email: &str) -> Result<Option<User>, DbError> {
    cached::fetch_opt(db, GRANT_PLATFORM_ADMIN, &[&email]).await
}

/// Marks the user's email as verified (keeping the first verification time). The first time,
/// the account's factors go and its stamp is replaced: the prover owns the account now.
pub async fn mark_email_verified(db: &impl GenericClient, id: Uuid) -> Result<Option<User>, DbError> {
    cached::fetch_opt(db, MARK_EMAIL_VERIFIED, &[&id]).await
}

/// Moves an active user to a new, proven address; a taken one fails with a unique violation
/// on [`EMAIL_UNIQUE`]. None when no active user has this id.
pub async fn set_email(db: &impl GenericClient, id: Uuid, email: &str) -> Result<Option<User>, DbError> {
    cached::fetch_opt(db, SET_EMAIL, &[&id, &email, &UserStatus::Active]).await
}

/// Deletes the user; their sessions (with refresh tokens), memberships (with roles) and
/// one-time tokens go with them (ON DELETE CASCADE). Their email, or None if there was none.
pub async fn delete(db: &impl GenericClient, id: Uuid) -> Result<Option<String>, DbError> {
    cached::value_opt(db, DELETE, &[&id]).await
}

/// Replaces the user's password hash.
pub async fn set_password(db: &impl GenericClient, id: Uuid, password_hash: &str) -> Result<(), DbError> {
    cached::execute(db, SET_PASSWORD, &[&id, &password_hash]).await?;
    Ok(())
}

/// The stored password hash of a user (None for none, or no such user).
pub async fn password_hash(db: &impl GenericClient, id: Uuid) -> Result<Option<String>, DbError> {
    Ok(cached::value_opt::<Option<String>>(db, PASSWORD_HASH, &[&id]).await?.flatten())
}

/// Replaces the account's security stamp: every session, link and waiting sign-in issued
/// under the old one stops working. Password, email, status and first verification replace
/// it by themselves (a trigger); factor changes call this.
pub async fn replace_stamp(db: &impl GenericClient, id: Uuid) -> Result<(), DbError> {
    cached::execute(db, REPLACE_STAMP, &[&id]).await?;
    Ok(())
}

/// Locks an active account's row until the transaction ends, if its stamp is still `stamp`;
/// false when a credential or status change came first.
pub async fn lock_under_stamp(db: &impl GenericClient, id: Uuid, stamp: Uuid) -> Result<bool, DbError> {
    Ok(cached::query_opt(db, LOCK_UNDER_STAMP, &[&id, &stamp, &UserStatus::Active]).await?.is_some())
}

/// The account's security stamp now.
pub async fn stamp(db: &impl GenericClient, id: Uuid) -> Result<Option<Uuid>, DbError> {
    cached::value_opt(db, STAMP, &[&id]).await
}

const LOCK_PLATFORM_ADMINS: &str =
    "SELECT id FROM users WHERE is_platform_admin AND status = $1 ORDER BY id FOR NO KEY UPDATE";

/// Locks the active platform administrators' rows, in id order (the order every locker of
/// several takes), until the transaction ends; their ids.
pub async fn lock_platform_admins(db: &impl GenericClient) -> Result<Vec<Uuid>, DbError> {
    let rows = cached::query(db, LOCK_PLATFORM_ADMINS, &[&UserStatus::Active]).await?;
    rows.iter().map(|row| row.try_get(0).map_err(DbError::from)).collect()
}

const LOCK_FOR_DELETION: &str = "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE";

/// Locks the account's row for its deletion, before anything else of it is read: a write
/// made as this user (which locks it first) is waited for and then seen. False if it is gone.
pub async fn lock_for_deletion(db: &impl GenericClient, id: Uuid) -> Result<bool, DbError> {
    Ok(cached::query_opt(db, LOCK_FOR_DELETION, &[&id]).await?.is_some())
}
