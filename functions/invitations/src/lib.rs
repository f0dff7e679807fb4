//! The invitations route group: an org's invitations, and the invitee's preview, accept and
//! decline by token.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use identity_shared::AppResult;
use identity_shared::http::{self, ApiJson, ApiQuery, AppState, Client, MaybeAuthenticated, OrgAccess, path_id};
use identity_shared::models::{Invitation, InvitationPreview, Permission};
use identity_shared::services::account::TokenRequest;
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

async fn create(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiJson(req): ApiJson<CreateInvitation>,
) -> AppResult<impl IntoResponse> {
    actor.require(Permission::InvitationsCreate)?;
    Ok((StatusCode::CREATED, Json(invitations::create(&state, &actor, req).await?)))
}

async fn list(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiQuery(query): ApiQuery<InvitationQuery>,
) -> AppResult<Json<Page<Invitation>>> {
    actor.require(Permission::InvitationsRead)?;
    Ok(Json(invitations::list(&state, actor.org_id, &query).await?))
}

async fn get_one(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Json<Invitation>> {
    actor.require(Permission::InvitationsRead)?;
    Ok(Json(invitations::get(&state, actor.org_id, path_id(&id, "invitation")?).await?))
}

async fn resend(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Json<Invitation>> {
    actor.require(Permission::InvitationsCreate)?;
    Ok(Json(invitations::resend(&state, &actor, path_id(&id, "invitation")?).await?))
}

async fn revoke(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Json<Invitation>> {
    actor.require(Permission::InvitationsRevoke)?;
    Ok(Json(invitations::revoke(&state, &actor, path_id(&id, "invitation")?).await?))
}

async fn preview(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<TokenRequest>,
) -> AppResult<Json<InvitationPreview>> {
    Ok(Json(invitations::preview(&state, &req.token).await?))
}

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

async fn decline(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<TokenRequest>,
) -> AppResult<Json<Invitation>> {
    Ok(Json(invitations::decline(&state, &req.token, client.ip).await?))
}
