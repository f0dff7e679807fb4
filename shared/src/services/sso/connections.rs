//! An organization's connections to its identity provider, managed by members and machines
//! holding `sso:manage`: each new issuer's discovery document is fetched (under the outbound
//! rules, before any transaction opens) and checked; the client secret is sealed; a connection
//! is made active only while the organization holds a verified domain, one at a time.

use secrecy::ExposeSecret;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db;
use crate::error::{AppError, AppResult, FieldError, on_constraint};
use crate::models::{
    AuditAction, ConnectionChanges, ConnectionStatus, ConnectionTest, NewConnection, Page, PageRequest, Permission,
    SsoConnection,
};
use crate::repositories::sso::{self as rows, ConnectionRow};
use crate::services::access::{OrgActor, OrgRead};
use crate::services::{audit, quotas};
use crate::sso::metadata::discover;
use crate::state::AppState;

use super::{secret_context, shown, sign_in};

/// Most connections one organization may have.
pub const MAX_PER_ORG: u32 = 5;

pub(crate) fn no_connection() -> AppError {
    AppError::NotFound("No such SSO connection.".into())
}

/// The provider's discovery, or a 422 on `issuer` saying what is wrong with it.
async fn discovered(state: &AppState, issuer: &str) -> AppResult<crate::models::ProviderMetadata> {
    let egress = state.sso_egress().await?;
    discover(egress, issuer).await.map_err(|why| AppError::Validation(vec![FieldError::new("issuer", why.0)]))
}

/// Connects the organization's identity provider (inactive until made active).
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn create(state: &AppState, actor: &OrgActor, new: NewConnection) -> AppResult<SsoConnection> {
    actor.require(Permission::SsoManage)?;
    let sealer = state.sealer()?.clone();
    let metadata = discovered(state, &new.issuer).await?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::SsoManage)?;
    let existing = rows::count(&tx, actor.org_id).await?;
    quotas::room_for_one("sso_connections_per_org", existing, MAX_PER_ORG, "This organization's SSO connections")?;
    let id = Uuid::now_v7();
    let sealed = sealer.seal(new.client_secret.expose_secret().as_bytes(), &secret_context(id));
    let row = rows::insert(
        &tx,
        &rows::NewConnection {
            id,
            org_id: actor.org_id,
            name: &new.name,
            issuer: &new.issuer,
            client_id: &new.client_id,
            client_secret_sealed: &sealed,
            scopes: &new.scopes,
            metadata: &metadata,
            sso_required: new.sso_required,
            idp_enforces_mfa: new.idp_enforces_mfa,
            created_by: actor.member().map(|u| u.id),
        },
    )
    .await?;
    audit::record(&tx, actor, AuditAction::SsoConnectionCreated, id, settings(&row)).await?;
    tx.commit().await?;
    tracing::info!(connection_id = %id, "SSO connection created");
    Ok(shown(state, row))
}

/// What the log says of a connection's settings: never its secret.
fn settings(row: &ConnectionRow) -> Value {
    json!({"name": row.name, "issuer": row.issuer, "client_id": row.client_id, "scopes": row.scopes,
           "status": row.status, "sso_required": row.sso_required, "idp_enforces_mfa": row.idp_enforces_mfa})
}

/// The organization's connections, newest first.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn list(state: &AppState, access: &OrgRead, page: &PageRequest) -> AppResult<Page<SsoConnection>> {
    let before = access.checked(state, page.key::<Uuid>(0)).await?;
    let client = db::client(state.pool()).await?;
    let rows = access.with(rows::list(&client, access.org_id(), before, page.fetch())).await?;
    let page = Page::from_rows(rows, page, |c| vec![c.id.to_string()]);
    Ok(page.map(|row| shown(state, row)))
}

/// One of the organization's connections.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn get(state: &AppState, access: &OrgRead, id: Uuid) -> AppResult<SsoConnection> {
    let client = db::client(state.pool()).await?;
    let row = access.with(rows::find(&client, access.org_id(), id)).await?.ok_or_else(no_connection)?;
    Ok(shown(state, row))
}

/// Changes a connection; a new issuer is discovered again, `active` needs a verified domain
/// and no other active connection.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn update(
    state: &AppState,
    actor: &OrgActor,
    id: Uuid,
    changes: ConnectionChanges,
) -> AppResult<SsoConnection> {
    actor.require(Permission::SsoManage)?;
    let metadata = match &changes.issuer {
        Some(issuer) => Some(discovered(state, issuer).await?),
        None => None,
    };
    let sealed = match &changes.client_secret {
        Some(secret) => Some(state.sealer()?.seal(secret.expose_secret().as_bytes(), &secret_context(id))),
        None => None,
    };
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::SsoManage)?;
    let before = rows::find(&tx, actor.org_id, id).await?.ok_or_else(no_connection)?;
    if changes.status == Some(ConnectionStatus::Active) && !rows::has_verified_domain(&tx, actor.org_id).await? {
        return Err(AppError::Validation(vec![FieldError::new(
            "status",
            "the organization has no verified domain: verify one (POST /orgs/{org}/domains) before making a connection active",
        )]));
    }
    let issuer = match (&changes.issuer, &metadata) {
        (Some(issuer), Some(m)) => Some((issuer.as_str(), m)),
        _ => None,
    };
    let set = rows::Changes {
        name: changes.name.as_deref(),
        client_id: changes.client_id.as_deref(),
        client_secret_sealed: sealed,
        scopes: changes.scopes.clone(),
        sso_required: changes.sso_required,
        idp_enforces_mfa: changes.idp_enforces_mfa,
        status: changes.status,
        issuer,
    };
    let after = rows::update(&tx, actor.org_id, id, &set)
        .await
        .map_err(on_constraint(
            rows::ONE_ACTIVE,
            "Another connection of this organization is active: make it inactive first (one active connection per organization).",
        ))?
        .ok_or_else(no_connection)?;
    let mut metadata = json!({"before": settings(&before), "after": settings(&after)});
    if changes.client_secret.is_some() {
        metadata["client_secret_changed"] = json!(true);
    }
    audit::record(&tx, actor, AuditAction::SsoConnectionUpdated, id, metadata).await?;
    tx.commit().await?;
    Ok(shown(state, after))
}

/// Deletes a connection and the identities it linked (their accounts stay).
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn delete(state: &AppState, actor: &OrgActor, id: Uuid) -> AppResult<()> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::SsoManage)?;
    let gone = rows::delete(&tx, actor.org_id, id).await?.ok_or_else(no_connection)?;
    audit::record(&tx, actor, AuditAction::SsoConnectionDeleted, id, settings(&gone)).await?;
    tx.commit().await?;
    tracing::info!(connection_id = %id, "SSO connection deleted");
    Ok(())
}

/// Starts a test of a connection (active or not): a provider sign-in for the admin to open,
/// whose callback shows what the provider sent and what a sign-in would do, changing nothing.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn test(state: &AppState, actor: &OrgActor, id: Uuid) -> AppResult<ConnectionTest> {
    actor.require(Permission::SsoManage)?;
    let client = db::client(state.pool()).await?;
    let row = rows::find(&client, actor.org_id, id).await?.ok_or_else(no_connection)?;
    drop(client);
    let begun = sign_in::begin(state, &row, sign_in::Purpose::Test { by: actor.member().map(|u| u.id) }, None).await?;
    Ok(ConnectionTest { url: begun.url, expires_at: begun.expires_at })
}
