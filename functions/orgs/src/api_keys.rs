//! An organization's API keys: made, listed, read, changed, rotated and revoked.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use identity_shared::api::api_keys::{CreateApiKey, RotateApiKey, UpdateApiKey};
use identity_shared::api::problems::{Conflict, InvalidQuery, JsonBody, OrgRoute, QuotaSpent};
use identity_shared::api::users::PageParams;
use identity_shared::http::{ApiJson, ApiKeyPath, ApiQuery, AppState, OptionalJson, OrgAccess, OrgToken, shown_once};
use identity_shared::models::{ApiKey, CreatedApiKey, Page, Permission};
use identity_shared::services::api_keys;
use identity_shared::{AppError, AppResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The API key routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(get_key, update_key, revoke_key))
        .routes(routes!(rotate_key))
}

#[utoipa::path(
    get, path = "/orgs/{org}/api-keys", tag = "api-keys",
    params(("org" = Uuid, Path, description = "Organization id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first, revoked and expired ones too; never a value", body = Page<ApiKey>),
        OrgRoute, InvalidQuery,
    ),
)]
async fn list_keys(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    params: Result<ApiQuery<PageParams>, AppError>,
) -> AppResult<Json<Page<ApiKey>>> {
    let access = request.to_read(Permission::ApiKeysManage);
    let page = access.checked(&state, params.and_then(|ApiQuery(p)| p.check())).await?;
    Ok(Json(api_keys::list(&state, &access, &page).await?))
}

#[utoipa::path(
    post, path = "/orgs/{org}/api-keys", tag = "api-keys", request_body = CreateApiKey,
    params(("org" = Uuid, Path, description = "Organization id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; `value` is shown this once (Cache-Control: no-store)", body = CreatedApiKey),
        JsonBody, OrgRoute, QuotaSpent,
    ),
)]
async fn create_key(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiJson(req): ApiJson<CreateApiKey>,
) -> AppResult<impl IntoResponse> {
    actor.require(Permission::ApiKeysManage)?;
    Ok(shown_once(api_keys::create(&state, &actor, req.parse()?).await?))
}

#[utoipa::path(
    get, path = "/orgs/{org}/api-keys/{id}", tag = "api-keys",
    params(("org" = Uuid, Path, description = "Organization id"), ("id" = Uuid, Path, description = "API key id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The key, never its value", body = ApiKey), OrgRoute),
)]
async fn get_key(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    ApiKeyPath(id): ApiKeyPath,
) -> AppResult<Json<ApiKey>> {
    Ok(Json(api_keys::get(&state, &request.to_read(Permission::ApiKeysManage), id).await?))
}

#[utoipa::path(
    patch, path = "/orgs/{org}/api-keys/{id}", tag = "api-keys", request_body = UpdateApiKey,
    params(("org" = Uuid, Path, description = "Organization id"), ("id" = Uuid, Path, description = "API key id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; it acts with the new permissions from its next request", body = ApiKey),
        JsonBody, OrgRoute, Conflict,
    ),
)]
async fn update_key(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiKeyPath(id): ApiKeyPath,
    ApiJson(req): ApiJson<UpdateApiKey>,
) -> AppResult<Json<ApiKey>> {
    actor.require(Permission::ApiKeysManage)?;
    Ok(Json(api_keys::update(&state, &actor, id, req.parse()?).await?))
}

#[utoipa::path(
    delete, path = "/orgs/{org}/api-keys/{id}", tag = "api-keys",
    params(("org" = Uuid, Path, description = "Organization id"), ("id" = Uuid, Path, description = "API key id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Revoked; its next request is refused"), OrgRoute, Conflict),
)]
async fn revoke_key(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiKeyPath(id): ApiKeyPath,
) -> AppResult<StatusCode> {
    actor.require(Permission::ApiKeysManage)?;
    api_keys::revoke(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/orgs/{org}/api-keys/{id}/rotate", tag = "api-keys", request_body = Option<RotateApiKey>,
    params(("org" = Uuid, Path, description = "Organization id"), ("id" = Uuid, Path, description = "API key id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new key, its value shown this once; the old one works until the overlap ends", body = CreatedApiKey),
        JsonBody, OrgRoute, Conflict,
    ),
)]
async fn rotate_key(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiKeyPath(id): ApiKeyPath,
    OptionalJson(req): OptionalJson<RotateApiKey>,
) -> AppResult<impl IntoResponse> {
    actor.require(Permission::ApiKeysManage)?;
    let rotation = req.unwrap_or_default().parse()?;
    Ok(shown_once(api_keys::rotate(&state, &actor, id, rotation).await?))
}
