//! The platform's own OAuth clients (for the product's back end), managed by platform
//! administrators: the same routes as an organization's clients, under /oauth2/clients.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use identity_shared::AppResult;
use identity_shared::api::oauth_clients::{CreateClient, UpdateClient};
use identity_shared::api::problems::{Conflict, Forbidden, InvalidQuery, JsonBody, OrgRoute, QuotaSpent, SignedIn};
use identity_shared::api::users::PageParams;
use identity_shared::http::{
    ApiJson, ApiQuery, AppState, Client, ClientPath, ClientSecretPath, PlatformAdmin, shown_once,
};
use identity_shared::models::{CreatedClient, CreatedSecret, OAuthClient, Page};
use identity_shared::services::oauth_clients::{self, Manager, Reader};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The platform client routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clients, create_client))
        .routes(routes!(get_client, update_client, delete_client))
        .routes(routes!(add_secret))
        .routes(routes!(remove_secret))
}

#[utoipa::path(
    get, path = "/oauth2/clients", tag = "admin",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The platform's clients, newest first; secrets by hint only", body = Page<OAuthClient>),
        SignedIn, Forbidden, InvalidQuery,
    ),
)]
async fn list_clients(
    State(state): State<AppState>,
    PlatformAdmin(_): PlatformAdmin,
    ApiQuery(params): ApiQuery<PageParams>,
) -> AppResult<Json<Page<OAuthClient>>> {
    Ok(Json(oauth_clients::list(&state, Reader::Platform, &params.check()?).await?))
}

#[utoipa::path(
    post, path = "/oauth2/clients", tag = "admin", request_body = CreateClient,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered; `client_secret` is shown this once (Cache-Control: no-store)", body = CreatedClient),
        JsonBody, SignedIn, Forbidden, QuotaSpent,
    ),
)]
async fn create_client(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    ApiJson(req): ApiJson<CreateClient>,
) -> AppResult<impl IntoResponse> {
    let manager = Manager::Platform(&admin, client.ip);
    Ok(shown_once(oauth_clients::create(&state, manager, req.parse()?).await?))
}

#[utoipa::path(
    get, path = "/oauth2/clients/{client_id}", tag = "admin",
    params(("client_id" = Uuid, Path, description = "Client id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The client; secrets by hint only", body = OAuthClient), OrgRoute),
)]
async fn get_client(
    State(state): State<AppState>,
    PlatformAdmin(_): PlatformAdmin,
    ClientPath(id): ClientPath,
) -> AppResult<Json<OAuthClient>> {
    Ok(Json(oauth_clients::get(&state, Reader::Platform, id).await?))
}

#[utoipa::path(
    patch, path = "/oauth2/clients/{client_id}", tag = "admin", request_body = UpdateClient,
    params(("client_id" = Uuid, Path, description = "Client id")),
    security(("bearer" = [])),
    responses((status = 200, description = "Changed", body = OAuthClient), JsonBody, OrgRoute, Conflict),
)]
async fn update_client(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    ClientPath(id): ClientPath,
    ApiJson(req): ApiJson<UpdateClient>,
) -> AppResult<Json<OAuthClient>> {
    let manager = Manager::Platform(&admin, client.ip);
    Ok(Json(oauth_clients::update(&state, manager, id, req.parse()?).await?))
}

#[utoipa::path(
    delete, path = "/oauth2/clients/{client_id}", tag = "admin",
    params(("client_id" = Uuid, Path, description = "Client id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted; its secrets fail at once, its tokens on their next request"), OrgRoute),
)]
async fn delete_client(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    ClientPath(id): ClientPath,
) -> AppResult<StatusCode> {
    oauth_clients::delete(&state, Manager::Platform(&admin, client.ip), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/oauth2/clients/{client_id}/secrets", tag = "admin",
    params(("client_id" = Uuid, Path, description = "Client id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added; `client_secret` is shown this once", body = CreatedSecret),
        OrgRoute, Conflict,
    ),
)]
async fn add_secret(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    ClientPath(id): ClientPath,
) -> AppResult<impl IntoResponse> {
    Ok(shown_once(oauth_clients::add_secret(&state, Manager::Platform(&admin, client.ip), id).await?))
}

#[utoipa::path(
    delete, path = "/oauth2/clients/{client_id}/secrets/{secret_id}", tag = "admin",
    params(("client_id" = Uuid, Path, description = "Client id"), ("secret_id" = Uuid, Path, description = "Secret id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Removed"), OrgRoute, Conflict),
)]
async fn remove_secret(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    ClientPath(id): ClientPath,
    ClientSecretPath(secret_id): ClientSecretPath,
) -> AppResult<StatusCode> {
    oauth_clients::remove_secret(&state, Manager::Platform(&admin, client.ip), id, secret_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
