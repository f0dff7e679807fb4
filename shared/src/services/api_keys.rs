//! An organization's API keys: made, renamed, re-permissioned, rotated and revoked by those
//! holding `api_keys:manage`, never with more than the maker holds. The value is shown once.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::auth::machine_secret::{self, SecretKind};
use crate::auth::tokens;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::models::{ApiKey, AuditAction, CreatedApiKey, Page, PageRequest, Permission, PermissionSet};
use crate::repositories::GenericClient;
use crate::repositories::api_keys::{self, NewApiKey};
use crate::services::access::{OrgActor, OrgRead};
use crate::services::audit;
use crate::services::quotas;
use crate::state::AppState;

/// Most keys that work at once in one organization.
pub const MAX_ACTIVE_PER_ORG: u32 = 50;

/// A checked key to make.
#[derive(Debug)]
pub struct NewKey {
    /// Its name.
    pub name: String,
    /// What it may do.
    pub permissions: PermissionSet,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Checked changes to a key, at least one.
#[derive(Debug)]
pub struct KeyChanges {
    /// A new name.
    pub name: Option<String>,
    /// New permissions.
    pub permissions: Option<PermissionSet>,
}

/// A checked rotation.
#[derive(Debug)]
pub struct Rotation {
    /// How long the old key keeps working.
    pub overlap_secs: i64,
}

fn no_key() -> AppError {
    AppError::NotFound("No such API key.".into())
}

/// Makes a key with permissions the actor holds; its value is in the answer only.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn create(state: &AppState, actor: &OrgActor, req: NewKey) -> AppResult<CreatedApiKey> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::ApiKeysManage)?;
    actor.require_all(&req.permissions, "An API key with these permissions")?;
    // Counted under the organization's lock, which every key write takes.
    let active = api_keys::count_active(&tx, actor.org_id).await?;
    quotas::room_for_one("api_keys_per_org", active, MAX_ACTIVE_PER_ORG, "This organization's active API keys")?;
    let created = insert(&tx, actor, &req.name, &req.permissions, req.expires_at).await?;
    let metadata = json!({"name": req.name, "permissions": req.permissions.names(), "expires_at": req.expires_at});
    audit::record(&tx, actor, AuditAction::ApiKeyCreated, created.key.id, metadata).await?;
    tx.commit().await?;
    tracing::info!(org_id = %actor.org_id, api_key_id = %created.key.id, "API key created");
    Ok(created)
}

/// Stores a new key and answers it with its value.
async fn insert(
    db: &impl GenericClient,
    actor: &OrgActor,
    name: &str,
    permissions: &PermissionSet,
    expires_at: Option<DateTime<Utc>>,
) -> AppResult<CreatedApiKey> {
    let value = machine_secret::generate(SecretKind::ApiKey);
    let new = NewApiKey {
        id: Uuid::now_v7(),
        org_id: actor.org_id,
        name,
        permissions: &permissions.names(),
        secret_hash: &tokens::hash(&value),
        hint: &machine_secret::hint(&value),
        created_by: actor.user_id(),
        expires_at,
    };
    let key = api_keys::insert(db, &new).await?;
    Ok(CreatedApiKey { key, value })
}

/// The org's keys, newest first, revoked and expired ones too.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn list(state: &AppState, access: &OrgRead, page: &PageRequest) -> AppResult<Page<ApiKey>> {
    let before = access.checked(state, page.key::<Uuid>(0)).await?;
    let client = db::client(state.pool()).await?;
    let rows = access.with(api_keys::list(&client, access.org_id(), before, page.fetch())).await?;
    Ok(Page::from_rows(rows, page, |k| vec![k.id.to_string()]))
}

/// One of the org's keys.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn get(state: &AppState, access: &OrgRead, id: Uuid) -> AppResult<ApiKey> {
    let client = db::client(state.pool()).await?;
    access.with(api_keys::find(&client, access.org_id(), id)).await?.ok_or_else(no_key)
}

/// Renames a key or replaces its permissions (never with more than the actor holds).
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn update(state: &AppState, actor: &OrgActor, id: Uuid, changes: KeyChanges) -> AppResult<ApiKey> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::ApiKeysManage)?;
    let before = api_keys::find(&tx, actor.org_id, id).await?.ok_or_else(no_key)?;
    // Changing a key means holding what it holds now as well as what it will hold.
    actor.require_all(&PermissionSet::from_names(&before.permissions), "Changing this API key")?;
    if let Some(permissions) = &changes.permissions {
        actor.require_all(permissions, "An API key with these permissions")?;
    }
    let name = changes.name.as_deref().unwrap_or(&before.name);
    let permissions =
        changes.permissions.as_ref().map(PermissionSet::names).unwrap_or_else(|| before.permissions.clone());
    let after = api_keys::update(&tx, actor.org_id, id, name, &permissions).await?.ok_or_else(key_revoked)?;
    let metadata = json!({
        "before": {"name": before.name, "permissions": before.permissions},
        "after": {"name": after.name, "permissions": after.permissions},
    });
    audit::record(&tx, actor, AuditAction::ApiKeyUpdated, id, metadata).await?;
    tx.commit().await?;
    Ok(after)
}

fn key_revoked() -> AppError {
    AppError::Conflict("This API key is revoked; make a new one.".into())
}

/// Revokes a key: its next request is refused.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn revoke(state: &AppState, actor: &OrgActor, id: Uuid) -> AppResult<()> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::ApiKeysManage)?;
    let before = api_keys::find(&tx, actor.org_id, id).await?.ok_or_else(no_key)?;
    actor.require_all(&PermissionSet::from_names(&before.permissions), "Revoking this API key")?;
    if api_keys::revoke(&tx, actor.org_id, id).await?.is_none() {
        return Err(key_revoked());
    }
    audit::record(&tx, actor, AuditAction::ApiKeyRevoked, id, json!({"name": before.name})).await?;
    tx.commit().await?;
    tracing::info!(org_id = %actor.org_id, api_key_id = %id, "API key revoked");
    Ok(())
}

/// Makes a new key with the old one's name, permissions and expiry; the old one keeps working
/// for the overlap (never past its own expiry). A key is rotated once: rotate its heir next.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn rotate(state: &AppState, actor: &OrgActor, id: Uuid, rotation: Rotation) -> AppResult<CreatedApiKey> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::ApiKeysManage)?;
    let old = api_keys::find(&tx, actor.org_id, id).await?.ok_or_else(no_key)?;
    let permissions = PermissionSet::from_names(&old.permissions);
    actor.require_all(&permissions, "Rotating this API key")?;
    let created = insert(&tx, actor, &old.name, &permissions, old.expires_at).await?;
    let overlap = rotation.overlap_secs as f64;
    api_keys::retire(&tx, actor.org_id, id, created.key.id, overlap).await?.ok_or_else(|| {
        AppError::Conflict(
            "This API key is revoked, expired or already rotated; rotate the key that replaced it.".into(),
        )
    })?;
    let metadata = json!({"name": old.name, "replaced_by": created.key.id, "overlap_seconds": rotation.overlap_secs});
    audit::record(&tx, actor, AuditAction::ApiKeyRotated, id, metadata).await?;
    tx.commit().await?;
    Ok(created)
}
