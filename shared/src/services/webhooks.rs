//! Webhook endpoints: made, changed, rotated, tested and deleted by an organization's members
//! and machines holding `webhooks:manage` (that organization's events), or by platform admins
//! (every event). The signing secret is shown once and kept sealed.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::sealed::Sealer;
use crate::db;
use crate::egress::target::Target;
use crate::error::{AppError, AppResult};
use crate::models::{
    AuditAction, CreatedWebhookEndpoint, Page, PageRequest, Permission, RotatedWebhookSecret, WebhookDelivery,
    WebhookEndpoint,
};
use crate::repositories::webhooks::{self, EndpointFields, NewEndpoint};
use crate::repositories::{GenericClient, webhook_deliveries};
use crate::services::ownership::{Decided, Manager, Reader};
use crate::services::quotas;
use crate::state::AppState;
use crate::webhooks::handoff;
use crate::webhooks::signature;

/// Most endpoints of one organization.
pub const MAX_PER_ORG: u32 = 10;
/// Most endpoints of the platform.
pub const MAX_PLATFORM: u32 = 50;

/// A checked endpoint to make.
#[derive(Debug)]
pub struct NewWebhook {
    /// The receiver.
    pub target: Target,
    /// What it is for.
    pub description: String,
    /// The types it takes (empty: all).
    pub event_types: Vec<String>,
}

/// Checked changes to an endpoint, at least one.
#[derive(Debug, Default)]
pub struct WebhookChanges {
    /// A new receiver.
    pub target: Option<Target>,
    /// A new description.
    pub description: Option<String>,
    /// New types.
    pub event_types: Option<Vec<String>>,
    /// Enable or disable it.
    pub enabled: Option<bool>,
}

/// How long the old secret keeps signing after a rotation.
#[derive(Debug)]
pub struct SecretRotation {
    /// Seconds.
    pub overlap_secs: i64,
}

fn no_endpoint() -> AppError {
    AppError::NotFound("No such webhook endpoint.".into())
}

/// What the sealed secret of row `id` is bound to.
pub fn secret_context(id: Uuid) -> Vec<u8> {
    [b"webhook_secret:".as_slice(), id.as_bytes()].concat()
}

/// The receiver's origin (scheme, host, port): what the audit log and events say of a URL,
/// whose path or query may carry a receiver's own secret.
pub(crate) fn origin(url: &str) -> String {
    url::Url::parse(url).map(|u| u.origin().ascii_serialization()).unwrap_or_default()
}

/// Makes an endpoint; its signing secret is in the answer only.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn create(state: &AppState, manager: Manager<'_>, req: NewWebhook) -> AppResult<CreatedWebhookEndpoint> {
    let sealer = state.sealer()?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let decided = Decided::under_lock(manager, &tx, Permission::WebhooksManage).await?;
    let owner = decided.owner();
    let existing = webhooks::count(&tx, owner).await?;
    match owner {
        Some(_) => {
            quotas::room_for_one("webhooks_per_org", existing, MAX_PER_ORG, "This organization's webhook endpoints")?
        }
        None => quotas::room_for_one("webhooks_platform", existing, MAX_PLATFORM, "The platform's webhook endpoints")?,
    }
    let new = NewEndpoint {
        id: Uuid::now_v7(),
        org_id: owner,
        url: req.target.url.as_str(),
        description: &req.description,
        event_types: &req.event_types,
        created_by: decided.created_by(),
    };
    let endpoint = webhooks::insert(&tx, &new).await?;
    let secret = add_secret(&tx, sealer, endpoint.id).await?;
    let metadata = json!({"url": origin(&endpoint.url), "event_types": endpoint.event_types});
    decided.record(&tx, AuditAction::WebhookEndpointCreated, endpoint.id, metadata).await?;
    tx.commit().await?;
    tracing::info!(webhook_endpoint_id = %endpoint.id, "webhook endpoint created");
    Ok(CreatedWebhookEndpoint { endpoint, secret })
}

/// Makes, seals and stores a new current secret; answers it.
async fn add_secret(db: &impl GenericClient, sealer: &Sealer, endpoint_id: Uuid) -> AppResult<String> {
    let secret = signature::generate_secret();
    let id = Uuid::now_v7();
    webhooks::insert_secret(db, id, endpoint_id, &sealer.seal(secret.as_bytes(), &secret_context(id))).await?;
    Ok(secret)
}

/// The owner's endpoints, newest first.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn list(state: &AppState, reader: Reader<'_>, page: &PageRequest) -> AppResult<Page<WebhookEndpoint>> {
    let rows = match reader {
        Reader::Org(access) => {
            let before = access.checked(state, page.key::<Uuid>(0)).await?;
            let client = db::client(state.pool()).await?;
            access.with(webhooks::list(&client, Some(access.org_id()), before, page.fetch())).await?
        }
        Reader::Platform => {
            let before = page.key::<Uuid>(0)?;
            let client = db::client(state.pool()).await?;
            webhooks::list(&client, None, before, page.fetch()).await?
        }
    };
    Ok(Page::from_rows(rows, page, |w| vec![w.id.to_string()]))
}

/// One of the owner's endpoints.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn get(state: &AppState, reader: Reader<'_>, id: Uuid) -> AppResult<WebhookEndpoint> {
    let client = db::client(state.pool()).await?;
    let found = match reader {
        Reader::Org(access) => access.with(webhooks::find(&client, Some(access.org_id()), id)).await?,
        Reader::Platform => webhooks::find(&client, None, id).await?,
    };
    found.ok_or_else(no_endpoint)
}

/// Changes an endpoint. Disabling it stops its pending deliveries; enabling it again starts
/// its failing count afresh.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn update(
    state: &AppState,
    manager: Manager<'_>,
    id: Uuid,
    changes: WebhookChanges,
) -> AppResult<WebhookEndpoint> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let decided = Decided::under_lock(manager, &tx, Permission::WebhooksManage).await?;
    let before = webhooks::find(&tx, decided.owner(), id).await?.ok_or_else(no_endpoint)?;
    let fields = EndpointFields {
        url: changes.target.as_ref().map_or(before.url.as_str(), |t| t.url.as_str()),
        description: changes.description.as_deref().unwrap_or(&before.description),
        event_types: changes.event_types.as_deref().unwrap_or(&before.event_types),
        enabled: changes.enabled.unwrap_or(before.enabled),
    };
    let after = webhooks::update(&tx, decided.owner(), id, &fields).await?.ok_or_else(no_endpoint)?;
    if before.enabled && !after.enabled {
        webhook_deliveries::fail_pending(&tx, id).await?;
    }
    decided.record(&tx, AuditAction::WebhookEndpointUpdated, id, changed(&before, &after)).await?;
    tx.commit().await?;
    Ok(after)
}

/// What an update changed, as the audit log and the event show it.
fn changed(before: &WebhookEndpoint, after: &WebhookEndpoint) -> Value {
    let side = |w: &WebhookEndpoint| json!({"url": origin(&w.url), "description": w.description, "event_types": w.event_types, "enabled": w.enabled});
    json!({"before": side(before), "after": side(after)})
}

/// Deletes an endpoint, its secrets and its deliveries.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn delete(state: &AppState, manager: Manager<'_>, id: Uuid) -> AppResult<()> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let decided = Decided::under_lock(manager, &tx, Permission::WebhooksManage).await?;
    let before = webhooks::find(&tx, decided.owner(), id).await?.ok_or_else(no_endpoint)?;
    webhooks::delete(&tx, decided.owner(), id).await?;
    decided.record(&tx, AuditAction::WebhookEndpointDeleted, id, json!({"url": origin(&before.url)})).await?;
    tx.commit().await?;
    tracing::info!(webhook_endpoint_id = %id, "webhook endpoint deleted");
    Ok(())
}

/// Gives an endpoint a new signing secret; the old one signs beside it until the overlap ends
/// (a secret an earlier rotation left signing stops at once).
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn rotate_secret(
    state: &AppState,
    manager: Manager<'_>,
    id: Uuid,
    rotation: SecretRotation,
) -> AppResult<RotatedWebhookSecret> {
    let sealer = state.sealer()?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let decided = Decided::under_lock(manager, &tx, Permission::WebhooksManage).await?;
    webhooks::find(&tx, decided.owner(), id).await?.ok_or_else(no_endpoint)?;
    let ends = webhooks::retire_secrets(&tx, id, rotation.overlap_secs as f64)
        .await?
        .ok_or_else(|| AppError::bug("a webhook endpoint without a current secret"))?;
    let secret = add_secret(&tx, sealer, id).await?;
    let metadata = json!({"overlap_seconds": rotation.overlap_secs, "previous_secret_expires_at": ends});
    decided.record(&tx, AuditAction::WebhookEndpointSecretRotated, id, metadata).await?;
    tx.commit().await?;
    Ok(RotatedWebhookSecret { secret, previous_secret_expires_at: ends })
}

/// Queues a `webhook.test` event for one enabled endpoint; the sender delivers it as any other.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn test(state: &AppState, manager: Manager<'_>, id: Uuid) -> AppResult<WebhookDelivery> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let decided = Decided::under_lock(manager, &tx, Permission::WebhooksManage).await?;
    let endpoint = webhooks::find(&tx, decided.owner(), id).await?.ok_or_else(no_endpoint)?;
    if !endpoint.enabled {
        return Err(AppError::Conflict("This webhook endpoint is disabled; enable it to test it.".into()));
    }
    let delivery = webhook_deliveries::queue_test(&tx, decided.owner(), id, decided.event_actor()).await?;
    tx.commit().await?;
    handoff::note_queued();
    Ok(delivery)
}

/// An endpoint's deliveries, newest first.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn deliveries(
    state: &AppState,
    reader: Reader<'_>,
    endpoint_id: Uuid,
    page: &PageRequest,
) -> AppResult<Page<WebhookDelivery>> {
    get(state, reader, endpoint_id).await?;
    let client = db::client(state.pool()).await?;
    let rows = match reader {
        Reader::Org(access) => {
            let before = access.checked(state, page.key::<Uuid>(0)).await?;
            let list = webhook_deliveries::list(&client, Some(access.org_id()), endpoint_id, before, page.fetch());
            access.with(list).await?
        }
        Reader::Platform => {
            webhook_deliveries::list(&client, None, endpoint_id, page.key::<Uuid>(0)?, page.fetch()).await?
        }
    };
    Ok(Page::from_rows(rows, page, |d| vec![d.id.to_string()]))
}

/// Queues a delivered or failed delivery again, due now, with the same event (and so the
/// same `webhook-id`).
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn retry(state: &AppState, manager: Manager<'_>, endpoint_id: Uuid, id: Uuid) -> AppResult<WebhookDelivery> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let decided = Decided::under_lock(manager, &tx, Permission::WebhooksManage).await?;
    let endpoint = webhooks::find(&tx, decided.owner(), endpoint_id).await?.ok_or_else(no_endpoint)?;
    let delivery = webhook_deliveries::find(&tx, decided.owner(), endpoint_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such delivery.".into()))?;
    if delivery.status == "pending" {
        return Err(AppError::Conflict("This delivery is already queued; it is tried at its next_attempt_at.".into()));
    }
    if !endpoint.enabled {
        return Err(AppError::Conflict("This webhook endpoint is disabled; enable it to retry a delivery.".into()));
    }
    let queued = webhook_deliveries::retry(&tx, decided.owner(), endpoint_id, id)
        .await?
        .ok_or_else(|| AppError::Conflict("This delivery is already queued.".into()))?;
    tx.commit().await?;
    handoff::note_queued();
    Ok(queued)
}
