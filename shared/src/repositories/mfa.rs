//! The mfa_factors, mfa_recovery_codes and mfa_challenges tables.

use std::time::Duration;

use const_format::concatcp;
use uuid::Uuid;

use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{ChallengePurpose, Factor, FactorKind, FactorStatus, UserStatus};

/// Name of the index allowing one active factor of each kind per user.
pub const ONE_ACTIVE: &str = "mfa_factors_one_active_idx";

/// The columns [`Factor`] maps from, on the alias `f`.
const COLUMNS: &str = "f.id, f.kind, f.status, f.created_at, f.activated_at, f.last_used_at";
const SEALED_COLUMNS: &str = concatcp!(COLUMNS, ", f.secret_sealed, f.last_used_step");

/// A new pending factor replaces the user's other pending ones, in one statement.
const INSERT_PENDING: &str = concatcp!(
    "WITH replaced AS (DELETE FROM mfa_factors WHERE user_id = $2 AND status = $5)
     INSERT INTO mfa_factors AS f (id, user_id, kind, status, secret_sealed) VALUES ($1, $2, $3, $5, $4)
     RETURNING ",
    COLUMNS
);
const FIND: &str = concatcp!("SELECT ", SEALED_COLUMNS, " FROM mfa_factors f WHERE f.id = $1 AND f.user_id = $2");
const FIND_ACTIVE: &str =
    concatcp!("SELECT ", SEALED_COLUMNS, " FROM mfa_factors f WHERE f.user_id = $1 AND f.kind = $2 AND f.status = $3");
const ACTIVATE: &str = concatcp!(
    "UPDATE mfa_factors f SET status = $4, activated_at = now(), last_used_step = $3, last_used_at = now(),
                              secret_sealed = COALESCE($6::bytea, f.secret_sealed)
     WHERE f.id = $1 AND f.user_id = $2 AND f.status = $5 RETURNING ",
    COLUMNS
);
/// A time step is accepted once, and never one older than the last accepted; a secret opened
/// under a previous key is stored sealed again in the same statement.
const ACCEPT_STEP: &str = "UPDATE mfa_factors SET last_used_step = $2, last_used_at = now(),
                                                  secret_sealed = COALESCE($4::bytea, secret_sealed)
                           WHERE id = $1 AND status = $3 AND (last_used_step IS NULL OR last_used_step < $2)";
/// Every factor's sealed secret, in id order from after a cursor: for sealing again.
const SEALED_PAGE: &str =
    "SELECT id, secret_sealed FROM mfa_factors WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2";
/// Replaces a sealed secret only if it is still the one read, so a concurrent change wins.
const RESEAL: &str = "UPDATE mfa_factors SET secret_sealed = $3 WHERE id = $1 AND secret_sealed = $2";
const LIST: &str = concatcp!("SELECT ", COLUMNS, " FROM mfa_factors f WHERE f.user_id = $1 ORDER BY f.id");
const DELETE: &str = "DELETE FROM mfa_factors WHERE id = $1 AND user_id = $2 RETURNING status";
const HAS_ACTIVE: &str = "SELECT EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = $1 AND status = $2)";
const DELETE_ALL: &str = "WITH codes AS (DELETE FROM mfa_recovery_codes WHERE user_id = $1),
                               challenges AS (DELETE FROM mfa_challenges WHERE user_id = $1)
                          DELETE FROM mfa_factors WHERE user_id = $1";

const REPLACE_CODES: &str = "WITH replaced AS (DELETE FROM mfa_recovery_codes WHERE user_id = $1)
                             INSERT INTO mfa_recovery_codes (id, user_id, code_hash)
                             SELECT unnest($2::uuid[]), $1, unnest($3::bytea[])";
const DELETE_CODES: &str = "DELETE FROM mfa_recovery_codes WHERE user_id = $1";
/// Spends a code and counts what is left; the count reads the rows as they were before this
/// statement, so the spent one is subtracted.
const SPEND_CODE: &str = "WITH spent AS (
         UPDATE mfa_recovery_codes SET used_at = now()
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING id)
     SELECT (SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL) - 1
     FROM spent";
const CODES_LEFT: &str = "SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL";

/// A new challenge; the user's expired ones go in the same statement.
const INSERT_CHALLENGE: &str = "WITH expired AS (DELETE FROM mfa_challenges WHERE user_id = $2 AND expires_at < now())
     INSERT INTO mfa_challenges (id, user_id, token_hash, purpose, org_id, expires_at, security_stamp)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6), $7)";
/// Counts an attempt before its code is checked, so parallel guesses cannot pass the limit;
/// only while the account is active and has the stamp the password was checked under.
const RESERVE_ATTEMPT: &str = "UPDATE mfa_challenges c SET attempts = attempts + 1
     WHERE c.token_hash = $1 AND c.used_at IS NULL AND c.expires_at > now() AND c.attempts < $2
       AND EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id AND u.security_stamp = c.security_stamp AND u.status = $3)
     RETURNING c.id, c.user_id, c.purpose, c.org_id, c.security_stamp";
/// Spends a challenge whose account still has its stamp.
const SPEND_CHALLENGE: &str = "UPDATE mfa_challenges c SET used_at = now() WHERE c.id = $1 AND c.used_at IS NULL
     AND EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id AND u.security_stamp = c.security_stamp AND u.status = $2)";

/// A factor with its sealed secret, for checking a code.
#[derive(postgres_from_row::FromRow)]
pub struct SealedFactor {
    /// The factor.
    #[from_row(flatten)]
    pub factor: Factor,
    /// Its secret, sealed for this factor's id.
    pub secret_sealed: Vec<u8>,
    /// The last time step accepted.
    pub last_used_step: Option<i64>,
}

/// Stores a pending TOTP factor, replacing the user's other pending ones.
pub async fn insert_pending(
    db: &impl GenericClient,
    id: Uuid,
    user_id: Uuid,
    sealed: &[u8],
) -> Result<Factor, DbError> {
    let params = [&id as _, &user_id as _, &FactorKind::Totp as _, &sealed as _, &FactorStatus::Pending as _];
    cached::fetch_one(db, INSERT_PENDING, &params).await
}

/// One of the user's factors.
pub async fn find(db: &impl GenericClient, user_id: Uuid, id: Uuid) -> Result<Option<SealedFactor>, DbError> {
    cached::fetch_opt(db, FIND, &[&id, &user_id]).await
}

/// The user's active TOTP factor, if any.
pub async fn find_active(db: &impl GenericClient, user_id: Uuid) -> Result<Option<SealedFactor>, DbError> {
    cached::fetch_opt(db, FIND_ACTIVE, &[&user_id, &FactorKind::Totp, &FactorStatus::Active]).await
}

/// Activates a pending factor with the step of its first code (and its secret sealed again,
/// when given); None if it is not pending.
pub async fn activate(
    db: &impl GenericClient,
    user_id: Uuid,
    id: Uuid,
    step: i64,
    resealed: Option<&[u8]>,
) -> Result<Option<Factor>, DbError> {
    let (active, pending) = (FactorStatus::Active, FactorStatus::Pending);
    let params = [&id as _, &user_id as _, &step as _, &active as _, &pending as _, &resealed as _];
    cached::fetch_opt(db, ACTIVATE, &params).await
}

/// Accepts a code's time step for an active factor (and its secret sealed again, when given);
/// false if that step (or a later one) was already accepted: a replay.
pub async fn accept_step(
    db: &impl GenericClient,
    id: Uuid,
    step: i64,
    resealed: Option<&[u8]>,
) -> Result<bool, DbError> {
    Ok(cached::execute(db, ACCEPT_STEP, &[&id, &step, &FactorStatus::Active, &resealed]).await? == 1)
}

/// Up to `limit` factors' (id, sealed secret) with ids after `after`, in id order.
pub async fn sealed_page(
    db: &impl GenericClient,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<(Uuid, Vec<u8>)>, DbError> {
    let rows = cached::query(db, SEALED_PAGE, &[&after, &limit]).await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// Stores `new` for the factor if its secret is still `old`; false if it changed meanwhile.
pub async fn reseal(db: &impl GenericClient, id: Uuid, old: &[u8], new: &[u8]) -> Result<bool, DbError> {
    Ok(cached::execute(db, RESEAL, &[&id, &old, &new]).await? == 1)
}

/// The user's factors, oldest first.
pub async fn list(db: &impl GenericClient, user_id: Uuid) -> Result<Vec<Factor>, DbError> {
    cached::fetch(db, LIST, &[&user_id]).await
}

/// Deletes one of the user's factors; its status, or None if it was not theirs.
pub async fn delete(db: &impl GenericClient, user_id: Uuid, id: Uuid) -> Result<Option<FactorStatus>, DbError> {
    cached::value_opt(db, DELETE, &[&id, &user_id]).await
}

/// Whether the user has an active factor.
pub async fn has_active(db: &impl GenericClient, user_id: Uuid) -> Result<bool, DbError> {
    cached::value(db, HAS_ACTIVE, &[&user_id, &FactorStatus::Active]).await
}

/// Deletes every factor, recovery code and waiting sign-in of the user; how many factors.
pub async fn delete_all(db: &impl GenericClient, user_id: Uuid) -> Result<u64, DbError> {
    cached::execute(db, DELETE_ALL, &[&user_id]).await
}

/// Replaces the user's recovery codes with these hashes.
pub async fn replace_codes(db: &impl GenericClient, user_id: Uuid, hashes: &[Vec<u8>]) -> Result<(), DbError> {
    let ids: Vec<Uuid> = hashes.iter().map(|_| Uuid::now_v7()).collect();
    cached::execute(db, REPLACE_CODES, &[&user_id, &ids, &hashes]).await?;
    Ok(())
}

/// Deletes the user's recovery codes.
pub async fn delete_codes(db: &impl GenericClient, user_id: Uuid) -> Result<(), DbError> {
    cached::execute(db, DELETE_CODES, &[&user_id]).await?;
    Ok(())
}

/// Spends an unused recovery code: how many are left, or None if it is not an unused code
/// of this user.
pub async fn spend_code(db: &impl GenericClient, user_id: Uuid, hash: &[u8]) -> Result<Option<i64>, DbError> {
    cached::value_opt(db, SPEND_CODE, &[&user_id, &hash]).await
}

/// The user's unused recovery codes.
pub async fn codes_left(db: &impl GenericClient, user_id: Uuid) -> Result<i64, DbError> {
    cached::value(db, CODES_LEFT, &[&user_id]).await
}

/// A sign-in waiting for its second factor.
pub struct NewChallenge<'a> {
    /// Its id.
    pub id: Uuid,
    /// The user whose password was right.
    pub user_id: Uuid,
    /// The mfa_token's hash.
    pub token_hash: &'a [u8],
    /// What the code will unlock.
    pub purpose: ChallengePurpose,
    /// The org an org-scoped token was asked for.
    pub org_id: Option<Uuid>,
    /// How long it waits.
    pub ttl: Duration,
    /// The account's stamp when the password was checked.
    pub security_stamp: Uuid,
}

/// Stores a challenge.
pub async fn insert_challenge(db: &impl GenericClient, new: &NewChallenge<'_>) -> Result<(), DbError> {
    let ttl = new.ttl.as_secs_f64();
    let params = [
        &new.id as _,
        &new.user_id as _,
        &new.token_hash as _,
        &new.purpose as _,
        &new.org_id as _,
        &ttl as _,
        &new.security_stamp as _,
    ];
    cached::execute(db, INSERT_CHALLENGE, &params).await?;
    Ok(())
}

/// A live challenge whose attempt was just counted.
#[derive(Debug, postgres_from_row::FromRow)]
pub struct Challenge {
    /// Its id.
    pub id: Uuid,
    /// Whose.
    pub user_id: Uuid,
    /// What it unlocks.
    pub purpose: ChallengePurpose,
    /// The org asked for at sign-in.
    pub org_id: Option<Uuid>,
    /// The account's stamp when the password was checked.
    pub security_stamp: Uuid,
}

/// Counts an attempt on the live, unspent challenge of this token hash, if it has attempts
/// left and its account still has the stamp it was issued under; None otherwise.
pub async fn reserve_attempt(db: &impl GenericClient, hash: &[u8], max: i32) -> Result<Option<Challenge>, DbError> {
    cached::fetch_opt(db, RESERVE_ATTEMPT, &[&hash, &max, &UserStatus::Active]).await
}

/// Spends a challenge; false if another request already did, or its account's stamp changed.
pub async fn spend_challenge(db: &impl GenericClient, id: Uuid) -> Result<bool, DbError> {
    Ok(cached::execute(db, SPEND_CHALLENGE, &[&id, &UserStatus::Active]).await? == 1)
}
