//! An organization's single sign-on connections: its own OpenID Provider, connected (its
//! discovery checked), listed, read, changed (made active), tested and deleted.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use identity_shared::api::problems::{Conflict, InvalidQuery, JsonBody, OrgRoute, QuotaSpent};
use identity_shared::api::sso::{CreateConnection, UpdateConnection};
use identity_shared::api::users::PageParams;
use identity_shared::http::{ApiJson, ApiQuery, AppState, ConnectionPath, OrgAccess, OrgToken};
use identity_shared::models::{ConnectionTest, Page, Permission, SsoConnection};
use identity_shared::services::sso::connections;
use identity_shared::{AppError, AppResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The SSO connection routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_connections, create_connection))
        .routes(routes!(get_connection, update_connection, delete_connection))
        .routes(routes!(test_connection))
}

fn allow_local(state: &AppState) -> bool {
    state.config().sso.allow_local_providers
}

#[utoipa::path(
    get, path = "/orgs/{org}/sso/connections", tag = "sso",
    params(("org" = Uuid, Path, description = "Organization id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first; never a client secret", body = Page<SsoConnection>),
        OrgRoute, InvalidQuery,
    ),
)]
async fn list_connections(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    params: Result<ApiQuery<PageParams>, AppError>,
) -> AppResult<Json<Page<SsoConnection>>> {
    let access = request.to_read(Permission::SsoManage);
    let page = access.checked(&state, params.and_then(|ApiQuery(p)| p.check())).await?;
    Ok(Json(connections::list(&state, &access, &page).await?))
}

#[utoipa::path(
    post, path = "/orgs/{org}/sso/connections", tag = "sso", request_body = CreateConnection,
    params(("org" = Uuid, Path, description = "Organization id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Connected, inactive: register `redirect_uri` at the provider, test it, then make it active", body = SsoConnection),
        JsonBody, OrgRoute, QuotaSpent,
    ),
)]
async fn create_connection(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiJson(req): ApiJson<CreateConnection>,
) -> AppResult<(StatusCode, Json<SsoConnection>)> {
    actor.require(Permission::SsoManage)?;
    let new = req.parse(allow_local(&state))?;
    Ok((StatusCode::CREATED, Json(connections::create(&state, &actor, new).await?)))
}

#[utoipa::path(
    get, path = "/orgs/{org}/sso/connections/{connection_id}", tag = "sso",
    params(("org" = Uuid, Path, description = "Organization id"), ("connection_id" = Uuid, Path, description = "Connection id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The connection (never its client secret)", body = SsoConnection), OrgRoute),
)]
async fn get_connection(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    ConnectionPath(id): ConnectionPath,
) -> AppResult<Json<SsoConnection>> {
    let access = request.to_read(Permission::SsoManage);
    Ok(Json(connections::get(&state, &access, id).await?))
}

#[utoipa::path(
    patch, path = "/orgs/{org}/sso/connections/{connection_id}", tag = "sso", request_body = UpdateConnection,
    params(("org" = Uuid, Path, description = "Organization id"), ("connection_id" = Uuid, Path, description = "Connection id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; a new issuer was discovered and checked again", body = SsoConnection),
        JsonBody, OrgRoute, Conflict,
    ),
)]
async fn update_connection(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ConnectionPath(id): ConnectionPath,
    ApiJson(req): ApiJson<UpdateConnection>,
) -> AppResult<Json<SsoConnection>> {
    actor.require(Permission::SsoManage)?;
    let changes = req.parse(allow_local(&state))?;
    Ok(Json(connections::update(&state, &actor, id, changes).await?))
}

#[utoipa::path(
    delete, path = "/orgs/{org}/sso/connections/{connection_id}", tag = "sso",
    params(("org" = Uuid, Path, description = "Organization id"), ("connection_id" = Uuid, Path, description = "Connection id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted, with the identities it linked (their accounts stay)"), OrgRoute),
)]
async fn delete_connection(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ConnectionPath(id): ConnectionPath,
) -> AppResult<StatusCode> {
    actor.require(Permission::SsoManage)?;
    connections::delete(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/orgs/{org}/sso/connections/{connection_id}/test", tag = "sso",
    params(("org" = Uuid, Path, description = "Organization id"), ("connection_id" = Uuid, Path, description = "Connection id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Open `url` in a browser and sign in at the provider once: the page that follows shows what it sent and what a sign-in would do, and changes nothing", body = ConnectionTest),
        OrgRoute,
    ),
)]
async fn test_connection(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ConnectionPath(id): ConnectionPath,
) -> AppResult<Json<ConnectionTest>> {
    actor.require(Permission::SsoManage)?;
    Ok(Json(connections::test(&state, &actor, id).await?))
}
