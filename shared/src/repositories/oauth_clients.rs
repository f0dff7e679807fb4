//! The oauth_clients, oauth_client_secrets and client_assertions tables.

use chrono::{DateTime, Utc};
use const_format::concatcp;
use uuid::Uuid;

use super::reads::Read;
use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{ClientSecret, Grantee, OAuthClient};

/// The columns [`OAuthClient`] maps from, on the alias `c`, its secrets gathered as JSON.
const COLUMNS: &str = "c.id AS client_id, c.kind, c.org_id, c.name, c.auth_method AS token_endpoint_auth_method,
       c.jwks, c.permissions, c.token_ttl_secs AS access_token_ttl_seconds, c.grant_types,
       c.redirect_uris, c.post_logout_redirect_uris, c.scopes, c.allow_sign_up, c.require_verified_email,
       COALESCE((SELECT json_agg(json_build_object('id', s.id, 'hint', s.hint, 'created_at', s.created_at)
                                 ORDER BY s.created_at, s.id)
                 FROM oauth_client_secrets s WHERE s.client_id = c.id), '[]'::json) AS secrets,
       c.created_by, c.created_at, c.updated_at, c.last_used_at";
/// The client's owner is $1: an organization, or the platform when $1 is NULL.
const OWNED_BY_1: &str = "(c.org_id = $1 OR ($1::uuid IS NULL AND c.org_id IS NULL))";

const INSERT: &str =
    "INSERT INTO oauth_clients (id, org_id, name, auth_method, jwks, permissions, token_ttl_secs, created_by,
                                kind, grant_types, redirect_uris, post_logout_redirect_uris, scopes, allow_sign_up,
                                require_verified_email)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
const FIND: &str = concatcp!("SELECT ", COLUMNS, " FROM oauth_clients c WHERE c.id = $2 AND ", OWNED_BY_1);
/// A page, newest first.
const LIST: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    " FROM oauth_clients c WHERE ",
    OWNED_BY_1,
    " AND c.id < COALESCE($2::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff') ORDER BY c.id DESC LIMIT $3"
);
const UPDATE: &str = concatcp!(
    "UPDATE oauth_clients c SET name = $3, permissions = $4, token_ttl_secs = $5, jwks = COALESCE($6, c.jwks),
            redirect_uris = $7, post_logout_redirect_uris = $8, scopes = $9, allow_sign_up = $10,
            require_verified_email = $11, grant_types = $12, updated_at = now()
     WHERE c.id = $2 AND ",
    OWNED_BY_1,
    " RETURNING ",
    COLUMNS
);
const DELETE: &str = concatcp!("DELETE FROM oauth_clients c WHERE c.id = $2 AND ", OWNED_BY_1, " RETURNING c.name");
/// Locks the client's row for a change of its secrets.
const LOCK: &str = concatcp!("SELECT 1 FROM oauth_clients c WHERE c.id = $2 AND ", OWNED_BY_1, " FOR NO KEY UPDATE");
const INSERT_SECRET: &str =
    "INSERT INTO oauth_client_secrets (id, client_id, secret_hash, hint) VALUES ($1, $2, $3, $4)
     RETURNING id, hint, created_at";
const DELETE_SECRET: &str = "DELETE FROM oauth_client_secrets WHERE client_id = $1 AND id = $2 RETURNING hint";
const COUNT: &str = concatcp!("SELECT count(*) FROM oauth_clients c WHERE ", OWNED_BY_1);

/// The token endpoint's lookup of a client by id ($1) and a secret's hash ($2), marked used,
/// its token request counted against the limit $3 (0: none).
const FIND_FOR_SECRET: &str = concatcp!(
    "WITH c AS (SELECT c.id, c.org_id, c.name, c.permissions, c.auth_method, c.token_ttl_secs, s.secret_hash,
                       c.last_used_at
                FROM oauth_clients c JOIN oauth_client_secrets s ON s.client_id = c.id
                WHERE c.id = $1 AND s.secret_hash = $2 AND (c.kind = 'm2m') <> $4), ",
    touch_minutely!("touched", "oauth_clients", "c"),
    ", ",
    minute_hit!("'client_token_requests_minute'", "c", "$3"),
    " SELECT c.id, c.org_id, true AS is_client, c.name, c.permissions, c.auth_method, c.token_ttl_secs AS ttl_secs,
             c.secret_hash, NULL::jsonb AS jwks, hit.hits, hit.window_end
      FROM c LEFT JOIN hit ON true"
);
/// The token endpoint's lookup of a client that signs assertions: its keys, nothing counted.
const FIND_FOR_ASSERTION: &str = "SELECT c.id, c.org_id, true AS is_client, c.name, c.permissions, c.auth_method,
            c.token_ttl_secs AS ttl_secs, ''::bytea AS secret_hash, c.jwks, NULL::int4 AS hits,
            NULL::timestamptz AS window_end
     FROM oauth_clients c WHERE c.id = $1 AND (c.kind = 'm2m') <> $2";
/// Spends an assertion's `jti` ($2) for the client ($1) until it expires ($3): fresh is false
/// when it was spent already and has not expired. A fresh one marks the client used and counts
/// its token request against the limit $4.
const SPEND_ASSERTION: &str = concatcp!(
    "WITH spent AS (
         INSERT INTO client_assertions AS a (client_id, jti, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE a.expires_at < now()
         RETURNING a.client_id AS id),
          c AS (SELECT c.id, c.last_used_at FROM oauth_clients c JOIN spent ON spent.id = c.id), ",
    touch_minutely!("touched", "oauth_clients", "c"),
    ", ",
    minute_hit!("'client_token_requests_minute'", "c", "$4"),
    " SELECT EXISTS (SELECT 1 FROM spent) AS fresh, hit.hits, hit.window_end FROM (SELECT 1) one LEFT JOIN hit ON true"
);
/// A public application (no secret, `none`): what a token request needs of it.
const FIND_PUBLIC_APP: &str = "SELECT c.id, c.org_id, true AS is_client, c.name, c.permissions, c.auth_method,
            c.token_ttl_secs AS ttl_secs, ''::bytea AS secret_hash, NULL::jsonb AS jwks, NULL::int4 AS hits,
            NULL::timestamptz AS window_end
     FROM oauth_clients c WHERE c.id = $1 AND c.kind IN ('spa', 'native') AND c.auth_method = 'none'";
const PRUNE_ASSERTIONS: &str = "DELETE FROM client_assertions WHERE expires_at < now()";

/// A client to register.
pub struct NewClient<'a> {
    /// UUIDv7: the client_id.
    pub id: Uuid,
    /// Its organization, or None for the platform.
    pub org_id: Option<Uuid>,
    /// Its name.
    pub name: &'a str,
    /// `client_secret_basic`, `client_secret_post` or `private_key_jwt`.
    pub auth_method: &'a str,
    /// A `private_key_jwt` client's public keys.
    pub jwks: Option<&'a serde_json::Value>,
    /// Its permissions' wire spellings.
    pub permissions: &'a [String],
    /// Its tokens' lifetime.
    pub token_ttl_secs: i32,
    /// Who registered it.
    pub created_by: Option<Uuid>,
    /// `m2m`, `web`, `spa` or `native`.
    pub kind: &'a str,
    /// The grants it may use.
    pub grant_types: &'a [&'a str],
    /// An application's settings (empty for m2m).
    pub app: AppColumns<'a>,
}

/// An application's columns: redirect URIs, scopes and what its hosted sign-in offers.
#[derive(Clone, Copy, Default)]
pub struct AppColumns<'a> {
    /// Exact redirect URIs.
    pub redirect_uris: &'a [String],
    /// Exact post-logout redirect URIs.
    pub post_logout_redirect_uris: &'a [String],
    /// OpenID scopes it may ask for.
    pub scopes: &'a [String],
    /// The hosted sign-in offers sign-up.
    pub allow_sign_up: bool,
    /// Tokens only for verified emails.
    pub require_verified_email: bool,
}

/// Stores a client (without secrets).
pub async fn insert(db: &impl GenericClient, new: &NewClient<'_>) -> Result<(), DbError> {
    let params = [
        &new.id as _,
        &new.org_id as _,
        &new.name as _,
        &new.auth_method as _,
        &new.jwks as _,
        &new.permissions as _,
        &new.token_ttl_secs as _,
        &new.created_by as _,
        &new.kind as _,
        &new.grant_types as _,
        &new.app.redirect_uris as _,
        &new.app.post_logout_redirect_uris as _,
        &new.app.scopes as _,
        &new.app.allow_sign_up as _,
        &new.app.require_verified_email as _,
    ];
    cached::execute(db, INSERT, &params).await?;
    Ok(())
}

/// One of the owner's clients.
#[track_caller]
pub fn find<C: GenericClient>(db: &C, owner: Option<Uuid>, id: Uuid) -> Read<'_, C, Option<OAuthClient>> {
    Read::new(db, FIND, vec![Box::new(owner), Box::new(id)])
}

/// A page of the owner's clients, newest first, before `before`.
#[track_caller]
pub fn list<C: GenericClient>(
    db: &C,
    owner: Option<Uuid>,
    before: Option<Uuid>,
    limit: i64,
) -> Read<'_, C, Vec<OAuthClient>> {
    Read::new(db, LIST, vec![Box::new(owner), Box::new(before), Box::new(limit)])
}

/// How many clients the owner has.
pub async fn count(db: &impl GenericClient, owner: Option<Uuid>) -> Result<i64, DbError> {
    cached::value(db, COUNT, &[&owner]).await
}

/// A client's registration as it will be.
pub struct ClientUpdate<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its permissions' wire spellings.
    pub permissions: &'a [String],
    /// Its tokens' lifetime.
    pub token_ttl_secs: i32,
    /// New public keys (None: unchanged).
    pub jwks: Option<&'a serde_json::Value>,
    /// An application's settings as they will be.
    pub app: AppColumns<'a>,
    /// The grants it may use.
    pub grant_types: &'a [&'a str],
}

/// Changes a client's registration; None if the owner has no such client.
pub async fn update(
    db: &impl GenericClient,
    owner: Option<Uuid>,
    id: Uuid,
    change: &ClientUpdate<'_>,
) -> Result<Option<OAuthClient>, DbError> {
    let params = [
        &owner as _,
        &id as _,
        &change.name as _,
        &change.permissions as _,
        &change.token_ttl_secs as _,
        &change.jwks as _,
        &change.app.redirect_uris as _,
        &change.app.post_logout_redirect_uris as _,
        &change.app.scopes as _,
        &change.app.allow_sign_up as _,
        &change.app.require_verified_email as _,
        &change.grant_types as _,
    ];
    cached::fetch_opt(db, UPDATE, &params).await
}

/// Deletes a client with its secrets; its name, or None if the owner has no such client.
pub async fn delete(db: &impl GenericClient, owner: Option<Uuid>, id: Uuid) -> Result<Option<String>, DbError> {
    cached::value_opt(db, DELETE, &[&owner, &id]).await
}

/// Locks the client's row until the transaction ends, so its secrets change one change at a
/// time; false if the owner has no such client.
pub async fn lock(db: &impl GenericClient, owner: Option<Uuid>, id: Uuid) -> Result<bool, DbError> {
    Ok(cached::query_opt(db, LOCK, &[&owner, &id]).await?.is_some())
}

/// Adds a secret to a client.
pub async fn insert_secret(
    db: &impl GenericClient,
    id: Uuid,
    client_id: Uuid,
    secret_hash: &[u8],
    hint: &str,
) -> Result<ClientSecret, DbError> {
    let row = cached::query_one(db, INSERT_SECRET, &[&id, &client_id, &secret_hash, &hint]).await?;
    Ok(ClientSecret { id: row.try_get(0)?, hint: row.try_get(1)?, created_at: row.try_get(2)? })
}

/// Removes a client's secret; its hint, or None if the client has no such secret.
pub async fn delete_secret(db: &impl GenericClient, client_id: Uuid, id: Uuid) -> Result<Option<String>, DbError> {
    cached::value_opt(db, DELETE_SECRET, &[&client_id, &id]).await
}

/// The client with this id and one secret of this hash, its token request counted against
/// `per_minute` (0: not counted): a machine, or an application when `apps`.
pub async fn find_for_secret(
    db: &impl GenericClient,
    id: Uuid,
    secret_hash: &[u8],
    per_minute: i32,
    apps: bool,
) -> Result<Option<Grantee>, DbError> {
    cached::fetch_opt(db, FIND_FOR_SECRET, &[&id, &secret_hash, &per_minute, &apps]).await
}

/// The client with this id, with its public keys: a machine, or an application when `apps`.
pub async fn find_for_assertion(db: &impl GenericClient, id: Uuid, apps: bool) -> Result<Option<Grantee>, DbError> {
    cached::fetch_opt(db, FIND_FOR_ASSERTION, &[&id, &apps]).await
}

/// A public application by id.
pub async fn find_public_app(db: &impl GenericClient, id: Uuid) -> Result<Option<Grantee>, DbError> {
    cached::fetch_opt(db, FIND_PUBLIC_APP, &[&id]).await
}

/// An assertion's spending: whether it was fresh, and the client's token requests this minute.
#[derive(postgres_from_row::FromRow)]
pub struct Spent {
    /// False for a replay.
    pub fresh: bool,
    /// Token requests in the client's current minute (None: not counted).
    pub hits: Option<i32>,
    /// When that minute ends.
    pub window_end: Option<DateTime<Utc>>,
}

/// Spends an assertion's `jti` until `expires_at`, in one statement: of concurrent uses, one
/// is fresh.
pub async fn spend_assertion(
    db: &impl GenericClient,
    client_id: Uuid,
    jti: &str,
    expires_at: DateTime<Utc>,
    per_minute: i32,
) -> Result<Spent, DbError> {
    cached::fetch_one(db, SPEND_ASSERTION, &[&client_id, &jti, &expires_at, &per_minute]).await
}

/// Forgets assertions that have expired; returns how many.
pub async fn prune_assertions(db: &impl GenericClient) -> Result<u64, DbError> {
    cached::execute(db, PRUNE_ASSERTIONS, &[]).await
}
