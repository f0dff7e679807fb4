//! An organization's email domains: claimed, listed, read, given an enrollment mode, verified
//! by their DNS TXT record, and deleted.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use identity_shared::api::domains::{CreateDomain, UpdateDomain};
use identity_shared::api::problems::{Conflict, InvalidQuery, JsonBody, OrgRoute, QuotaSpent};
use identity_shared::api::users::PageParams;
use identity_shared::http::{ApiJson, ApiQuery, AppState, DomainPath, OrgAccess, OrgToken};
use identity_shared::models::{OrgDomain, Page, Permission};
use identity_shared::services::{domain_checks, domains};
use identity_shared::{AppError, AppResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The domain routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_domains, create_domain))
        .routes(routes!(get_domain, update_domain, delete_domain))
        .routes(routes!(verify_domain))
}

#[utoipa::path(
    get, path = "/orgs/{org}/domains", tag = "domains",
    params(("org" = Uuid, Path, description = "Organization id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first, each with the TXT record that proves it", body = Page<OrgDomain>),
        OrgRoute, InvalidQuery,
    ),
)]
async fn list_domains(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    params: Result<ApiQuery<PageParams>, AppError>,
) -> AppResult<Json<Page<OrgDomain>>> {
    let access = request.to_read(Permission::OrgRead);
    let page = access.checked(&state, params.and_then(|ApiQuery(p)| p.check())).await?;
    Ok(Json(domains::list(&state, &access, &page).await?))
}

#[utoipa::path(
    post, path = "/orgs/{org}/domains", tag = "domains", request_body = CreateDomain,
    params(("org" = Uuid, Path, description = "Organization id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Claimed, pending for 30 days: publish `verification` (a TXT record) and call verify", body = OrgDomain),
        JsonBody, OrgRoute, Conflict, QuotaSpent,
    ),
)]
async fn create_domain(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiJson(req): ApiJson<CreateDomain>,
) -> AppResult<(StatusCode, Json<OrgDomain>)> {
    actor.require(Permission::DomainsManage)?;
    let domain = req.parse()?;
    Ok((StatusCode::CREATED, Json(domains::create(&state, &actor, domain).await?)))
}

#[utoipa::path(
    get, path = "/orgs/{org}/domains/{domain_id}", tag = "domains",
    params(("org" = Uuid, Path, description = "Organization id"), ("domain_id" = Uuid, Path, description = "Domain id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The domain, its state and the TXT record that proves it", body = OrgDomain), OrgRoute),
)]
async fn get_domain(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    DomainPath(id): DomainPath,
) -> AppResult<Json<OrgDomain>> {
    let access = request.to_read(Permission::OrgRead);
    Ok(Json(domains::get(&state, &access, id).await?))
}

#[utoipa::path(
    patch, path = "/orgs/{org}/domains/{domain_id}", tag = "domains", request_body = UpdateDomain,
    params(("org" = Uuid, Path, description = "Organization id"), ("domain_id" = Uuid, Path, description = "Domain id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Its enrollment mode is set (it applies once the domain is verified)", body = OrgDomain),
        JsonBody, OrgRoute,
    ),
)]
async fn update_domain(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    DomainPath(id): DomainPath,
    ApiJson(req): ApiJson<UpdateDomain>,
) -> AppResult<Json<OrgDomain>> {
    actor.require(Permission::DomainsManage)?;
    let mode = req.parse()?;
    Ok(Json(domains::set_mode(&state, &actor, id, mode).await?))
}

#[utoipa::path(
    delete, path = "/orgs/{org}/domains/{domain_id}", tag = "domains",
    params(("org" = Uuid, Path, description = "Organization id"), ("domain_id" = Uuid, Path, description = "Domain id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted: no one joins by it any more"), OrgRoute),
)]
async fn delete_domain(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    DomainPath(id): DomainPath,
) -> AppResult<StatusCode> {
    actor.require(Permission::DomainsManage)?;
    domains::delete(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/orgs/{org}/domains/{domain_id}/verify", tag = "domains",
    params(("org" = Uuid, Path, description = "Organization id"), ("domain_id" = Uuid, Path, description = "Domain id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Looked up now: `verified`, or still `pending` with `last_error` saying why (no record, no exact match, or a lookup that failed)", body = OrgDomain),
        OrgRoute, Conflict,
    ),
)]
async fn verify_domain(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    DomainPath(id): DomainPath,
) -> AppResult<Json<OrgDomain>> {
    actor.require(Permission::DomainsManage)?;
    Ok(Json(domain_checks::verify(&state, &actor, id).await?))
}
