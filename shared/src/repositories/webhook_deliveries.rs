//! The webhook_deliveries table: the outbox the sender claims from (rows are written beside
//! each event by the audit log's statements), and what owners read of it.

use chrono::{DateTime, Utc};
use const_format::concatcp;
use uuid::Uuid;

use super::reads::Read;
use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{Event, WebhookDelivery};

/// The columns [`WebhookDelivery`] maps from: `d` the delivery, `e` its event.
const COLUMNS: &str = "d.id, d.endpoint_id, d.event_id, e.type AS event_type, d.status, d.attempts, d.next_attempt_at, \
     d.last_attempt_at, d.last_http_status, d.last_error, d.last_duration_ms, d.created_at";
/// The endpoint's ($2) deliveries, of its owner ($1; NULL: the platform), newest first.
const LIST: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    " FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
      JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.org_id IS NOT DISTINCT FROM $1::uuid
      WHERE d.endpoint_id = $2 AND d.id < COALESCE($3::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')
      ORDER BY d.id DESC LIMIT $4"
);
/// A finished delivery ($3) of the endpoint ($2) queued again, due now.
const RETRY: &str = concatcp!(
    "UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = now()
     FROM events e, webhook_endpoints w
     WHERE d.id = $3 AND d.endpoint_id = $2 AND e.id = d.event_id AND w.id = d.endpoint_id
       AND w.org_id IS NOT DISTINCT FROM $1::uuid AND d.status <> 'pending'
     RETURNING ",
    COLUMNS
);
const FIND: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    " FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
      JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.org_id IS NOT DISTINCT FROM $1::uuid
      WHERE d.endpoint_id = $2 AND d.id = $3"
);
/// A `webhook.test` event of the owner, by the actor, queued for one endpoint only (the
/// audit statements' fan-out never sees it, and the feed leaves it out).
const QUEUE_TEST: &str = concatcp!(
    "WITH e AS (
         INSERT INTO events (id, type, org_id, actor_type, actor_id, data)
         VALUES ('evt_' || replace(uuid_v7()::text, '-', ''), 'webhook.test', $1, $3, $4,
                 jsonb_build_object('webhook_endpoint_id', $2::uuid))
         RETURNING id, type),
     d AS (
         INSERT INTO webhook_deliveries (endpoint_id, event_id, next_attempt_at)
         SELECT $2, e.id, now() FROM e RETURNING *)
     SELECT ",
    COLUMNS,
    " FROM d, e"
);
/// Pending deliveries of pending endpoints stop when their endpoint is disabled.
const FAIL_PENDING: &str = "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL,
     last_error = 'endpoint_disabled' WHERE endpoint_id = $1 AND status = 'pending'";
/// Claims up to $1 due deliveries of enabled endpoints, skipping rows another sender holds,
/// and leases them for $2 seconds by moving their next attempt past the lease: a sender that
/// dies mid-send leaves them to be sent again, with the same event id, once the lease ends.
const CLAIM: &str = "WITH due AS (
         SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.enabled
         WHERE d.status = 'pending' AND d.next_attempt_at <= now()
         ORDER BY d.next_attempt_at LIMIT $1 FOR UPDATE OF d SKIP LOCKED)
     UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
     FROM due, webhook_endpoints w, events e
     WHERE d.id = due.id AND w.id = d.endpoint_id AND e.id = d.event_id
     RETURNING d.id AS delivery_id, d.endpoint_id, d.attempts, w.url, w.failing_since,
               e.id, e.type AS event_type, e.created_at AS timestamp, e.org_id AS organization_id,
               e.actor_type, e.actor_id, e.seq AS sequence, e.data";
/// The outcome of the attempt numbered $2 of delivery $1, unless another sender has taken the
/// row since: $3 the new status, $4 when to try again (for pending).
const RECORD: &str = "UPDATE webhook_deliveries SET status = $3, next_attempt_at = $4, last_attempt_at = now(),
         last_http_status = $5, last_error = $6, last_duration_ms = $7
     WHERE id = $1 AND attempts = $2 AND status = 'pending'";
/// A delivered attempt ends the endpoint's failing run.
const ENDPOINT_DELIVERED: &str =
    "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL";
/// A failed attempt starts (or continues) the endpoint's failing run; when it began.
const ENDPOINT_FAILED: &str = "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, now())
     WHERE id = $1 RETURNING failing_since";
/// Disables an enabled endpoint for a reason; its owner and URL.
const DISABLE: &str = "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, updated_at = now()
     WHERE id = $1 AND enabled RETURNING org_id, url";
/// A claimed delivery: what to send, and where.
#[derive(Debug, postgres_from_row::FromRow)]
pub struct Claimed {
    /// The delivery.
    pub delivery_id: Uuid,
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// This attempt's number.
    pub attempts: i32,
    /// Where to send it.
    pub url: String,
    /// When the endpoint's failing run began.
    pub failing_since: Option<DateTime<Utc>>,
    /// The event.
    #[from_row(flatten)]
    pub event: Event,
}

/// One attempt's outcome as stored.
#[derive(Debug)]
pub struct Outcome<'a> {
    /// `pending`, `delivered` or `failed`.
    pub status: &'a str,
    /// When to try again (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's status.
    pub http_status: Option<i32>,
    /// The error class.
    pub error: Option<&'a str>,
    /// How long it took.
    pub duration_ms: i32,
}

/// The endpoint's deliveries, newest first, older than `before` if given.
#[track_caller]
pub fn list<C: GenericClient>(
    db: &C,
    org: Option<Uuid>,
    endpoint_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Read<'_, C, Vec<WebhookDelivery>> {
    Read::new(db, LIST, vec![Box::new(org), Box::new(endpoint_id), Box::new(before), Box::new(limit)])
}

/// One delivery of the owner's endpoint.
pub async fn find(
    db: &impl GenericClient,
    org: Option<Uuid>,
    endpoint_id: Uuid,
    id: Uuid,
) -> Result<Option<WebhookDelivery>, DbError> {
    cached::fetch_opt(db, FIND, &[&org, &endpoint_id, &id]).await
}

/// Queues a finished delivery again; None when it is not there or still pending.
pub async fn retry(
    db: &impl GenericClient,
    org: Option<Uuid>,
    endpoint_id: Uuid,
    id: Uuid,
) -> Result<Option<WebhookDelivery>, DbError> {
    cached::fetch_opt(db, RETRY, &[&org, &endpoint_id, &id]).await
}

/// Queues a `webhook.test` event for one endpoint.
pub async fn queue_test(
    db: &impl GenericClient,
    org: Option<Uuid>,
    endpoint_id: Uuid,
    actor: (&str, Option<Uuid>),
) -> Result<WebhookDelivery, DbError> {
    cached::fetch_one(db, QUEUE_TEST, &[&org, &endpoint_id, &actor.0, &actor.1]).await
}

/// Stops the endpoint's pending deliveries (it was disabled).
pub async fn fail_pending(db: &impl GenericClient, endpoint_id: Uuid) -> Result<u64, DbError> {
    cached::execute(db, FAIL_PENDING, &[&endpoint_id]).await
}

/// Claims up to `limit` due deliveries, leased for `lease_secs`.
pub async fn claim(db: &impl GenericClient, limit: i64, lease_secs: f64) -> Result<Vec<Claimed>, DbError> {
    cached::fetch(db, CLAIM, &[&limit, &lease_secs]).await
}

/// Stores attempt `attempt`'s outcome; false when another sender has taken the row since.
pub async fn record(db: &impl GenericClient, id: Uuid, attempt: i32, outcome: &Outcome<'_>) -> Result<bool, DbError> {
    let params: [super::cached::Param; 7] = [
        &id,
        &attempt,
        &outcome.status,
        &outcome.next_attempt_at,
        &outcome.http_status,
        &outcome.error,
        &outcome.duration_ms,
    ];
    Ok(cached::execute(db, RECORD, &params).await? > 0)
}

/// Ends the endpoint's failing run.
pub async fn endpoint_delivered(db: &impl GenericClient, endpoint_id: Uuid) -> Result<(), DbError> {
    cached::execute(db, ENDPOINT_DELIVERED, &[&endpoint_id]).await.map(drop)
}

/// Notes a failed attempt on the endpoint; when its failing run began.
pub async fn endpoint_failed(db: &impl GenericClient, endpoint_id: Uuid) -> Result<Option<DateTime<Utc>>, DbError> {
    cached::value_opt(db, ENDPOINT_FAILED, &[&endpoint_id]).await
}

/// Disables an enabled endpoint; its owner and URL, or None if it was not enabled.
pub async fn disable(
    db: &impl GenericClient,
    endpoint_id: Uuid,
    reason: &str,
) -> Result<Option<(Option<Uuid>, String)>, DbError> {
    let row = cached::query_opt(db, DISABLE, &[&endpoint_id, &reason]).await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}
