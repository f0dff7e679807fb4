//! The users route group: the caller's own account, second factors and organizations,
//! platform user administration, and health.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Json, Router};
use identity_shared::api::auth::ChangePasswordRequest;
use identity_shared::api::problems::{
    AttemptsLimited, AttemptsOrQuota, Conflict, Forbidden, Gone, HashingBusy, InvalidQuery, JsonBody, LastOwner,
    NotFound, OrgRoute, SignedIn, Unauthorized, Unavailable, Unproven,
};
use identity_shared::api::users::{
    ChangeEmailRequest, DeleteAccountRequest, PageParams, UpdateProfile, UpdateUser, UserQuery,
};
use identity_shared::http::{
    self, ApiJson, ApiQuery, AppState, Authenticated, Client, InvitationPath, MySessionPath, PlatformAdmin,
    SessionPath, UserPath,
};
use identity_shared::models::{
    Accepted, Invitation, Message, MyInvitation, MyOrganization, Page, Session, SessionsRevoked, User,
};
use identity_shared::services::session_admin::{self, Ender};
use identity_shared::services::{account, account_deletion, email_change, health, invitations, orgs, users};
use identity_shared::{AppError, AppResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod mfa;

/// The users function's app: its routes with the shared fallbacks and layers.
pub fn router() -> Router<AppState> {
    http::finish(routes().into())
}

/// The users routes with their OpenAPI description, for merging with other groups.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, update_me, delete_me))
        .routes(routes!(my_organizations))
        .routes(routes!(change_password))
        .routes(routes!(change_email, cancel_email_change))
        .routes(routes!(my_sessions))
        .routes(routes!(end_my_session))
        .routes(routes!(end_my_other_sessions))
        .routes(routes!(my_invitations))
        .routes(routes!(accept_invitation))
        .routes(routes!(decline_invitation))
        .routes(routes!(list_users))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(user_sessions))
        .routes(routes!(end_user_session))
        .merge(mfa::routes())
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
    patch, path = "/me", tag = "users", request_body = UpdateProfile,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated user", body = User),
        JsonBody, SignedIn,
    ),
)]
async fn update_me(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(req): ApiJson<UpdateProfile>,
) -> AppResult<Json<User>> {
    Ok(Json(users::update_profile(&state, caller.user.id, &req.parse()?).await?))
}

#[utoipa::path(
    delete, path = "/me", tag = "users", request_body = DeleteAccountRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The account, its sessions, memberships and links are gone; the email is free"),
        JsonBody, LastOwner, SignedIn, AttemptsLimited, HashingBusy,
    ),
)]
async fn delete_me(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiJson(req): ApiJson<DeleteAccountRequest>,
) -> AppResult<StatusCode> {
    account_deletion::delete_own(&state, &caller, &req.parse()?, client.ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/me/email", tag = "users", request_body = ChangeEmailRequest,
    security(("bearer" = [])),
    responses(
        (
            status = 202, body = Message,
            description = "A confirmation link is mailed to the new address and a notice to the current one; \
                           the answer is the same whether the new address is free or taken",
        ),
        JsonBody, SignedIn, Unproven, AttemptsOrQuota, HashingBusy,
    ),
)]
async fn change_email(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(req): ApiJson<ChangeEmailRequest>,
) -> AppResult<impl IntoResponse> {
    email_change::request(&state, &caller, req.parse()?).await?;
    Ok((StatusCode::ACCEPTED, Json(Message { message: EMAIL_CHANGE_MAILED })))
}

#[utoipa::path(
    delete, path = "/me/email", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The pending email change, if any, is cancelled: its link no longer works"),
        SignedIn,
    ),
)]
async fn cancel_email_change(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
) -> AppResult<StatusCode> {
    email_change::cancel(&state, &caller, client.ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The one answer to an email change, whether or not the new address has an account.
const EMAIL_CHANGE_MAILED: &str = "Check the new address's inbox: the change takes effect when the link mailed \
                                   there is opened, within an hour. Your current address has been told.";

#[utoipa::path(
    get, path = "/me/sessions", tag = "sessions",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's live sessions, newest first", body = Page<Session>),
        SignedIn, InvalidQuery,
    ),
)]
async fn my_sessions(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(params): ApiQuery<PageParams>,
) -> AppResult<Json<Page<Session>>> {
    Ok(Json(session_admin::list(&state, caller.user.id, Some(caller.session_id), &params.check()?).await?))
}

#[utoipa::path(
    delete, path = "/me/sessions/{id}", tag = "sessions",
    params(("id" = Uuid, Path, description = "Session id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Ended: its access and refresh tokens stop working"),
        SignedIn, NotFound,
    ),
)]
async fn end_my_session(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    MySessionPath(id): MySessionPath,
) -> AppResult<StatusCode> {
    let by = Ender { actor_id: caller.user.id, ip: client.ip };
    session_admin::end(&state, by, caller.user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/me/sessions/revoke-others", tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every session but the asking one ended", body = SessionsRevoked),
        SignedIn,
    ),
)]
async fn end_my_other_sessions(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
) -> AppResult<Json<SessionsRevoked>> {
    let by = Ender { actor_id: caller.user.id, ip: client.ip };
    let revoked = session_admin::end_others(&state, by, caller.user.id, caller.session_id).await?;
    Ok(Json(SessionsRevoked { revoked }))
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
