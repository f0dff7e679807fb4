//! Webhook endpoints (where events are pushed) and their deliveries (the outbox's rows).

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A webhook endpoint as reads show it: never a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct WebhookEndpoint {
    /// UUIDv7.
    pub id: Uuid,
    /// The organization whose events it receives; null for a platform endpoint (every event).
    pub org_id: Option<Uuid>,
    /// Where events are POSTed.
    #[schema(example = "https://hooks.example.com/identity")]
    pub url: String,
    /// What its owner calls it.
    pub description: String,
    /// The event types it receives; empty: every type, including types added later.
    #[schema(example = json!(["organization_membership.created", "organization_membership.deleted"]))]
    pub event_types: Vec<String>,
    /// Whether deliveries are sent.
    pub enabled: bool,
    /// Why it is disabled: `manual`, `gone` (the receiver answered 410) or `failing` (five days
    /// of failed attempts).
    pub disabled_reason: Option<String>,
    /// When its current run of failed attempts began (null once one is delivered).
    pub failing_since: Option<DateTime<Utc>>,
    /// When the secret a rotation replaced stops signing (null outside a rotation's overlap).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// The member who made it.
    pub created_by: Option<Uuid>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// An endpoint just made: its signing secret, shown this once.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedWebhookEndpoint {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// The signing secret your receiver verifies `webhook-signature` with; never shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

/// A rotation's new secret, shown this once.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RotatedWebhookSecret {
    /// The new signing secret; deliveries are signed with it from now on.
    pub secret: String,
    /// Until when the old secret also signs (each delivery then carries both signatures).
    pub previous_secret_expires_at: DateTime<Utc>,
}

/// One event's delivery to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct WebhookDelivery {
    /// UUIDv7.
    pub id: Uuid,
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// The event, also each attempt's `webhook-id`.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// `pending` (an attempt is due at `next_attempt_at`), `delivered` or `failed` (no more
    /// attempts).
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the last attempt was made.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's status on the last attempt (never its body).
    pub last_http_status: Option<i32>,
    /// Why the last attempt failed: `timeout`, `dns_failed`, `dns_refused`, `connect_failed`,
    /// `tls_failed`, `connection_failed`, `http_status`, `endpoint_disabled`.
    pub last_error: Option<String>,
    /// How long the last attempt took, in milliseconds.
    pub last_duration_ms: Option<i32>,
    /// When the event was queued for this endpoint.
    pub created_at: DateTime<Utc>,
}
