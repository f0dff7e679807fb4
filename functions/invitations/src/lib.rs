//! The invitations route group: an org's invitations, and the invitee's preview, accept and
//! decline by token.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use identity_shared::AppResult;
use identity_shared::error::Problem;
use identity_shared::http::{self, ApiJson, ApiQuery, AppState, Client, InvitationPath, MaybeAuthenticated, OrgAccess};
use identity_shared::models::{Invitation, InvitationPreview, Permission};
use identity_shared::services::account::TokenRequest;
use identity_shared::services::invitations::Accepted;
use identity_shared::services::invitations::{self, AcceptRequest, CreateInvitation, InvitationQuery};
use identity_shared::services::page::Page;

/// The invitations function's app: its routes with the shared fallbacks and layers.
pub fn router() -> Router<AppState> {
    http::finish(routes())
}

/// The invitations routes alone, for merging with other groups.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{org}/invitations", get(list).post(create))
        .route("/orgs/{org}/invitations/{id}", get(get_one))
        .route("/orgs/{org}/invitations/{id}/resend", post(resend))
        .route("/orgs/{org}/invitations/{id}/revoke", post(revoke))
        .route("/invitations/preview", post(preview))
        .route("/invitations/accept", post(accept))
        .route("/invitations/decline", post(decline))
}

#[utoipa::path(post, path = "/orgs/{org}/invitations", tag = "invitations", request_body = CreateInvitation, params(("org" = Uuid, Path, description = "Organization id")), responses((status = 201, description = "Invited; the mail is sent (the token never appears here)", body = Invitation), (status = 400, description = "Malformed JSON or request", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Conflicts with the current state", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn create(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiJson(req): ApiJson<CreateInvitation>,
) -> AppResult<impl IntoResponse> {
    actor.require(Permission::InvitationsCreate)?;
    Ok((StatusCode::CREATED, Json(invitations::create(&state, &actor, req).await?)))
}

#[utoipa::path(get, path = "/orgs/{org}/invitations", tag = "invitations", params(("org" = Uuid, Path, description = "Organization id"), InvitationQuery), responses((status = 200, description = "Newest first", body = Page<Invitation>), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiQuery(query): ApiQuery<InvitationQuery>,
) -> AppResult<Json<Page<Invitation>>> {
    actor.require(Permission::InvitationsRead)?;
    Ok(Json(invitations::list(&state, actor.org_id, &query).await?))
}

#[utoipa::path(get, path = "/orgs/{org}/invitations/{id}", tag = "invitations", params(("org" = Uuid, Path, description = "Organization id"), ("id" = Uuid, Path, description = "Invitation id")), responses((status = 200, description = "The invitation", body = Invitation), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn get_one(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    InvitationPath(id): InvitationPath,
) -> AppResult<Json<Invitation>> {
    actor.require(Permission::InvitationsRead)?;
    Ok(Json(invitations::get(&state, actor.org_id, id).await?))
}

#[utoipa::path(post, path = "/orgs/{org}/invitations/{id}/resend", tag = "invitations", params(("org" = Uuid, Path, description = "Organization id"), ("id" = Uuid, Path, description = "Invitation id")), responses((status = 200, description = "A new token is mailed; older links stop working", body = Invitation), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Conflicts with the current state", body = Problem, content_type = "application/problem+json"), (status = 410, description = "Expired or revoked", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn resend(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    InvitationPath(id): InvitationPath,
) -> AppResult<Json<Invitation>> {
    actor.require(Permission::InvitationsCreate)?;
    Ok(Json(invitations::resend(&state, &actor, id).await?))
}

#[utoipa::path(post, path = "/orgs/{org}/invitations/{id}/revoke", tag = "invitations", params(("org" = Uuid, Path, description = "Organization id"), ("id" = Uuid, Path, description = "Invitation id")), responses((status = 200, description = "Revoked", body = Invitation), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Conflicts with the current state", body = Problem, content_type = "application/problem+json"), (status = 410, description = "Expired or revoked", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn revoke(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    InvitationPath(id): InvitationPath,
) -> AppResult<Json<Invitation>> {
    actor.require(Permission::InvitationsRevoke)?;
    Ok(Json(invitations::revoke(&state, &actor, id).await?))
}

#[utoipa::path(post, path = "/invitations/preview", tag = "invitations", request_body = TokenRequest, responses((status = 200, description = "What the invitation offers", body = InvitationPreview), (status = 400, description = "Malformed JSON or request", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 429, description = "Too many requests from this address", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")))]
async fn preview(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<TokenRequest>,
) -> AppResult<Json<InvitationPreview>> {
    Ok(Json(invitations::preview(&state, &req.token, client.ip).await?))
}

#[utoipa::path(post, path = "/invitations/accept", tag = "invitations", request_body = AcceptRequest, responses((status = 200, description = "Joined as the signed-in user", body = Accepted), (status = 201, description = "Account created and joined; tokens included", body = Accepted), (status = 400, description = "Malformed JSON or request", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Conflicts with the current state", body = Problem, content_type = "application/problem+json"), (status = 410, description = "Expired or revoked", body = Problem, content_type = "application/problem+json"), (status = 429, description = "Too many requests from this address", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable, or every password hashing slot is busy", body = Problem, content_type = "application/problem+json")))]
async fn accept(
    State(state): State<AppState>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    Client(client): Client,
    ApiJson(req): ApiJson<AcceptRequest>,
) -> AppResult<impl IntoResponse> {
    let created_account = caller.is_none();
    let accepted = invitations::accept(&state, req, caller, client).await?;
    let status = if created_account { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, [(axum::http::header::CACHE_CONTROL, "no-store")], Json(accepted)))
}

#[utoipa::path(post, path = "/invitations/decline", tag = "invitations", request_body = TokenRequest, responses((status = 200, description = "Declined", body = Invitation), (status = 400, description = "Malformed JSON or request", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Conflicts with the current state", body = Problem, content_type = "application/problem+json"), (status = 410, description = "Expired or revoked", body = Problem, content_type = "application/problem+json"), (status = 429, description = "Too many requests from this address", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")))]
async fn decline(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<TokenRequest>,
) -> AppResult<Json<Invitation>> {
    Ok(Json(invitations::decline(&state, &req.token, client.ip).await?))
}

/// The OpenAPI description of this function's routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get_one, resend, revoke, preview, accept, decline))]
pub struct ApiDoc;
