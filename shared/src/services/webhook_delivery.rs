//! Sending what the outbox holds: claim due deliveries (SKIP LOCKED, leased), sign each as
//! Standard Webhooks says with every live secret, POST it, and record the outcome: delivered,
//! retried on Svix's schedule (or when `Retry-After` says), or given up. A 410 disables the
//! endpoint, and so do five days of failed attempts; either writes `webhook_endpoint.disabled`
//! and mails the endpoint's owners.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use serde_json::json;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::auth::sealed::Sealer;
use crate::config::WebhookConfig;
use crate::db::{self, DbError, Pool};
use crate::egress::target;
use crate::error::{AppError, AppResult};
use crate::mail::templates::Mail;
use crate::models::{AuditAction, NewAuditEntry};
use crate::repositories::webhook_deliveries::{self, Claimed, Outcome};
use crate::repositories::{audit, webhooks};
use crate::services::outbox;
use crate::services::webhooks::secret_context;
use crate::state::AppState;
use crate::webhooks::client::{Attempt, Sender};
use crate::webhooks::signature;

/// Waits after each failed attempt, as Svix retries: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
/// (each within ±10% jitter). After the last, the delivery has failed.
pub const RETRY_SCHEDULE_SECS: [u64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];
/// An endpoint that has failed every attempt for this long is disabled.
pub const DISABLE_AFTER_FAILING: chrono::TimeDelta = chrono::TimeDelta::days(5);
/// The longest `Retry-After` honoured: a day.
const RETRY_AFTER_MAX_SECS: u64 = 24 * 3600;
/// Deliveries one claim takes, sent at once.
const BATCH: i64 = 16;

/// What a sender runs with: the database, the sealing keys, the settings and the HTTP client.
#[derive(Clone, Debug)]
pub struct Outbox {
    /// The database.
    pub pool: Pool,
    /// Opens the signing secrets.
    pub sealer: Arc<Sealer>,
    /// Timeout and whether local receivers are allowed.
    pub settings: WebhookConfig,
    /// Sends.
    pub sender: Sender,
}

impl Outbox {
    /// The outbox of an app's state, sending with `sender`.
    pub fn of(state: &AppState, sender: Sender) -> AppResult<Outbox> {
        Ok(Outbox {
            pool: state.pool().clone(),
            sealer: state.sealer()?.clone(),
            settings: state.config().webhooks.clone(),
            sender,
        })
    }
}

/// What one run of the sender did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Answered 2xx.
    pub delivered: u32,
    /// Failed, to be tried again.
    pub retrying: u32,
    /// Failed for the last time.
    pub failed: u32,
    /// Endpoints disabled.
    pub disabled: u32,
}

impl Report {
    fn add(&mut self, other: Report) {
        self.delivered += other.delivered;
        self.retrying += other.retrying;
        self.failed += other.failed;
        self.disabled += other.disabled;
    }

    /// Attempts made.
    pub fn attempts(&self) -> u32 {
        self.delivered + self.retrying + self.failed
    }
}

/// The wait before attempt `attempts + 1`, after `attempts` failed ones; None when none is left.
pub fn retry_delay(attempts: i32, retry_after: Option<u64>) -> Option<Duration> {
    let base = *RETRY_SCHEDULE_SECS.get(usize::try_from(attempts).ok()?.checked_sub(1)?)?;
    let secs = match retry_after {
        Some(asked) => asked.min(RETRY_AFTER_MAX_SECS) as f64,
        None => base as f64 * jitter(),
    };
    Some(Duration::from_secs_f64(secs.max(1.0)))
}

/// A factor within ±10%, so endpoints that failed together are not retried together.
fn jitter() -> f64 {
    let mut byte = [0u8; 1];
    aws_lc_rs::rand::fill(&mut byte).expect("system randomness is available");
    0.9 + 0.2 * f64::from(byte[0]) / 255.0
}

/// Sends due deliveries until none is due or `budget` has passed; what it did.
pub async fn run(outbox: &Outbox, budget: Duration) -> AppResult<Report> {
    let started = std::time::Instant::now();
    let mut report = Report::default();
    loop {
        let (batch, claimed) = run_batch(outbox).await?;
        report.add(batch);
        if claimed < BATCH as usize || started.elapsed() >= budget {
            return Ok(report);
        }
    }
}

/// Claims and sends one batch; what it did and how many it claimed.
async fn run_batch(outbox: &Outbox) -> AppResult<(Report, usize)> {
    let lease = outbox.settings.timeout.as_secs_f64() + 60.0;
    let claimed = {
        let client = db::client(&outbox.pool).await?;
        webhook_deliveries::claim(&client, BATCH, lease).await?
    };
    let count = claimed.len();
    let mut sends = JoinSet::new();
    for delivery in claimed {
        let outbox = outbox.clone();
        sends.spawn(async move { deliver(&outbox, delivery).await });
    }
    let mut report = Report::default();
    while let Some(done) = sends.join_next().await {
        match done {
            Ok(Ok(one)) => report.add(one),
            Ok(Err(error)) => tracing::error!(error = %error, "a webhook delivery's outcome was not recorded"),
            Err(panic) => tracing::error!(error = %panic, "a webhook delivery task failed"),
        }
    }
    Ok((report, count))
}

/// Signs, sends and records one claimed delivery.
async fn deliver(outbox: &Outbox, delivery: Claimed) -> AppResult<Report> {
    let keys = {
        let client = db::client(&outbox.pool).await?;
        open_keys(&outbox.sealer, webhooks::signing_secrets(&client, delivery.endpoint_id).await?)?
    };
    let body = Bytes::from(serde_json::to_vec(&delivery.event).map_err(AppError::internal("encoding an event"))?);
    let timestamp = Utc::now().timestamp();
    let attempt = match target::parse(&delivery.url, outbox.settings.allow_local_targets) {
        Ok(target) => {
            let headers = [
                ("webhook-id", delivery.event.id.clone()),
                ("webhook-timestamp", timestamp.to_string()),
                ("webhook-signature", signature::sign(&keys, &delivery.event.id, timestamp, &body)),
            ];
            outbox.sender.post(&target, &headers, body).await
        }
        // A URL a local deployment stored, read by one that is not.
        Err(_) => Attempt { status: None, error: Some("invalid_url"), retry_after: None, duration: Duration::ZERO },
    };
    tracing::info!(
        webhook_endpoint_id = %delivery.endpoint_id,
        delivery_id = %delivery.delivery_id,
        attempt = delivery.attempts,
        status = attempt.status,
        error = attempt.error,
        duration_ms = attempt.duration.as_millis() as u64,
        "webhook attempt"
    );
    record(&outbox.pool, &delivery, &attempt).await
}

/// The HMAC keys of the endpoint's live secrets, current first.
fn open_keys(sealer: &Sealer, sealed: Vec<(Uuid, Vec<u8>)>) -> AppResult<Vec<Vec<u8>>> {
    sealed
        .into_iter()
        .map(|(id, sealed)| {
            let opened =
                sealer.open(&sealed, &secret_context(id)).map_err(AppError::internal("unsealing a webhook secret"))?;
            let secret = String::from_utf8(opened.plaintext).map_err(AppError::internal("a webhook secret's text"))?;
            signature::secret_key(&secret).ok_or_else(|| AppError::bug("a stored webhook secret of the wrong form"))
        })
        .collect()
}

/// Stores the attempt's outcome and what follows from it, in one transaction.
async fn record(pool: &Pool, delivery: &Claimed, attempt: &Attempt) -> AppResult<Report> {
    let mut client = db::client(pool).await?;
    let tx = client.transaction().await?;
    let duration_ms = i32::try_from(attempt.duration.as_millis()).unwrap_or(i32::MAX);
    let http_status = attempt.status.map(i32::from);
    let mut report = Report::default();
    let mut outcome =
        Outcome { status: "failed", next_attempt_at: None, http_status, error: attempt.error, duration_ms };
    let mut disable = None;
    if attempt.delivered() {
        outcome.status = "delivered";
        webhook_deliveries::endpoint_delivered(&tx, delivery.endpoint_id).await?;
        report.delivered = 1;
    } else if attempt.status == Some(410) {
        disable = Some("gone");
        report.failed = 1;
    } else {
        let failing_since =
            webhook_deliveries::endpoint_failed(&tx, delivery.endpoint_id).await?.unwrap_or_else(Utc::now);
        let honoured = matches!(attempt.status, Some(429 | 503)).then_some(attempt.retry_after).flatten();
        match retry_delay(delivery.attempts, honoured) {
            _ if Utc::now() - failing_since >= DISABLE_AFTER_FAILING => {
                disable = Some("failing");
                report.failed = 1;
            }
            Some(wait) => {
                outcome.status = "pending";
                outcome.next_attempt_at = Some(Utc::now() + wait);
                report.retrying = 1;
            }
            None => report.failed = 1,
        }
    }
    if !webhook_deliveries::record(&tx, delivery.delivery_id, delivery.attempts, &outcome).await? {
        // Another sender claimed the row once this one's lease ended; its outcome stands.
        return Ok(Report::default());
    }
    if let Some(reason) = disable {
        report.disabled = u32::from(disable_endpoint(&tx, delivery.endpoint_id, reason).await?);
    }
    tx.commit().await?;
    if report.disabled > 0 {
        tracing::warn!(webhook_endpoint_id = %delivery.endpoint_id, reason = disable, "webhook endpoint disabled");
    }
    Ok(report)
}

/// Disables an endpoint, stops its pending deliveries and writes `webhook_endpoint.disabled`
/// (by the system); whether it was enabled.
async fn disable_endpoint(
    db: &impl crate::repositories::GenericClient,
    id: Uuid,
    reason: &str,
) -> Result<bool, DbError> {
    let Some((org_id, url)) = webhook_deliveries::disable(db, id, reason).await? else { return Ok(false) };
    webhook_deliveries::fail_pending(db, id).await?;
    let origin = crate::services::webhooks::origin(&url);
    let entry = NewAuditEntry {
        org_id,
        actor_id: None,
        actor_type: "user",
        action: AuditAction::WebhookEndpointDisabled,
        target_id: id,
        metadata: json!({"reason": reason, "url": &origin}),
        ip: None,
    };
    audit::insert(db, &entry).await?;
    let (owners, org_name) = webhooks::owners(db, org_id).await?;
    let mail =
        Mail::WebhookEndpointDisabled { endpoint_id: id.to_string(), url: origin, reason: reason.into(), org_name };
    for owner in owners {
        // The mailer's schedule sends it: this function holds no mail transport.
        outbox::enqueue(db, &owner, &mail).await?;
    }
    Ok(true)
}

/// The sender inside `identity serve`: runs when woken by a hand-off and at least every
/// `sweep`, so retries fall due on time; stops when the process does.
pub async fn serve(outbox: Outbox, wake: Arc<Notify>, sweep: Duration) {
    loop {
        match run(&outbox, Duration::from_secs(60)).await {
            Ok(report) if report.attempts() > 0 => tracing::debug!(?report, "webhook sender ran"),
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "webhook sender run failed"),
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(sweep) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_with_jitter_then_stop() {
        for (attempts, base) in (1..).zip(RETRY_SCHEDULE_SECS) {
            let wait = retry_delay(attempts, None).unwrap().as_secs_f64();
            assert!(wait >= base as f64 * 0.9 - 0.001 && wait <= base as f64 * 1.1 + 0.001, "{attempts}: {wait}");
        }
        assert_eq!(retry_delay(8, None), None, "seven retries after the first attempt");
        assert_eq!(retry_delay(1, Some(120)), Some(Duration::from_secs(120)), "Retry-After honoured");
        assert_eq!(retry_delay(1, Some(10 * 24 * 3600)), Some(Duration::from_secs(24 * 3600)), "at most a day");
        assert_eq!(retry_delay(8, Some(5)), None, "Retry-After adds no attempt");
    }
}
