//! An organization's email domains: claimed by members and machines holding `domains:manage`,
//! given an enrollment mode, and deleted. Proving a claim is `domain_checks`.

use serde_json::json;
use uuid::Uuid;

use crate::auth::tokens;
use crate::db;
use crate::domains::name::DomainName;
use crate::error::{AppError, AppResult, on_constraint};
use crate::models::{AuditAction, EnrollmentMode, OrgDomain, Page, PageRequest, Permission};
use crate::repositories::domains;
use crate::services::access::{OrgActor, OrgRead};
use crate::services::audit;
use crate::services::quotas;
use crate::state::AppState;

/// Most domains one organization may claim.
pub const MAX_PER_ORG: u32 = 20;

pub(crate) fn no_domain() -> AppError {
    AppError::NotFound("No such domain.".into())
}

/// The 409 for a domain another organization has proven.
pub(crate) fn held_elsewhere(domain: &str) -> AppError {
    AppError::Conflict(format!("Another organization has verified {domain}; a domain belongs to one organization."))
}

/// Claims a domain for the organization: the answer holds the TXT record to publish.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn create(state: &AppState, actor: &OrgActor, domain: DomainName) -> AppResult<OrgDomain> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::DomainsManage)?;
    let (existing, elsewhere) = tokio::try_join!(
        domains::count(&tx, actor.org_id),
        domains::verified_elsewhere(&tx, domain.as_str(), actor.org_id)
    )?;
    quotas::room_for_one("domains_per_org", existing, MAX_PER_ORG, "This organization's domains")?;
    if elsewhere {
        return Err(held_elsewhere(domain.as_str()));
    }
    let token = tokens::generate();
    let new = domains::NewClaim {
        id: Uuid::now_v7(),
        org_id: actor.org_id,
        domain: domain.as_str(),
        token: &token,
        created_by: actor.member().map(|u| u.id),
    };
    let claimed = domains::insert(&tx, &new)
        .await
        .map_err(on_constraint(domains::ONE_CLAIM, "This organization has already claimed this domain."))?;
    audit::record(&tx, actor, AuditAction::DomainCreated, claimed.id, json!({"domain": claimed.domain})).await?;
    tx.commit().await?;
    tracing::info!(domain_id = %claimed.id, "domain claimed");
    Ok(claimed)
}

/// The organization's domains, newest first.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn list(state: &AppState, access: &OrgRead, page: &PageRequest) -> AppResult<Page<OrgDomain>> {
    let before = access.checked(state, page.key::<Uuid>(0)).await?;
    let client = db::client(state.pool()).await?;
    let rows = access.with(domains::list(&client, access.org_id(), before, page.fetch())).await?;
    Ok(Page::from_rows(rows, page, |d| vec![d.id.to_string()]))
}

/// One of the organization's domains.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn get(state: &AppState, access: &OrgRead, id: Uuid) -> AppResult<OrgDomain> {
    let client = db::client(state.pool()).await?;
    access.with(domains::find(&client, access.org_id(), id)).await?.ok_or_else(no_domain)
}

/// Sets what the domain does for people at it once verified (a pending claim keeps it for then).
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn set_mode(state: &AppState, actor: &OrgActor, id: Uuid, mode: EnrollmentMode) -> AppResult<OrgDomain> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::DomainsManage)?;
    let before = domains::find(&tx, actor.org_id, id).await?.ok_or_else(no_domain)?;
    let after = domains::set_mode(&tx, actor.org_id, id, mode).await?.ok_or_else(no_domain)?;
    let metadata = json!({"domain": after.domain, "before": {"enrollment_mode": before.enrollment_mode},
                          "after": {"enrollment_mode": after.enrollment_mode}});
    audit::record(&tx, actor, AuditAction::DomainUpdated, id, metadata).await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes a domain: no one joins by it any more, and the invitations it made and nobody took
/// are refused when accepted.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn delete(state: &AppState, actor: &OrgActor, id: Uuid) -> AppResult<()> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::DomainsManage)?;
    let gone = domains::delete(&tx, actor.org_id, id).await?.ok_or_else(no_domain)?;
    audit::record(&tx, actor, AuditAction::DomainDeleted, id, json!({"domain": gone.domain})).await?;
    tx.commit().await?;
    tracing::info!(domain_id = %id, "domain deleted");
    Ok(())
}
