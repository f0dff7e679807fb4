//! An organization's OAuth clients (machine to machine): registered, listed, read, changed and
//! deleted, and their secrets added and removed.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use identity_shared::api::oauth_clients::{CreateClient, UpdateClient};
use identity_shared::api::problems::{Conflict, InvalidQuery, JsonBody, OrgRoute, QuotaSpent};
use identity_shared::api::users::PageParams;
use identity_shared::http::{
    ApiJson, ApiQuery, AppState, ClientPath, ClientSecretPath, OrgAccess, OrgToken, shown_once,
};
use identity_shared::models::{CreatedClient, CreatedSecret, OAuthClient, Page, Permission};
use identity_shared::services::oauth_clients::{self, Manager, Reader};
use identity_shared::{AppError, AppResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The client routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clients, create_client))
        .routes(routes!(get_client, update_client, delete_client))
        .routes(routes!(add_secret))
        .routes(routes!(remove_secret))
}

#[utoipa::path(
    get, path = "/orgs/{org}/clients", tag = "clients",
    params(("org" = Uuid, Path, description = "Organization id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first; secrets by hint only", body = Page<OAuthClient>),
        OrgRoute, InvalidQuery,
    ),
)]
async fn list_clients(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    params: Result<ApiQuery<PageParams>, AppError>,
) -> AppResult<Json<Page<OAuthClient>>> {
    let access = request.to_read(Permission::ApiKeysManage);
    let page = access.checked(&state, params.and_then(|ApiQuery(p)| p.check())).await?;
    Ok(Json(oauth_clients::list(&state, Reader::Org(&access), &page).await?))
}

#[utoipa::path(
    post, path = "/orgs/{org}/clients", tag = "clients", request_body = CreateClient,
    params(("org" = Uuid, Path, description = "Organization id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered; `client_secret` is shown this once (Cache-Control: no-store)", body = CreatedClient),
        JsonBody, OrgRoute, QuotaSpent,
    ),
)]
async fn create_client(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiJson(req): ApiJson<CreateClient>,
) -> AppResult<impl IntoResponse> {
    actor.require(Permission::ApiKeysManage)?;
    Ok(shown_once(oauth_clients::create(&state, Manager::Org(&actor), req.parse_machine()?).await?))
}

#[utoipa::path(
    get, path = "/orgs/{org}/clients/{client_id}", tag = "clients",
    params(("org" = Uuid, Path, description = "Organization id"), ("client_id" = Uuid, Path, description = "Client id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The client; secrets by hint only", body = OAuthClient), OrgRoute),
)]
async fn get_client(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    ClientPath(id): ClientPath,
) -> AppResult<Json<OAuthClient>> {
    let access = request.to_read(Permission::ApiKeysManage);
    Ok(Json(oauth_clients::get(&state, Reader::Org(&access), id).await?))
}

#[utoipa::path(
    patch, path = "/orgs/{org}/clients/{client_id}", tag = "clients", request_body = UpdateClient,
    params(("org" = Uuid, Path, description = "Organization id"), ("client_id" = Uuid, Path, description = "Client id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; its tokens act with no more than it holds from their next request", body = OAuthClient),
        JsonBody, OrgRoute, Conflict,
    ),
)]
async fn update_client(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ClientPath(id): ClientPath,
    ApiJson(req): ApiJson<UpdateClient>,
) -> AppResult<Json<OAuthClient>> {
    actor.require(Permission::ApiKeysManage)?;
    Ok(Json(oauth_clients::update(&state, Manager::Org(&actor), id, req.parse()?).await?))
}

#[utoipa::path(
    delete, path = "/orgs/{org}/clients/{client_id}", tag = "clients",
    params(("org" = Uuid, Path, description = "Organization id"), ("client_id" = Uuid, Path, description = "Client id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted; its secrets fail at once, its tokens on their next request"), OrgRoute),
)]
async fn delete_client(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ClientPath(id): ClientPath,
) -> AppResult<StatusCode> {
    actor.require(Permission::ApiKeysManage)?;
    oauth_clients::delete(&state, Manager::Org(&actor), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/orgs/{org}/clients/{client_id}/secrets", tag = "clients",
    params(("org" = Uuid, Path, description = "Organization id"), ("client_id" = Uuid, Path, description = "Client id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added; `client_secret` is shown this once. Both secrets work until you remove one", body = CreatedSecret),
        OrgRoute, Conflict,
    ),
)]
async fn add_secret(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ClientPath(id): ClientPath,
) -> AppResult<impl IntoResponse> {
    actor.require(Permission::ApiKeysManage)?;
    Ok(shown_once(oauth_clients::add_secret(&state, Manager::Org(&actor), id).await?))
}

#[utoipa::path(
    delete, path = "/orgs/{org}/clients/{client_id}/secrets/{secret_id}", tag = "clients",
    params(
        ("org" = Uuid, Path, description = "Organization id"),
        ("client_id" = Uuid, Path, description = "Client id"),
        ("secret_id" = Uuid, Path, description = "Secret id"),
    ),
    security(("bearer" = [])),
    responses((status = 204, description = "Removed; it fails from the next request"), OrgRoute, Conflict),
)]
async fn remove_secret(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ClientPath(id): ClientPath,
    ClientSecretPath(secret_id): ClientSecretPath,
) -> AppResult<StatusCode> {
    actor.require(Permission::ApiKeysManage)?;
    oauth_clients::remove_secret(&state, Manager::Org(&actor), id, secret_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
