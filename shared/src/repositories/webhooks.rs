//! The webhook_endpoints and webhook_secrets tables: endpoints of an organization ($1 a uuid)
//! or of the platform ($1 NULL), and their sealed signing secrets.

use chrono::{DateTime, Utc};
use const_format::concatcp;
use uuid::Uuid;

use super::reads::Read;
use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::WebhookEndpoint;

/// The columns [`WebhookEndpoint`] maps from, on the alias `w`.
const COLUMNS: &str = "w.id, w.org_id, w.url, w.description, w.event_types, w.enabled, w.disabled_reason, \
     w.failing_since, w.created_by, w.created_at, w.updated_at, \
     (SELECT max(s.expires_at) FROM webhook_secrets s WHERE s.endpoint_id = w.id AND s.expires_at > now()) \
     AS previous_secret_expires_at";
/// The owner's endpoint: $1 the org (NULL: the platform), $2 the endpoint.
const OWNED: &str = "w.org_id IS NOT DISTINCT FROM $1::uuid AND w.id = $2";

const INSERT: &str = concatcp!(
    "INSERT INTO webhook_endpoints AS w (id, org_id, url, description, event_types, created_by)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
    COLUMNS
);
const INSERT_SECRET: &str = "INSERT INTO webhook_secrets (id, endpoint_id, sealed) VALUES ($1, $2, $3)";
const COUNT: &str = "SELECT count(*) FROM webhook_endpoints w WHERE w.org_id IS NOT DISTINCT FROM $1::uuid";
const FIND: &str = concatcp!("SELECT ", COLUMNS, " FROM webhook_endpoints w WHERE ", OWNED);
/// A page, newest first, by the (org_id, id) index.
const LIST: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    " FROM webhook_endpoints w WHERE w.org_id IS NOT DISTINCT FROM $1::uuid
        AND w.id < COALESCE($2::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')
      ORDER BY w.id DESC LIMIT $3"
);
/// Enabling clears why it was disabled and its failing run; disabling by hand says so.
const UPDATE: &str = concatcp!(
    "UPDATE webhook_endpoints w SET url = $3, description = $4, event_types = $5, enabled = $6,
            disabled_reason = CASE WHEN $6 THEN NULL WHEN w.enabled THEN 'manual' ELSE w.disabled_reason END,
            failing_since = CASE WHEN $6 AND NOT w.enabled THEN NULL ELSE w.failing_since END,
            updated_at = now()
     WHERE ",
    OWNED,
    " RETURNING ",
    COLUMNS
);
const DELETE: &str = "DELETE FROM webhook_endpoints w WHERE w.org_id IS NOT DISTINCT FROM $1::uuid AND w.id = $2";
/// A rotation: the secret an earlier rotation left signing stops now, the current one signs
/// until the overlap ($2 seconds) ends.
const RETIRE_SECRETS: &str =
    "WITH gone AS (DELETE FROM webhook_secrets WHERE endpoint_id = $1 AND expires_at IS NOT NULL)
     UPDATE webhook_secrets SET expires_at = now() + make_interval(secs => $2)
     WHERE endpoint_id = $1 AND expires_at IS NULL RETURNING expires_at";
/// The secrets that sign now, the current one first.
const SIGNING_SECRETS: &str = "SELECT id, sealed FROM webhook_secrets
     WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > now()) ORDER BY expires_at NULLS FIRST, id";
/// A secret sealed again, unless it changed since it was read.
const RESEAL: &str = "UPDATE webhook_secrets SET sealed = $3 WHERE id = $1 AND sealed = $2";
const SEALED_PAGE: &str = "SELECT id, sealed FROM webhook_secrets
     WHERE id > COALESCE($1::uuid, '00000000-0000-0000-0000-000000000000') ORDER BY id LIMIT $2";

/// Whom to tell about the endpoint owner's ($1) endpoints: the organization's active owners,
/// or for the platform's ($1 NULL) the active platform admins; and the organization's name.
const OWNERS: &str = "SELECT u.email, (SELECT o.name FROM organizations o WHERE o.id = $1) FROM users u
     WHERE u.status = 'active' AND CASE WHEN $1::uuid IS NULL THEN u.is_platform_admin
         ELSE EXISTS (SELECT 1 FROM memberships m WHERE m.org_id = $1 AND m.user_id = u.id AND 'owner' = ANY (m.roles)) END";

/// A checked endpoint to store.
#[derive(Debug)]
pub struct NewEndpoint<'a> {
    /// UUIDv7.
    pub id: Uuid,
    /// The organization (None: the platform).
    pub org_id: Option<Uuid>,
    /// The receiver.
    pub url: &'a str,
    /// Its description.
    pub description: &'a str,
    /// The types it takes (empty: all).
    pub event_types: &'a [String],
    /// Who made it.
    pub created_by: Option<Uuid>,
}

/// An endpoint's fields as they will be.
#[derive(Debug)]
pub struct EndpointFields<'a> {
    /// The receiver.
    pub url: &'a str,
    /// Its description.
    pub description: &'a str,
    /// The types it takes.
    pub event_types: &'a [String],
    /// Whether deliveries are sent.
    pub enabled: bool,
}

/// Stores an endpoint.
pub async fn insert(db: &impl GenericClient, new: &NewEndpoint<'_>) -> Result<WebhookEndpoint, DbError> {
    cached::fetch_one(
        db,
        INSERT,
        &[&new.id, &new.org_id, &new.url, &new.description, &new.event_types, &new.created_by],
    )
    .await
}

/// Stores a sealed signing secret that signs from now on.
pub async fn insert_secret(db: &impl GenericClient, id: Uuid, endpoint_id: Uuid, sealed: &[u8]) -> Result<(), DbError> {
    cached::execute(db, INSERT_SECRET, &[&id, &endpoint_id, &sealed]).await.map(drop)
}

/// How many endpoints the owner has.
pub async fn count(db: &impl GenericClient, org: Option<Uuid>) -> Result<i64, DbError> {
    cached::value(db, COUNT, &[&org]).await
}

/// The owner's endpoint.
#[track_caller]
pub fn find<C: GenericClient>(db: &C, org: Option<Uuid>, id: Uuid) -> Read<'_, C, Option<WebhookEndpoint>> {
    Read::new(db, FIND, vec![Box::new(org), Box::new(id)])
}

/// The owner's endpoints, newest first, older than `before` if given.
#[track_caller]
pub fn list<C: GenericClient>(
    db: &C,
    org: Option<Uuid>,
    before: Option<Uuid>,
    limit: i64,
) -> Read<'_, C, Vec<WebhookEndpoint>> {
    Read::new(db, LIST, vec![Box::new(org), Box::new(before), Box::new(limit)])
}

/// Writes the endpoint's fields.
pub async fn update(
    db: &impl GenericClient,
    org: Option<Uuid>,
    id: Uuid,
    fields: &EndpointFields<'_>,
) -> Result<Option<WebhookEndpoint>, DbError> {
    cached::fetch_opt(db, UPDATE, &[&org, &id, &fields.url, &fields.description, &fields.event_types, &fields.enabled])
        .await
}

/// Deletes the endpoint, its secrets and its deliveries; whether it was there.
pub async fn delete(db: &impl GenericClient, org: Option<Uuid>, id: Uuid) -> Result<bool, DbError> {
    Ok(cached::execute(db, DELETE, &[&org, &id]).await? > 0)
}

/// Ends the previous secret now and the current one after `overlap_secs`; when it ends.
pub async fn retire_secrets(
    db: &impl GenericClient,
    endpoint_id: Uuid,
    overlap_secs: f64,
) -> Result<Option<DateTime<Utc>>, DbError> {
    cached::value_opt(db, RETIRE_SECRETS, &[&endpoint_id, &overlap_secs]).await
}

/// The sealed secrets that sign the endpoint's deliveries now, the current one first.
pub async fn signing_secrets(db: &impl GenericClient, endpoint_id: Uuid) -> Result<Vec<(Uuid, Vec<u8>)>, DbError> {
    let rows = cached::query(db, SIGNING_SECRETS, &[&endpoint_id]).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Sealed secrets after `after`, by id, for sealing again under a new key.
pub async fn sealed_page(
    db: &impl GenericClient,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<(Uuid, Vec<u8>)>, DbError> {
    let rows = cached::query(db, SEALED_PAGE, &[&after, &limit]).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Stores a secret sealed again if it is still `was`; whether it was.
pub async fn reseal(db: &impl GenericClient, id: Uuid, was: &[u8], sealed: &[u8]) -> Result<bool, DbError> {
    Ok(cached::execute(db, RESEAL, &[&id, &was, &sealed]).await? > 0)
}

/// The addresses of those who answer for the owner's endpoints, and the organization's name.
pub async fn owners(db: &impl GenericClient, org: Option<Uuid>) -> Result<(Vec<String>, Option<String>), DbError> {
    let rows = cached::query(db, OWNERS, &[&org]).await?;
    let emails = rows.iter().map(|r| r.try_get(0)).collect::<Result<Vec<String>, _>>()?;
    let name = rows.first().map(|r| r.try_get(1)).transpose()?.flatten();
    Ok((emails, name))
}
