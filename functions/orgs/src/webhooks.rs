//! Webhook endpoints, an organization's and the platform's: made, listed, read, changed,
//! deleted, their secrets rotated, tested, and their deliveries listed and retried.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use identity_shared::api::problems::{Conflict, Forbidden, InvalidQuery, JsonBody, OrgRoute, QuotaSpent, SignedIn};
use identity_shared::api::users::PageParams;
use identity_shared::api::webhooks::{CreateWebhook, RotateWebhookSecret, UpdateWebhook};
use identity_shared::http::{
    ApiJson, ApiQuery, AppState, Client, DeliveryPath, OptionalJson, OrgAccess, OrgToken, PlatformAdmin, WebhookPath,
    shown_once,
};
use identity_shared::models::{
    CreatedWebhookEndpoint, Page, Permission, RotatedWebhookSecret, WebhookDelivery, WebhookEndpoint,
};
use identity_shared::services::ownership::{Manager, Reader};
use identity_shared::services::webhooks;
use identity_shared::{AppError, AppResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The webhook endpoint routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_endpoints, create_endpoint))
        .routes(routes!(get_endpoint, update_endpoint, delete_endpoint))
        .routes(routes!(rotate_secret))
        .routes(routes!(test_endpoint))
        .routes(routes!(list_deliveries))
        .routes(routes!(retry_delivery))
        .routes(routes!(platform_list, platform_create))
        .routes(routes!(platform_get, platform_update, platform_delete))
        .routes(routes!(platform_rotate_secret))
        .routes(routes!(platform_test))
        .routes(routes!(platform_deliveries))
        .routes(routes!(platform_retry))
}

/// 202: a delivery queued for the sender.
fn queued(delivery: WebhookDelivery) -> impl IntoResponse {
    (StatusCode::ACCEPTED, Json(delivery))
}

fn allow_local(state: &AppState) -> bool {
    state.config().webhooks.allow_local_targets
}

#[utoipa::path(
    get, path = "/orgs/{org}/webhooks", tag = "webhooks",
    params(("org" = Uuid, Path, description = "Organization id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first; never a secret", body = Page<WebhookEndpoint>),
        OrgRoute, InvalidQuery,
    ),
)]
async fn list_endpoints(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    params: Result<ApiQuery<PageParams>, AppError>,
) -> AppResult<Json<Page<WebhookEndpoint>>> {
    let access = request.to_read(Permission::WebhooksManage);
    let page = access.checked(&state, params.and_then(|ApiQuery(p)| p.check())).await?;
    Ok(Json(webhooks::list(&state, Reader::Org(&access), &page).await?))
}

#[utoipa::path(
    post, path = "/orgs/{org}/webhooks", tag = "webhooks", request_body = CreateWebhook,
    params(("org" = Uuid, Path, description = "Organization id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; `secret` is shown this once (Cache-Control: no-store). It receives this organization's events", body = CreatedWebhookEndpoint),
        JsonBody, OrgRoute, QuotaSpent,
    ),
)]
async fn create_endpoint(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiJson(req): ApiJson<CreateWebhook>,
) -> AppResult<impl IntoResponse> {
    actor.require(Permission::WebhooksManage)?;
    let req = req.parse(allow_local(&state))?;
    Ok(shown_once(webhooks::create(&state, Manager::Org(&actor), req).await?))
}

#[utoipa::path(
    get, path = "/orgs/{org}/webhooks/{webhook_id}", tag = "webhooks",
    params(("org" = Uuid, Path, description = "Organization id"), ("webhook_id" = Uuid, Path, description = "Webhook endpoint id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The endpoint; never its secret", body = WebhookEndpoint), OrgRoute),
)]
async fn get_endpoint(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    WebhookPath(id): WebhookPath,
) -> AppResult<Json<WebhookEndpoint>> {
    let access = request.to_read(Permission::WebhooksManage);
    Ok(Json(webhooks::get(&state, Reader::Org(&access), id).await?))
}

#[utoipa::path(
    patch, path = "/orgs/{org}/webhooks/{webhook_id}", tag = "webhooks", request_body = UpdateWebhook,
    params(("org" = Uuid, Path, description = "Organization id"), ("webhook_id" = Uuid, Path, description = "Webhook endpoint id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; disabling it fails its pending deliveries", body = WebhookEndpoint),
        JsonBody, OrgRoute,
    ),
)]
async fn update_endpoint(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    WebhookPath(id): WebhookPath,
    ApiJson(req): ApiJson<UpdateWebhook>,
) -> AppResult<Json<WebhookEndpoint>> {
    actor.require(Permission::WebhooksManage)?;
    let changes = req.parse(allow_local(&state))?;
    Ok(Json(webhooks::update(&state, Manager::Org(&actor), id, changes).await?))
}

#[utoipa::path(
    delete, path = "/orgs/{org}/webhooks/{webhook_id}", tag = "webhooks",
    params(("org" = Uuid, Path, description = "Organization id"), ("webhook_id" = Uuid, Path, description = "Webhook endpoint id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted, with its deliveries"), OrgRoute),
)]
async fn delete_endpoint(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    WebhookPath(id): WebhookPath,
) -> AppResult<StatusCode> {
    actor.require(Permission::WebhooksManage)?;
    webhooks::delete(&state, Manager::Org(&actor), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/orgs/{org}/webhooks/{webhook_id}/rotate-secret", tag = "webhooks", request_body = Option<RotateWebhookSecret>,
    params(("org" = Uuid, Path, description = "Organization id"), ("webhook_id" = Uuid, Path, description = "Webhook endpoint id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new secret, shown this once; the old one signs beside it until the overlap ends", body = RotatedWebhookSecret),
        JsonBody, OrgRoute,
    ),
)]
async fn rotate_secret(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    WebhookPath(id): WebhookPath,
    OptionalJson(req): OptionalJson<RotateWebhookSecret>,
) -> AppResult<impl IntoResponse> {
    actor.require(Permission::WebhooksManage)?;
    let rotation = req.unwrap_or_default().parse()?;
    Ok(shown_once(webhooks::rotate_secret(&state, Manager::Org(&actor), id, rotation).await?))
}

#[utoipa::path(
    post, path = "/orgs/{org}/webhooks/{webhook_id}/test", tag = "webhooks",
    params(("org" = Uuid, Path, description = "Organization id"), ("webhook_id" = Uuid, Path, description = "Webhook endpoint id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A `webhook.test` event is queued for this endpoint; its delivery shows how it went", body = WebhookDelivery),
        OrgRoute, Conflict,
    ),
)]
async fn test_endpoint(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    WebhookPath(id): WebhookPath,
) -> AppResult<impl IntoResponse> {
    actor.require(Permission::WebhooksManage)?;
    Ok(queued(webhooks::test(&state, Manager::Org(&actor), id).await?))
}

#[utoipa::path(
    get, path = "/orgs/{org}/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    params(("org" = Uuid, Path, description = "Organization id"), ("webhook_id" = Uuid, Path, description = "Webhook endpoint id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first: status, attempts, the last HTTP status and error class; never the receiver's body", body = Page<WebhookDelivery>),
        OrgRoute, InvalidQuery,
    ),
)]
async fn list_deliveries(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    WebhookPath(id): WebhookPath,
    params: Result<ApiQuery<PageParams>, AppError>,
) -> AppResult<Json<Page<WebhookDelivery>>> {
    let access = request.to_read(Permission::WebhooksManage);
    let page = access.checked(&state, params.and_then(|ApiQuery(p)| p.check())).await?;
    Ok(Json(webhooks::deliveries(&state, Reader::Org(&access), id, &page).await?))
}

#[utoipa::path(
    post, path = "/orgs/{org}/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", tag = "webhooks",
    params(
        ("org" = Uuid, Path, description = "Organization id"),
        ("webhook_id" = Uuid, Path, description = "Webhook endpoint id"),
        ("delivery_id" = Uuid, Path, description = "Delivery id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued again, due now, with the same `webhook-id`", body = WebhookDelivery),
        OrgRoute, Conflict,
    ),
)]
async fn retry_delivery(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    WebhookPath(id): WebhookPath,
    DeliveryPath(delivery): DeliveryPath,
) -> AppResult<impl IntoResponse> {
    actor.require(Permission::WebhooksManage)?;
    Ok(queued(webhooks::retry(&state, Manager::Org(&actor), id, delivery).await?))
}

#[utoipa::path(
    get, path = "/webhooks", tag = "admin",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The platform's endpoints, newest first; never a secret", body = Page<WebhookEndpoint>),
        SignedIn, Forbidden, InvalidQuery,
    ),
)]
async fn platform_list(
    State(state): State<AppState>,
    PlatformAdmin(_): PlatformAdmin,
    ApiQuery(params): ApiQuery<PageParams>,
) -> AppResult<Json<Page<WebhookEndpoint>>> {
    Ok(Json(webhooks::list(&state, Reader::Platform, &params.check()?).await?))
}

#[utoipa::path(
    post, path = "/webhooks", tag = "admin", request_body = CreateWebhook,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; `secret` is shown this once. It receives every organization's and account's events", body = CreatedWebhookEndpoint),
        JsonBody, SignedIn, Forbidden, QuotaSpent,
    ),
)]
async fn platform_create(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    ApiJson(req): ApiJson<CreateWebhook>,
) -> AppResult<impl IntoResponse> {
    let req = req.parse(allow_local(&state))?;
    Ok(shown_once(webhooks::create(&state, Manager::Platform(&admin, client.ip), req).await?))
}

#[utoipa::path(
    get, path = "/webhooks/{webhook_id}", tag = "admin",
    params(("webhook_id" = Uuid, Path, description = "Webhook endpoint id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The endpoint; never its secret", body = WebhookEndpoint), OrgRoute),
)]
async fn platform_get(
    State(state): State<AppState>,
    PlatformAdmin(_): PlatformAdmin,
    WebhookPath(id): WebhookPath,
) -> AppResult<Json<WebhookEndpoint>> {
    Ok(Json(webhooks::get(&state, Reader::Platform, id).await?))
}

#[utoipa::path(
    patch, path = "/webhooks/{webhook_id}", tag = "admin", request_body = UpdateWebhook,
    params(("webhook_id" = Uuid, Path, description = "Webhook endpoint id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; disabling it fails its pending deliveries", body = WebhookEndpoint),
        JsonBody, OrgRoute,
    ),
)]
async fn platform_update(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    WebhookPath(id): WebhookPath,
    ApiJson(req): ApiJson<UpdateWebhook>,
) -> AppResult<Json<WebhookEndpoint>> {
    let changes = req.parse(allow_local(&state))?;
    Ok(Json(webhooks::update(&state, Manager::Platform(&admin, client.ip), id, changes).await?))
}

#[utoipa::path(
    delete, path = "/webhooks/{webhook_id}", tag = "admin",
    params(("webhook_id" = Uuid, Path, description = "Webhook endpoint id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted, with its deliveries"), OrgRoute),
)]
async fn platform_delete(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    WebhookPath(id): WebhookPath,
) -> AppResult<StatusCode> {
    webhooks::delete(&state, Manager::Platform(&admin, client.ip), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/webhooks/{webhook_id}/rotate-secret", tag = "admin", request_body = Option<RotateWebhookSecret>,
    params(("webhook_id" = Uuid, Path, description = "Webhook endpoint id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new secret, shown this once; the old one signs beside it until the overlap ends", body = RotatedWebhookSecret),
        JsonBody, OrgRoute,
    ),
)]
async fn platform_rotate_secret(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    WebhookPath(id): WebhookPath,
    OptionalJson(req): OptionalJson<RotateWebhookSecret>,
) -> AppResult<impl IntoResponse> {
    let rotation = req.unwrap_or_default().parse()?;
    Ok(shown_once(webhooks::rotate_secret(&state, Manager::Platform(&admin, client.ip), id, rotation).await?))
}

#[utoipa::path(
    post, path = "/webhooks/{webhook_id}/test", tag = "admin",
    params(("webhook_id" = Uuid, Path, description = "Webhook endpoint id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A `webhook.test` event is queued for this endpoint", body = WebhookDelivery),
        OrgRoute, Conflict,
    ),
)]
async fn platform_test(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    WebhookPath(id): WebhookPath,
) -> AppResult<impl IntoResponse> {
    Ok(queued(webhooks::test(&state, Manager::Platform(&admin, client.ip), id).await?))
}

#[utoipa::path(
    get, path = "/webhooks/{webhook_id}/deliveries", tag = "admin",
    params(("webhook_id" = Uuid, Path, description = "Webhook endpoint id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first; never the receiver's body", body = Page<WebhookDelivery>),
        OrgRoute, InvalidQuery,
    ),
)]
async fn platform_deliveries(
    State(state): State<AppState>,
    PlatformAdmin(_): PlatformAdmin,
    WebhookPath(id): WebhookPath,
    ApiQuery(params): ApiQuery<PageParams>,
) -> AppResult<Json<Page<WebhookDelivery>>> {
    Ok(Json(webhooks::deliveries(&state, Reader::Platform, id, &params.check()?).await?))
}

#[utoipa::path(
    post, path = "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", tag = "admin",
    params(("webhook_id" = Uuid, Path, description = "Webhook endpoint id"), ("delivery_id" = Uuid, Path, description = "Delivery id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued again, due now, with the same `webhook-id`", body = WebhookDelivery),
        OrgRoute, Conflict,
    ),
)]
async fn platform_retry(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    WebhookPath(id): WebhookPath,
    DeliveryPath(delivery): DeliveryPath,
) -> AppResult<impl IntoResponse> {
    Ok(queued(webhooks::retry(&state, Manager::Platform(&admin, client.ip), id, delivery).await?))
}
