//! The caller's own account: profile, address, password, organizations, deletion.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use identity_shared::AppResult;
use identity_shared::api::auth::ChangePasswordRequest;
use identity_shared::api::problems::{
    AttemptsLimited, AttemptsOrQuota, HashingBusy, InvalidQuery, JsonBody, LastOwner, SignedIn, Unauthorized, Unproven,
};
use identity_shared::api::users::{ChangeEmailRequest, DeleteAccountRequest, PageParams, UpdateProfile};
use identity_shared::http::{ApiJson, ApiQuery, AppState, Authenticated, Client};
use identity_shared::models::{Message, MyOrganization, Page, User};
use identity_shared::services::{account, account_deletion, email_change, orgs, users};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this part.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, update_me, delete_me))
        .routes(routes!(my_organizations))
        .routes(routes!(change_password))
        .routes(routes!(change_email, cancel_email_change))
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
