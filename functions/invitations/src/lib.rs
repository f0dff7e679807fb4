//! The invitations route group: an org's invitations, and the invitee's preview, accept and
//! decline by token.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Json, Router};
use identity_shared::api::auth::TokenRequest;
use identity_shared::api::invitations::{AcceptRequest, CreateInvitation, InvitationQuery};
use identity_shared::api::problems::{
    AddressLimited, Conflict, Forbidden, Gone, HashingBusy, InvalidQuery, JsonBody, NotFound, OrgRoute, QuotaSpent,
    Unauthorized, Unavailable,
};
use identity_shared::http::{
    self, ApiJson, ApiQuery, AppState, Client, InvitationPath, MaybeAuthenticated, OrgAccess, OrgToken,
};
use identity_shared::models::{Accepted, Invitation, InvitationPreview, Page, Permission};
use identity_shared::services::{invitations, joining};
use identity_shared::{AppError, AppResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod pages;

/// The invitations function's app: its routes with the shared fallbacks and layers.
pub fn router() -> Router<AppState> {
    http::finish(routes().into())
}

/// The invitations routes with their OpenAPI description, for merging with other groups.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one))
        .routes(routes!(resend))
        .routes(routes!(revoke))
        .routes(routes!(preview))
        .routes(routes!(accept))
        .routes(routes!(decline))
        .merge(pages::routes().into())
}

#[utoipa::path(
    post, path = "/orgs/{org}/invitations", tag = "invitations", request_body = CreateInvitation,
    params(("org" = Uuid, Path, description = "Organization id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Invited; the mail is sent (the token never appears here)", body = Invitation),
        JsonBody, OrgRoute, Conflict, QuotaSpent,
    ),
)]
async fn create(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiJson(req): ApiJson<CreateInvitation>,
) -> AppResult<impl IntoResponse> {
    actor.require(Permission::InvitationsCreate)?;
    Ok((StatusCode::CREATED, Json(invitations::create(&state, &actor, req.parse()?).await?)))
}

#[utoipa::path(
    get, path = "/orgs/{org}/invitations", tag = "invitations",
    params(("org" = Uuid, Path, description = "Organization id"), InvitationQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = Page<Invitation>),
        OrgRoute, InvalidQuery,
    ),
)]
async fn list(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    query: Result<ApiQuery<InvitationQuery>, AppError>,
) -> AppResult<Json<Page<Invitation>>> {
    let access = request.to_read(Permission::InvitationsRead);
    let (status, page) = access.checked(&state, query.and_then(|ApiQuery(q)| q.parse())).await?;
    Ok(Json(invitations::list(&state, &access, status, &page).await?))
}

#[utoipa::path(
    get, path = "/orgs/{org}/invitations/{id}", tag = "invitations",
    params(("org" = Uuid, Path, description = "Organization id"), ("id" = Uuid, Path, description = "Invitation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The invitation", body = Invitation),
        OrgRoute,
    ),
)]
async fn get_one(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    InvitationPath(id): InvitationPath,
) -> AppResult<Json<Invitation>> {
    Ok(Json(invitations::get(&state, &request.to_read(Permission::InvitationsRead), id).await?))
}

#[utoipa::path(
    post, path = "/orgs/{org}/invitations/{id}/resend", tag = "invitations",
    params(("org" = Uuid, Path, description = "Organization id"), ("id" = Uuid, Path, description = "Invitation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A new token is mailed; older links stop working", body = Invitation),
        OrgRoute, Conflict, Gone, QuotaSpent,
    ),
)]
async fn resend(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    InvitationPath(id): InvitationPath,
) -> AppResult<Json<Invitation>> {
    actor.require(Permission::InvitationsCreate)?;
    Ok(Json(invitations::resend(&state, &actor, id).await?))
}

#[utoipa::path(
    post, path = "/orgs/{org}/invitations/{id}/revoke", tag = "invitations",
    params(("org" = Uuid, Path, description = "Organization id"), ("id" = Uuid, Path, description = "Invitation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Revoked", body = Invitation),
        OrgRoute, Conflict, Gone,
    ),
)]
async fn revoke(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    InvitationPath(id): InvitationPath,
) -> AppResult<Json<Invitation>> {
    actor.require(Permission::InvitationsRevoke)?;
    Ok(Json(invitations::revoke(&state, &actor, id).await?))
}

#[utoipa::path(
    post, path = "/invitations/preview", tag = "invitations", request_body = TokenRequest,
    responses(
        (status = 200, description = "What the invitation offers", body = InvitationPreview),
        JsonBody, NotFound, AddressLimited, Unavailable,
    ),
)]
async fn preview(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<TokenRequest>,
) -> AppResult<Json<InvitationPreview>> {
    Ok(Json(joining::preview(&state, &req.parse(joining::malformed_token)?, client.ip).await?))
}

#[utoipa::path(
    post, path = "/invitations/accept", tag = "invitations", request_body = AcceptRequest,
    responses(
        (status = 200, description = "Joined as the signed-in user", body = Accepted),
        (status = 201, description = "Account created and joined; tokens included", body = Accepted),
        JsonBody, Unauthorized, Forbidden, NotFound, Conflict, Gone, AddressLimited, HashingBusy,
    ),
)]
async fn accept(
    State(state): State<AppState>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    Client(client): Client,
    ApiJson(req): ApiJson<AcceptRequest>,
) -> AppResult<impl IntoResponse> {
    let created_account = caller.is_none();
    let (token, by) = req.parse(caller)?;
    let accepted = joining::accept(&state, &token, by, client).await?;
    let status = if created_account { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, [(axum::http::header::CACHE_CONTROL, "no-store")], Json(accepted)))
}

#[utoipa::path(
    post, path = "/invitations/decline", tag = "invitations", request_body = TokenRequest,
    responses(
        (status = 200, description = "Declined", body = Invitation),
        JsonBody, NotFound, Conflict, Gone, AddressLimited, Unavailable,
    ),
)]
async fn decline(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<TokenRequest>,
) -> AppResult<Json<Invitation>> {
    Ok(Json(joining::decline(&state, &req.parse(joining::malformed_token)?, client.ip).await?))
}
