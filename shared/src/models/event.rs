//! Events: what changed, for a reader of the feed or a webhook receiver, in the Standard
//! Webhooks envelope (`id`, `type`, `timestamp`, `data`) with the organization, the actor and
//! the sequence.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// The type of the event that checks a webhook endpoint; sent to that endpoint only.
pub const TEST_EVENT_TYPE: &str = "webhook.test";

/// Whether `name` is the type of an event changes write (a feed filter or an endpoint's
/// subscription may name it).
pub fn is_event_type(name: &str) -> bool {
    super::AuditAction::ALL.iter().any(|a| a.event_type() == name)
}

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct EventActor {
    /// `user`, `api_key`, `m2m_client` or `system`.
    #[serde(rename = "type")]
    pub actor_type: String,
    /// The user's, key's or client's id (null for the system).
    #[serde(rename = "id")]
    pub actor_id: Option<Uuid>,
}

/// One event.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct Event {
    /// `evt_` and a time-ordered id; a webhook delivery's `webhook-id`.
    #[schema(example = "evt_01a24dba735e7454a9e36b3134437775")]
    pub id: String,
    /// e.g. `organization_membership.created`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the change was made.
    pub timestamp: DateTime<Utc>,
    /// The organization it concerns (null for an account's own events).
    pub organization_id: Option<Uuid>,
    /// Who made it.
    #[from_row(flatten)]
    pub actor: EventActor,
    /// Its number, increasing within the transaction that wrote it.
    pub sequence: i64,
    /// Thin data: ids, names, roles, a user's email; never a secret, hash, token or address.
    #[schema(value_type = Object)]
    pub data: Value,
}

/// A page of the feed, oldest first.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    /// The events.
    pub items: Vec<Event>,
    /// Pass as `after` for the next page (the last event's id; the `after` given when the page
    /// is empty, so a poller keeps its place).
    pub after: Option<String>,
}
