//! The users route group: the caller's own account and organizations, platform user
//! administration, and health.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use identity_shared::http::{self, ApiJson, ApiQuery, AppState, Authenticated, Client, PlatformAdmin, path_id};
use identity_shared::models::{Invitation, MyOrganization, User};
use identity_shared::services::page::{Page, PageParams};
use identity_shared::services::{account, health, invitations, orgs, users};
use identity_shared::{AppError, AppResult};
use serde_json::{Value, json};

/// The users function's app: its routes with the shared fallbacks and layers.
pub fn router() -> Router<AppState> {
    http::finish(routes())
}

/// The users routes alone, for merging with other groups.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/me/organizations", get(my_organizations))
        .route("/me/password", post(change_password))
        .route("/me/invitations", get(my_invitations))
        .route("/me/invitations/{id}/accept", post(accept_invitation))
        .route("/me/invitations/{id}/decline", post(decline_invitation))
        .route("/users", get(list_users))
        .route("/users/{id}", get(get_user).patch(update_user))
        .route("/health", get(health))
}

async fn me(Authenticated(caller): Authenticated) -> Json<User> {
    Json(caller.user)
}

async fn my_organizations(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(params): ApiQuery<PageParams>,
) -> AppResult<Json<Page<MyOrganization>>> {
    Ok(Json(orgs::list_mine(&state, caller.user.id, &params.check()?).await?))
}

async fn change_password(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(req): ApiJson<account::ChangePasswordRequest>,
) -> AppResult<StatusCode> {
    account::change_password(&state, &caller, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn my_invitations(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> AppResult<Json<Page<invitations::MyInvitation>>> {
    Ok(Json(invitations::list_mine(&state, &caller).await?))
}

async fn accept_invitation(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> AppResult<Json<invitations::Accepted>> {
    Ok(Json(invitations::accept_mine(&state, &caller, path_id(&id, "invitation")?, client.ip).await?))
}

async fn decline_invitation(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> AppResult<Json<Invitation>> {
    Ok(Json(invitations::decline_mine(&state, &caller, path_id(&id, "invitation")?, client.ip).await?))
}

async fn list_users(
    State(state): State<AppState>,
    PlatformAdmin(_): PlatformAdmin,
    ApiQuery(query): ApiQuery<users::UserQuery>,
) -> AppResult<Json<Page<User>>> {
    Ok(Json(users::list(&state, &query).await?))
}

async fn get_user(
    State(state): State<AppState>,
    PlatformAdmin(_): PlatformAdmin,
    Path(id): Path<String>,
) -> AppResult<Json<User>> {
    Ok(Json(users::get(&state, path_id(&id, "user")?).await?))
}

async fn update_user(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<users::UpdateUser>,
) -> AppResult<Json<User>> {
    Ok(Json(users::update(&state, &admin.user, path_id(&id, "user")?, req).await?))
}

async fn health(State(state): State<AppState>) -> AppResult<Json<Value>> {
    health::check_database(&state).await.map_err(AppError::from)?;
    Ok(Json(json!({ "status": "ok", "database": "ok" })))
}
