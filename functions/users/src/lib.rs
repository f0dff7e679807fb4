//! The users route group: the caller's own account and organizations, platform user
//! administration, and health.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use identity_shared::api::auth::ChangePasswordRequest;
use identity_shared::api::problems::{
    AttemptsLimited, Conflict, Forbidden, Gone, HashingBusy, InvalidQuery, JsonBody, OrgRoute, SignedIn, Unauthorized,
    Unavailable,
};
use identity_shared::api::users::{PageParams, UpdateUser, UserQuery};
use identity_shared::http::{
    self, ApiJson, ApiQuery, AppState, Authenticated, Client, InvitationPath, PlatformAdmin, UserPath,
};
use identity_shared::models::{Accepted, Invitation, MyInvitation, MyOrganization, Page, User};
use identity_shared::services::{account, health, invitations, orgs, users};
use identity_shared::{AppError, AppResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The users function's app: its routes with the shared fallbacks and layers.
pub fn router() -> Router<AppState> {
    http::finish(routes().into())
}

/// The users routes with their OpenAPI description, for merging with other groups.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(my_organizations))
        .routes(routes!(change_password))
        .routes(routes!(my_invitations))
        .routes(routes!(accept_invitation))
        .routes(routes!(decline_invitation))
        .routes(routes!(list_users))
        .routes(routes!(get_user, update_user))
        .routes(routes!(health))
        .routes(routes!(openapi))
}

#[utoipa::path(
    get, path = "/me", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = User),
        SignedIn,
    ),
)]
async fn me(Authenticated(caller): Authenticated) -> Json<User> {
    Json(caller.user)
}

#[utoipa::path(
    get, path = "/me/organizations", tag = "users",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's organizations with their roles", body = Page<MyOrganization>),
        SignedIn, InvalidQuery,
    ),
)]
async fn my_organizations(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(params): ApiQuery<PageParams>,
) -> AppResult<Json<Page<MyOrganization>>> {
    Ok(Json(orgs::list_mine(&state, caller.user.id, &params.check()?).await?))
}

#[utoipa::path(
    post, path = "/me/password", tag = "users", request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed; other sessions ended"),
        JsonBody, Unauthorized, AttemptsLimited, HashingBusy,
    ),
)]
async fn change_password(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> AppResult<StatusCode> {
    account::change_password(&state, &caller, req.parse()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/me/invitations", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Pending invitations to the caller's verified email", body = Page<MyInvitation>),
        SignedIn, Forbidden,
    ),
)]
async fn my_invitations(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> AppResult<Json<Page<MyInvitation>>> {
    Ok(Json(invitations::list_mine(&state, &caller).await?))
}

#[utoipa::path(
    post, path = "/me/invitations/{id}/accept", tag = "users",
    params(("id" = Uuid, Path, description = "Invitation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Joined", body = Accepted),
        OrgRoute, Conflict, Gone,
    ),
)]
async fn accept_invitation(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    InvitationPath(id): InvitationPath,
) -> AppResult<Json<Accepted>> {
    Ok(Json(invitations::accept_mine(&state, &caller, id, client.ip).await?))
}

#[utoipa::path(
    post, path = "/me/invitations/{id}/decline", tag = "users",
    params(("id" = Uuid, Path, description = "Invitation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Declined", body = Invitation),
        OrgRoute, Conflict, Gone,
    ),
)]
async fn decline_invitation(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    InvitationPath(id): InvitationPath,
) -> AppResult<Json<Invitation>> {
    Ok(Json(invitations::decline_mine(&state, &caller, id, client.ip).await?))
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
    UserPath(id): UserPath,
    ApiJson(req): ApiJson<UpdateUser>,
) -> AppResult<Json<User>> {
    Ok(Json(users::update(&state, &admin.user, id, req.parse()?).await?))
}

#[utoipa::path(
    get, path = "/health", tag = "users",
    responses(
        (status = 200, description = "The function and its database answer", body = Health),
        Unavailable,
    ),
)]
async fn health(State(state): State<AppState>) -> AppResult<Json<Health>> {
    health::check_database(&state).await.map_err(AppError::from)?;
    Ok(Json(Health { status: "ok", database: "ok" }))
}

/// The OpenAPI 3.1 document of the whole API, generated from the code (`openapi.json` in the
/// repository; a test keeps it current).
#[utoipa::path(
    get, path = "/openapi.json", tag = "users",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json")),
)]
async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// The generated document, compiled in.
pub const OPENAPI: &str = include_str!("../../../openapi.json");

/// Answer of GET /health.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// "ok".
    pub status: &'static str,
    /// "ok" when the database answered.
    pub database: &'static str,
}
