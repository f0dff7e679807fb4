//! Reading the audit log; entries are written by each service inside its own transaction.

use serde_json::Value;
use uuid::Uuid;

use crate::db::{self, DbError};
use crate::error::AppResult;
use crate::models::{AuditAction, AuditEntry, NewAuditEntry};
use crate::models::{Page, PageRequest};
use crate::repositories::{GenericClient, audit};
use crate::services::access::{OrgActor, OrgRead, Principal};
use crate::state::AppState;

/// What an audit row is attributed to: the org it belongs to, who acted and from where.
#[derive(Clone, Copy, Debug)]
pub struct Attribution {
    /// The org whose log the row joins.
    pub org_id: Uuid,
    /// The acting user or API key; None for an anonymous act (declining an invitation by its link).
    pub actor_id: Option<Uuid>,
    /// What `actor_id` names: `user`, `api_key` or `client`.
    pub actor_type: &'static str,
    /// The acting client's address.
    pub ip: Option<std::net::IpAddr>,
}

impl From<&OrgActor> for Attribution {
    fn from(actor: &OrgActor) -> Self {
        let (actor_id, actor_type) = match &actor.principal {
            Principal::Member { user, .. } => (user.id, "user"),
            Principal::ApiKey { id, .. } => (*id, "api_key"),
            Principal::Client { id, .. } => (*id, "client"),
        };
        Attribution { org_id: actor.org_id, actor_id: Some(actor_id), actor_type, ip: actor.ip }
    }
}

/// Records what the actor did, in the caller's transaction.
pub async fn record(
    db: &impl GenericClient,
    actor: impl Into<Attribution>,
    action: AuditAction,
    target_id: Uuid,
    metadata: Value,
) -> Result<(), DbError> {
    let actor = actor.into();
    let entry = NewAuditEntry {
        org_id: Some(actor.org_id),
        actor_id: actor.actor_id,
        actor_type: actor.actor_type,
        action,
        target_id,
        metadata,
        ip: actor.ip,
    };
    queued(audit::insert(db, &entry).await?);
    Ok(())
}

/// Records an account's own event (no org), one row per target: who acted, from where, on
/// what.
pub async fn record_account(
    db: &impl GenericClient,
    actor_id: Uuid,
    ip: Option<std::net::IpAddr>,
    action: AuditAction,
    target_ids: &[Uuid],
    metadata: Value,
) -> Result<(), DbError> {
    let entry = NewAuditEntry {
        org_id: None,
        actor_id: Some(actor_id),
        actor_type: "user",
        action,
        target_id: Uuid::nil(),
        metadata,
        ip,
    };
    queued(audit::insert_each(db, &entry, target_ids).await?);
    Ok(())
}

/// Marks the request for a hand-off to the webhook sender when the change queued deliveries.
fn queued(deliveries: u64) {
    if deliveries > 0 {
        crate::webhooks::handoff::note_queued();
    }
}

/// The org's log, newest first.
pub async fn list(state: &AppState, access: &OrgRead, page: &PageRequest) -> AppResult<Page<AuditEntry>> {
    let before = access.checked(state, page.key::<Uuid>(0)).await?;
    let client = db::client(state.pool()).await?;
    let rows = access.with(audit::list(&client, access.org_id(), before, page.fetch())).await?;
    Ok(Page::from_rows(rows, page, |e| vec![e.id.to_string()]))
}
