//! The api_keys table.

use const_format::concatcp;
use uuid::Uuid;

use super::{GenericClient, cached, organizations};
use crate::db::DbError;
use crate::models::{ApiKey, KeyCaller};

/// The columns [`ApiKey`] maps from, on the alias `k`.
const COLUMNS: &str = "k.id, k.org_id, k.name, k.permissions, k.hint, k.created_by, k.created_at, k.expires_at, \
                       k.last_used_at, k.revoked_at, k.replaced_by";
/// A key that may act now: not revoked, not expired.
const LIVE: &str = "k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())";

/// Finds the live key (`WHERE` clause $1 fills), marks it used now if it was last marked over
/// a minute ago (a key another transaction holds is skipped, never waited for), and counts the
/// request in the key's one-minute window when `$2` (the limit) is above 0: one statement.
macro_rules! resolve_where {
    ($condition:literal) => {
        concatcp!(
            "WITH k AS (SELECT k.id, k.org_id, k.name, k.permissions, k.secret_hash, k.last_used_at FROM api_keys k
                        WHERE ",
            $condition,
            " AND ",
            LIVE,
            "),
                  touched AS (
                     UPDATE api_keys SET last_used_at = now()
                     WHERE id = (SELECT a.id FROM api_keys a JOIN k ON a.id = k.id
                                 WHERE k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute'
                                 FOR NO KEY UPDATE OF a SKIP LOCKED)),
                  hit AS (
                     INSERT INTO quota_counters AS q (quota, subject)
                     SELECT 'api_key_requests_minute', k.id FROM k WHERE $2 > 0
                     ON CONFLICT (quota, subject) DO UPDATE SET
                       hits = CASE WHEN q.window_start <= now() - interval '1 minute' THEN 1 ELSE q.hits + 1 END,
                       window_start = CASE WHEN q.window_start <= now() - interval '1 minute' THEN now()
                                      ELSE q.window_start END
                     RETURNING hits, window_start + interval '1 minute' AS window_end)
             SELECT k.id, k.org_id, k.name, k.permissions, k.secret_hash, hit.hits, hit.window_end
             FROM k LEFT JOIN hit ON true"
        )
    };
}
/// Every request with a key as its bearer runs this one.
const RESOLVE: &str = resolve_where!("k.secret_hash = $1");
/// Every request with a token the key got at the token endpoint runs this one: the key by its
/// id ($1), while the token ($3) is not revoked.
const RESOLVE_FOR_TOKEN: &str =
    resolve_where!("k.id = $1 AND NOT EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = $3)");
/// A live key by id, for the token endpoint to check the secret against.
const FIND_LIVE: &str = concatcp!(
    "SELECT k.id, k.org_id, k.name, k.permissions, k.secret_hash, NULL::int4 AS hits, NULL::timestamptz AS window_end
     FROM api_keys k WHERE k.id = $1 AND ",
    LIVE
);
/// The same under the organization's lock, without the touch: an org write decides with the
/// key as it is once earlier writes committed.
const RESOLVE_LOCKED: &str = concatcp!(
    "SELECT k.id, k.org_id, k.name, k.permissions, k.secret_hash, NULL::int4 AS hits, NULL::timestamptz AS window_end
     FROM api_keys k WHERE k.id = $1 AND k.org_id = $2 AND ",
    LIVE
);
const INSERT: &str = concatcp!(
    "INSERT INTO api_keys AS k (id, org_id, name, permissions, secret_hash, hint, created_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
    COLUMNS
);
const FIND: &str = concatcp!("SELECT ", COLUMNS, " FROM api_keys k WHERE k.org_id = $1 AND k.id = $2");
/// A page, newest first, by the (org_id, id) index.
const LIST: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    " FROM api_keys k WHERE k.org_id = $1 AND k.id < COALESCE($2::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')
      ORDER BY k.id DESC LIMIT $3"
);
const UPDATE: &str = concatcp!(
    "UPDATE api_keys k SET name = $3, permissions = $4 WHERE k.org_id = $1 AND k.id = $2 AND k.revoked_at IS NULL RETURNING ",
    COLUMNS
);
const REVOKE: &str = concatcp!(
    "UPDATE api_keys k SET revoked_at = now() WHERE k.org_id = $1 AND k.id = $2 AND k.revoked_at IS NULL RETURNING ",
    COLUMNS
);
/// A rotated key keeps working for the overlap (never past its own expiry) and names its heir.
const RETIRE: &str = concatcp!(
    "UPDATE api_keys k SET replaced_by = $3,
            expires_at = LEAST(COALESCE(k.expires_at, 'infinity'), now() + make_interval(secs => $4))
     WHERE k.org_id = $1 AND k.id = $2 AND ",
    LIVE,
    " AND k.replaced_by IS NULL RETURNING ",
    COLUMNS
);
const COUNT_ACTIVE: &str = concatcp!("SELECT count(*) FROM api_keys k WHERE k.org_id = $1 AND ", LIVE);

/// The live key with this hash, touched at most once a minute, with this request counted
/// against `per_minute` (0: not counted).
pub async fn resolve(
    db: &impl GenericClient,
    secret_hash: &[u8],
    per_minute: i32,
) -> Result<Option<KeyCaller>, DbError> {
    cached::fetch_opt(db, RESOLVE, &[&secret_hash, &per_minute]).await
}

/// The live key with this id, touched and counted as [`resolve`] does, while the token with
/// `jti` is not revoked.
pub async fn resolve_for_token(
    db: &impl GenericClient,
    id: Uuid,
    per_minute: i32,
    jti: Uuid,
) -> Result<Option<KeyCaller>, DbError> {
    cached::fetch_opt(db, RESOLVE_FOR_TOKEN, &[&id, &per_minute, &jti]).await
}

/// The live key with this id, its stored hash included, touching nothing.
pub async fn find_live(db: &impl GenericClient, id: Uuid) -> Result<Option<KeyCaller>, DbError> {
    cached::fetch_opt(db, FIND_LIVE, &[&id]).await
}

/// Locks the org's row until the transaction ends, then reads the key again under that lock,
/// in one round trip (both prepared first, sent in order). False when there is no such org.
pub async fn lock_org_and_resolve(
    db: &impl GenericClient,
    org_id: Uuid,
    key_id: Uuid,
) -> Result<(bool, Option<KeyCaller>), DbError> {
    cached::warm(db, &[organizations::LOCK, RESOLVE_LOCKED]).await?;
    let lock = async { Ok::<_, DbError>(cached::query_opt(db, organizations::LOCK, &[&org_id]).await?.is_some()) };
    let params: [super::cached::Param; 2] = [&key_id, &org_id];
    let key = cached::fetch_opt(db, RESOLVE_LOCKED, &params);
    tokio::try_join!(biased; lock, key)
}

/// A key to store.
pub struct NewApiKey<'a> {
    /// UUIDv7.
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// Its name.
    pub name: &'a str,
    /// Its permissions' wire spellings.
    pub permissions: &'a [String],
    /// SHA-256 of its value.
    pub secret_hash: &'a [u8],
    /// What lists show.
    pub hint: &'a str,
    /// The member who made it, if a member did.
    pub created_by: Option<Uuid>,
    /// When it stops working.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Stores a new key.
pub async fn insert(db: &impl GenericClient, new: &NewApiKey<'_>) -> Result<ApiKey, DbError> {
    let params = [
        &new.id as _,
        &new.org_id as _,
        &new.name as _,
        &new.permissions as _,
        &new.secret_hash as _,
        &new.hint as _,
        &new.created_by as _,
        &new.expires_at as _,
    ];
    cached::fetch_one(db, INSERT, &params).await
}

/// One of the org's keys, revoked or not.
pub async fn find(db: &impl GenericClient, org_id: Uuid, id: Uuid) -> Result<Option<ApiKey>, DbError> {
    cached::fetch_opt(db, FIND, &[&org_id, &id]).await
}

/// A page of the org's keys, newest first, before `before`.
pub async fn list(
    db: &impl GenericClient,
    org_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ApiKey>, DbError> {
    cached::fetch(db, LIST, &[&org_id, &before, &limit]).await
}

/// Sets a key's name and permissions, unless it is revoked (None then).
pub async fn update(
    db: &impl GenericClient,
    org_id: Uuid,
    id: Uuid,
    name: &str,
    permissions: &[String],
) -> Result<Option<ApiKey>, DbError> {
    cached::fetch_opt(db, UPDATE, &[&org_id, &id, &name, &permissions]).await
}

/// Revokes a key; None if it was revoked already or is not the org's.
pub async fn revoke(db: &impl GenericClient, org_id: Uuid, id: Uuid) -> Result<Option<ApiKey>, DbError> {
    cached::fetch_opt(db, REVOKE, &[&org_id, &id]).await
}

/// Lets a live key that was never rotated work `overlap_secs` more (never past its expiry) and
/// names its heir; None when it is not live, not the org's, or rotated already.
pub async fn retire(
    db: &impl GenericClient,
    org_id: Uuid,
    id: Uuid,
    heir: Uuid,
    overlap_secs: f64,
) -> Result<Option<ApiKey>, DbError> {
    cached::fetch_opt(db, RETIRE, &[&org_id, &id, &heir, &overlap_secs]).await
}

/// The org's keys that work now.
pub async fn count_active(db: &impl GenericClient, org_id: Uuid) -> Result<i64, DbError> {
    cached::value(db, COUNT_ACTIVE, &[&org_id]).await
}
