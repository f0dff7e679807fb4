//! Audit log entries.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// One recorded change.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct AuditEntry {
    /// UUIDv7; entries sort by it.
    pub id: Uuid,
    /// The org it concerns.
    pub org_id: Option<Uuid>,
    /// Who did it.
    pub actor_id: Option<Uuid>,
    /// e.g. `member.roles_changed`.
    pub action: String,
    /// e.g. `member`, `role`, `organization`.
    pub target_type: String,
    /// The changed object's id.
    pub target_id: Option<Uuid>,
    /// Details: before/after values, names.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// The actor's address.
    #[schema(value_type = Option<String>, example = "203.0.113.10")]
    pub ip: Option<IpAddr>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A change to record, written in the same transaction as the change.
#[derive(Clone, Debug)]
pub struct NewAuditEntry<'a> {
    /// The org it concerns; None for an account's own events (sessions, email, deletion).
    pub org_id: Option<Uuid>,
    /// Who did it; None for an anonymous caller (declining an invitation by its token).
    pub actor_id: Option<Uuid>,
    /// The action name.
    pub action: &'a str,
    /// The kind of object changed.
    pub target_type: &'a str,
    /// Its id.
    pub target_id: Uuid,
    /// Details.
    pub metadata: serde_json::Value,
    /// The actor's address.
    pub ip: Option<IpAddr>,
}
