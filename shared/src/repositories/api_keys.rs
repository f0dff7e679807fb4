//! The api_keys table, and the per-request lookups of machines (keys, and the clients whose
//! tokens are presented).

use const_format::concatcp;
use uuid::Uuid;

use super::reads::{Check, Param, Read};
use super::{GenericClient, cached, organizations};
use crate::db::DbError;
use crate::models::{ApiKey, Grantee, KeyCaller};

/// The columns [`ApiKey`] maps from, on the alias `k`.
const COLUMNS: &str = "k.id, k.org_id, k.name, k.permissions, k.hint, k.created_by, k.created_at, k.expires_at, \
                       k.last_used_at, k.revoked_at, k.replaced_by";
/// A key that may act now: not revoked, not expired.
const LIVE: &str = "k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())";

/// Every request with a key as its bearer runs this one: the live key with this hash ($1),
/// marked used at most once a minute, its request counted against the limit $2 (0: none).
const RESOLVE: &str = concatcp!(
    RESOLVE_CTES,
    " SELECT k.id, k.org_id, k.is_client, k.name, k.permissions, k.secret_hash, hit.hits, hit.window_end
      FROM k LEFT JOIN hit ON true"
);
/// [`RESOLVE`]'s `WITH` list: `k` the key, `hit` its request counted.
const RESOLVE_CTES: &str = concatcp!(
    "WITH k AS (SELECT k.id, k.org_id, false AS is_client, k.name, k.permissions, k.secret_hash, k.last_used_at
                FROM api_keys k WHERE k.secret_hash = $1 AND ",
    LIVE,
    "), ",
    touch_minutely!("touched", "api_keys", "k"),
    ", ",
    minute_hit!("'api_key_requests_minute'", "k", "$2"),
);
/// Every org read with an API key runs this one as its statement's head (see
/// `reads::checked`): the key found, marked and counted as by [`RESOLVE`], allowed when it is
/// the org's (`$3`) and holds the permission `$4`.
const CALLER_BY_KEY: &str = concatcp!(
    RESOLVE_CTES,
    ", caller AS (
       SELECT k.org_id AS caller_org_id, k.id AS caller_key_id, k.name AS caller_name, k.is_client AS caller_is_client,
              k.secret_hash AS caller_secret_hash, hit.hits AS caller_hits, hit.window_end AS caller_window_end,
              $4::text = ANY (k.permissions) AS caller_holds, false AS caller_needs_mfa, false AS caller_stale,
              (k.org_id = $3 AND $4::text = ANY (k.permissions)) AS caller_allowed
       FROM k LEFT JOIN hit ON true)"
);
/// Every request with a token from the token endpoint runs this one: the live key or the
/// client its `client_id` names ($1), while the token ($3) is not revoked, marked and counted
/// as [`RESOLVE`] does (against $2 for a key, $4 for a client).
const RESOLVE_FOR_TOKEN: &str = concatcp!(
    RESOLVE_FOR_TOKEN_CTES,
    " SELECT s.id, s.org_id, s.is_client, s.name, s.permissions, ''::bytea AS secret_hash, hit.hits, hit.window_end
      FROM s LEFT JOIN hit ON true"
);
/// Every org read with a token from the token endpoint runs this one as its statement's head
/// (see `reads::checked`): the machine found, marked and counted as by [`RESOLVE_FOR_TOKEN`],
/// allowed when it is the org's (`$5`) and the token's (`$8`), and both it and the token
/// (`$7`) hold the permission `$6`.
const CALLER_BY_TOKEN: &str = concatcp!(
    RESOLVE_FOR_TOKEN_CTES,
    ", caller AS (
       SELECT s.org_id AS caller_org_id, s.id AS caller_key_id, s.name AS caller_name, s.is_client AS caller_is_client,
              ''::bytea AS caller_secret_hash, hit.hits AS caller_hits, hit.window_end AS caller_window_end,
              ($6::text = ANY (s.permissions) AND $6::text = ANY ($7::text[])) AS caller_holds,
              false AS caller_needs_mfa, false AS caller_stale,
              (s.org_id = $5 AND s.org_id IS NOT DISTINCT FROM $8::uuid AND $6::text = ANY (s.permissions)
               AND $6::text = ANY ($7::text[])) AS caller_allowed
       FROM s LEFT JOIN hit ON true)"
);
/// [`RESOLVE_FOR_TOKEN`]'s `WITH` list: `s` the machine, `hit` its request counted.
const RESOLVE_FOR_TOKEN_CTES: &str = concatcp!(
    "WITH m AS (SELECT k.id, k.org_id, false AS is_client, k.name, k.permissions, k.last_used_at
                FROM api_keys k WHERE k.id = $1 AND ",
    LIVE,
    "           UNION ALL
                SELECT c.id, c.org_id, true, c.name, c.permissions, c.last_used_at
                FROM oauth_clients c WHERE c.id = $1),
          s AS (SELECT * FROM m WHERE NOT EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = $3)),
          k AS (SELECT * FROM s WHERE NOT s.is_client),
          c AS (SELECT * FROM s WHERE s.is_client), ",
    touch_minutely!("touched_key", "api_keys", "k"),
    ", ",
    touch_minutely!("touched_client", "oauth_clients", "c"),
    ", ",
    minute_hit!(
        "CASE WHEN s.is_client THEN 'client_requests_minute' ELSE 'api_key_requests_minute' END",
        "s",
        "CASE WHEN s.is_client THEN $4::int4 ELSE $2::int4 END"
    ),
);
/// The token endpoint's lookup of a key as a client: the live key with this id ($1) and hash
/// ($2), marked used, its token request counted against the limit $3 (0: none).
const FIND_FOR_GRANT: &str = concatcp!(
    "WITH k AS (SELECT k.id, k.org_id, k.name, k.permissions, k.secret_hash, k.last_used_at
                FROM api_keys k WHERE k.id = $1 AND k.secret_hash = $2 AND ",
    LIVE,
    "), ",
    touch_minutely!("touched", "api_keys", "k"),
    ", ",
    minute_hit!("'client_token_requests_minute'", "k", "$3"),
    " SELECT k.id, k.org_id, false AS is_client, k.name, k.permissions, NULL::text AS auth_method,
             NULL::int4 AS ttl_secs, k.secret_hash, NULL::jsonb AS jwks, hit.hits, hit.window_end
      FROM k LEFT JOIN hit ON true"
);
/// The key or client ($1) of the org ($2) under the organization's lock, without the touch:
/// an org write decides with the machine as it is once earlier writes committed.
const RESOLVE_LOCKED: &str = concatcp!(
    "SELECT k.id, k.org_id, false AS is_client, k.name, k.permissions, k.secret_hash, NULL::int4 AS hits,
            NULL::timestamptz AS window_end
     FROM api_keys k WHERE k.id = $1 AND k.org_id = $2 AND ",
    LIVE,
    " UNION ALL
     SELECT c.id, c.org_id, true, c.name, c.permissions, ''::bytea, NULL, NULL
     FROM oauth_clients c WHERE c.id = $1 AND c.org_id = $2"
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

/// The check that heads an org read with an API key: the live key with this hash, counted
/// against `per_minute`, and whether it is the org's and holds `permission`.
pub fn caller_check_by_key<'a>(
    secret_hash: &'a &'a [u8],
    per_minute: &'a i32,
    org_id: &'a Uuid,
    permission: &'a &'static str,
) -> Check<'a> {
    Check { head: CALLER_BY_KEY, params: vec![secret_hash, per_minute, org_id, permission] }
}

/// What an org read's check needs to know of a token from the token endpoint.
pub struct TokenCheck<'a> {
    /// The key or client it names.
    pub id: Uuid,
    /// The requests per minute of a key and of a client.
    pub limits: (i32, i32),
    /// The token's id, revoked or not.
    pub jti: Uuid,
    /// The org it names (None: a platform client's).
    pub token_org: Option<Uuid>,
    /// The permissions it was granted.
    pub granted: &'a [String],
}

/// The check that heads an org read with a token from the token endpoint: the machine it names
/// while the token is not revoked, counted as [`resolve_for_token`] does, and whether both
/// hold `permission` in the org.
pub fn caller_check_by_token<'a>(
    token: &'a TokenCheck<'a>,
    org_id: &'a Uuid,
    permission: &'a &'static str,
) -> Check<'a> {
    let params: Vec<Param<'a>> = vec![
        &token.id,
        &token.limits.0,
        &token.jti,
        &token.limits.1,
        org_id,
        permission,
        &token.granted,
        &token.token_org,
    ];
    Check { head: CALLER_BY_TOKEN, params }
}

/// The live key or the client with this id, touched and counted as [`resolve`] does (against
/// `limits`: a key's, a client's), while the token with `jti` is not revoked.
pub async fn resolve_for_token(
    db: &impl GenericClient,
    id: Uuid,
    limits: (i32, i32),
    jti: Uuid,
) -> Result<Option<KeyCaller>, DbError> {
    cached::fetch_opt(db, RESOLVE_FOR_TOKEN, &[&id, &limits.0, &jti, &limits.1]).await
}

/// The live key with this id and hash as a client at the token endpoint, its token request
/// counted against `per_minute` (0: not counted).
pub async fn find_for_grant(
    db: &impl GenericClient,
    id: Uuid,
    secret_hash: &[u8],
    per_minute: i32,
) -> Result<Option<Grantee>, DbError> {
    cached::fetch_opt(db, FIND_FOR_GRANT, &[&id, &secret_hash, &per_minute]).await
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
#[track_caller]
pub fn find<C: GenericClient>(db: &C, org_id: Uuid, id: Uuid) -> Read<'_, C, Option<ApiKey>> {
    Read::new(db, FIND, vec![Box::new(org_id), Box::new(id)])
}

/// A page of the org's keys, newest first, before `before`.
#[track_caller]
pub fn list<C: GenericClient>(db: &C, org_id: Uuid, before: Option<Uuid>, limit: i64) -> Read<'_, C, Vec<ApiKey>> {
    Read::new(db, LIST, vec![Box::new(org_id), Box::new(before), Box::new(limit)])
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
