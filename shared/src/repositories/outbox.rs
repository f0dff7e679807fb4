//! The email_outbox table: mail waiting to be sent, claimed with SKIP LOCKED.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{GenericClient, cached};
use crate::db::DbError;

crate::models::text_enum::text_enum! {
    /// Where a queued mail stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum OutboxStatus {
        /// Waiting for its next attempt.
        Pending = "pending",
        /// Accepted by SES.
        Sent = "sent",
        /// Out of attempts.
        Dead = "dead",
    }
}

/// A claimed row, ready to send.
#[derive(Clone, postgres_from_row::FromRow)]
pub struct OutboxRow {
    /// Row id.
    pub id: Uuid,
    /// Recipient address.
    pub recipient: String,
    /// Template name.
    pub template: String,
    /// Template data; holds the raw link until the mail is sent.
    pub payload: Value,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

impl std::fmt::Debug for OutboxRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRow").field("id", &self.id).field("template", &self.template).finish_non_exhaustive()
    }
}

const INSERT: &str = "INSERT INTO email_outbox (id, recipient, template, payload) VALUES ($1, $2, $3, $4)";

/// Queues a message, in the transaction of the change it reports.
pub async fn insert(
    db: &impl GenericClient,
    id: Uuid,
    recipient: &str,
    template: &str,
    payload: &Value,
) -> Result<(), DbError> {
    cached::execute(db, INSERT, &[&id, &recipient, &template, &payload]).await?;
    Ok(())
}

const CLAIM: &str = "UPDATE email_outbox o
             SET attempts = o.attempts + 1, next_attempt_at = now() + make_interval(secs => $3), updated_at = now()
             WHERE o.id IN (
               SELECT id FROM email_outbox
               WHERE status = $5 AND next_attempt_at <= COALESCE($4, now()) AND ($1::uuid IS NULL OR id = $1)
               ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
             RETURNING o.id, o.recipient, o.template, o.payload, o.attempts";

/// Claims rows due by `due_by` (default now), or the one row `only`, for `lease`: each claim counts an attempt and moves
/// the row's next attempt past the lease, so no other sender takes it meanwhile. Rows another
/// sender is claiming right now are skipped, not waited for.
pub async fn claim(
    db: &impl GenericClient,
    only: Option<Uuid>,
    due_by: Option<DateTime<Utc>>,
    limit: i64,
    lease: Duration,
) -> Result<Vec<OutboxRow>, DbError> {
    cached::fetch(db, CLAIM, &[&only, &limit, &lease.as_secs_f64(), &due_by, &OutboxStatus::Pending]).await
}

const MARK_SENT: &str = "UPDATE email_outbox SET status = $3, provider_message_id = $2, last_error = NULL,
                payload = payload - 'link', updated_at = now() WHERE id = $1";

/// Records a sent message and wipes the link (and so the token) from its payload.
pub async fn mark_sent(db: &impl GenericClient, id: Uuid, message_id: &str) -> Result<(), DbError> {
    cached::execute(db, MARK_SENT, &[&id, &message_id, &OutboxStatus::Sent]).await?;
    Ok(())
}

const RETRY_LATER: &str =
    "UPDATE email_outbox SET last_error = $2, next_attempt_at = now() + make_interval(secs => $3),
                        updated_at = now() WHERE id = $1";

const GIVE_UP: &str = "UPDATE email_outbox SET status = $3, last_error = $2, payload = payload - 'link',
                        updated_at = now() WHERE id = $1";

/// Records a failed attempt: retried after `retry_in`, or dead (link wiped) when None.
pub async fn mark_failed(
    db: &impl GenericClient,
    id: Uuid,
    error: &str,
    retry_in: Option<Duration>,
) -> Result<(), DbError> {
    match retry_in {
        Some(delay) => cached::execute(db, RETRY_LATER, &[&id, &error, &delay.as_secs_f64()]).await?,
        None => cached::execute(db, GIVE_UP, &[&id, &error, &OutboxStatus::Dead]).await?,
    };
    Ok(())
}

const FORGET_DELIVERED_TO: &str = "DELETE FROM email_outbox WHERE lower(recipient) = lower($1) AND status <> $2";

/// Deletes the record of mails already sent (or given up on) to an address, whose payloads
/// name its owner; mails still to go stay. Returns how many.
pub async fn forget_delivered_to(db: &impl GenericClient, recipient: &str) -> Result<u64, DbError> {
    cached::execute(db, FORGET_DELIVERED_TO, &[&recipient, &OutboxStatus::Pending]).await
}
