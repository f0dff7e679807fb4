//! Platform administration of users: list, read, change, delete, and their sessions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use identity_shared::AppResult;
use identity_shared::api::problems::{Conflict, Forbidden, InvalidQuery, JsonBody, LastOwner, OrgRoute, SignedIn};
use identity_shared::api::users::{PageParams, UpdateUser, UserQuery};
use identity_shared::http::{ApiJson, ApiQuery, AppState, Client, PlatformAdmin, SessionPath, UserPath};
use identity_shared::models::{Page, Session, User};
use identity_shared::services::session_admin::{self, Ender};
use identity_shared::services::{account_deletion, users};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this part.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(user_sessions))
        .routes(routes!(end_user_session))
}

#[utoipa::path(
    get, path = "/users", tag = "admin",
    params(UserQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Users by id", body = Page<User>),
        SignedIn, Forbidden, InvalidQuery,
    ),
)]
async fn list_users(
    State(state): State<AppState>,
    PlatformAdmin(_): PlatformAdmin,
    ApiQuery(query): ApiQuery<UserQuery>,
) -> AppResult<Json<Page<User>>> {
    let (prefix, page) = query.parse()?;
    Ok(Json(users::list(&state, prefix.as_deref(), &page).await?))
}

#[utoipa::path(
    get, path = "/users/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = User),
        OrgRoute,
    ),
)]
async fn get_user(
    State(state): State<AppState>,
    PlatformAdmin(_): PlatformAdmin,
    UserPath(id): UserPath,
) -> AppResult<Json<User>> {
    Ok(Json(users::get(&state, id).await?))
}

#[utoipa::path(
    patch, path = "/users/{id}", tag = "admin", request_body = UpdateUser,
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated; disabling ends every session", body = User),
        JsonBody, OrgRoute, Conflict,
    ),
)]
async fn update_user(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    UserPath(id): UserPath,
    ApiJson(req): ApiJson<UpdateUser>,
) -> AppResult<Json<User>> {
    Ok(Json(users::update(&state, &admin, id, req.parse()?, client.ip).await?))
}

#[utoipa::path(
    delete, path = "/users/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The account, its sessions, memberships and links are gone; the email is free"),
        OrgRoute, LastOwner,
    ),
)]
async fn delete_user(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    UserPath(id): UserPath,
) -> AppResult<StatusCode> {
    account_deletion::delete_user(&state, &admin, id, client.ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/users/{id}/sessions", tag = "admin",
    params(("id" = Uuid, Path, description = "User id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's live sessions, newest first", body = Page<Session>),
        OrgRoute, InvalidQuery,
    ),
)]
async fn user_sessions(
    State(state): State<AppState>,
    PlatformAdmin(_): PlatformAdmin,
    UserPath(id): UserPath,
    ApiQuery(params): ApiQuery<PageParams>,
) -> AppResult<Json<Page<Session>>> {
    Ok(Json(session_admin::list_for_admin(&state, id, &params.check()?).await?))
}

#[utoipa::path(
    delete, path = "/users/{id}/sessions/{sid}", tag = "admin",
    params(("id" = Uuid, Path, description = "User id"), ("sid" = Uuid, Path, description = "Session id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Ended: its access and refresh tokens stop working"),
        OrgRoute,
    ),
)]
async fn end_user_session(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    UserPath(id): UserPath,
    SessionPath(sid): SessionPath,
) -> AppResult<StatusCode> {
    let by = Ender { actor_id: admin.user.id, ip: client.ip };
    session_admin::end(&state, by, id, sid).await?;
    Ok(StatusCode::NO_CONTENT)
}
