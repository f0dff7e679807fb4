//! The auth route group: register, login, refresh, logout, JWKS and OIDC discovery.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::{Json, Router};
use identity_shared::AppError;
use identity_shared::AppResult;
use identity_shared::api::auth::{
    ForgotRequest, LoginRequest, RefreshRequest, RegisterRequest, ResetRequest, TokenRequest,
};
use identity_shared::api::mfa::MfaVerifyRequest;
use identity_shared::api::problems::{
    AddressLimited, AttemptsLimited, Conflict, HashingBusy, JsonBody, ScopeForbidden, SignedIn, Unauthorized,
    Unavailable,
};
use identity_shared::auth::discovery::Discovery;
use identity_shared::auth::jwt::Jwks;
use identity_shared::http::{self, ApiJson, AppState, Authenticated, Client};
use identity_shared::models::User;
use identity_shared::models::{Message, SignInAnswer, TokenPair};
use identity_shared::services::{account, email_change, sessions, sign_in};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod clients;
mod oauth;
mod pages;
mod provider;
mod sign_in_pages;
mod sso_pages;
mod steps;

/// The auth function's app: its routes with the shared fallbacks and layers.
pub fn router() -> Router<AppState> {
    http::finish(routes().into())
}

/// The auth routes with their OpenAPI description, for merging with other groups.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(verify_mfa))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(verify_email))
        .routes(routes!(resend_verification))
        .routes(routes!(confirm_email_change))
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
        .routes(routes!(jwks))
        .routes(routes!(openid_configuration))
        .merge(oauth::routes())
        .merge(clients::routes())
        .merge(provider::routes())
        .merge(pages::routes().into())
        .merge(sign_in_pages::routes().into())
        .merge(sso_pages::routes().into())
}

#[utoipa::path(
    post, path = "/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (
            status = 202, body = Message,
            description = "Accepted: a new email gets an account and a verification mail, a registered one a mail saying so; \
                           the answer is the same",
        ),
        JsonBody, AttemptsLimited, HashingBusy,
    ),
)]
async fn register(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> AppResult<impl IntoResponse> {
    account::register(&state, req.parse()?, client).await?;
    Ok(accepted(REGISTERED))
}

#[utoipa::path(
    post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (
            status = 200, body = SignInAnswer,
            description = "Signed in (a token pair); or, for an account with an active second factor, \
                           `mfa_required` with the `mfa_token` POST /auth/mfa/verify takes with a code",
        ),
        JsonBody, Unauthorized, ScopeForbidden, AttemptsLimited, HashingBusy,
    ),
)]
async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<LoginRequest>,
) -> AppResult<impl IntoResponse> {
    Ok(no_store(sign_in::login(&state, req.parse()?, client).await?))
}

#[utoipa::path(
    post, path = "/auth/mfa/verify", tag = "auth", request_body = MfaVerifyRequest,
    responses(
        (
            status = 200, body = TokenPair,
            description = "Signed in with password and second factor (amr pwd, otp); after a recovery code, \
                           `recovery_codes_remaining` says how many are left",
        ),
        (
            status = 401, body = identity_shared::error::Problem, content_type = "application/problem+json",
            description = "A wrong or replayed code (the mfa_token keeps its other attempts), or an mfa_token \
                           that is invalid, expired, spent or out of attempts",
        ),
        JsonBody, ScopeForbidden, AttemptsLimited, Unavailable,
    ),
)]
async fn verify_mfa(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<MfaVerifyRequest>,
) -> AppResult<impl IntoResponse> {
    let (token, proof) = req.parse()?;
    Ok(no_store(sign_in::verify_login(&state, &token, &proof, client).await?))
}

#[utoipa::path(
    post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; the presented refresh token is spent", body = TokenPair),
        JsonBody, SignedIn, ScopeForbidden,
    ),
)]
async fn refresh(State(state): State<AppState>, ApiJson(req): ApiJson<RefreshRequest>) -> AppResult<impl IntoResponse> {
    Ok(no_store(sessions::refresh(&state, req.parse()?).await?))
}

#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session ended"),
        SignedIn,
    ),
)]
async fn logout(State(state): State<AppState>, Authenticated(caller): Authenticated) -> AppResult<StatusCode> {
    sessions::logout(&state, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/auth/verify-email", tag = "auth", request_body = TokenRequest,
    responses(
        (status = 200, description = "The email address is verified", body = User),
        JsonBody, AddressLimited, Unavailable,
    ),
)]
async fn verify_email(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<TokenRequest>,
) -> AppResult<Json<User>> {
    let (user, _) = account::verify_email(&state, &req.parse(account::bad_token)?, client).await?;
    Ok(Json(user))
}

#[utoipa::path(
    post, path = "/auth/email/confirm", tag = "auth", request_body = TokenRequest,
    responses(
        (
            status = 200, body = User,
            description = "The account signs in with the new address; its other sessions have ended",
        ),
        JsonBody, Conflict, AddressLimited, Unavailable,
    ),
)]
async fn confirm_email_change(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<TokenRequest>,
) -> AppResult<Json<User>> {
    Ok(Json(email_change::confirm(&state, &req.parse(account::bad_token)?, client).await?))
}

#[utoipa::path(
    post, path = "/auth/verify-email/resend", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A new link is mailed", body = Message),
        SignedIn, Conflict, AddressLimited,
    ),
)]
async fn resend_verification(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
) -> AppResult<impl IntoResponse> {
    account::resend_verification(&state, &caller, client).await?;
    Ok(accepted("If the address is yours, a new verification link is on its way."))
}

#[utoipa::path(
    post, path = "/auth/password/forgot", tag = "auth", request_body = ForgotRequest,
    responses(
        (status = 202, description = "Answered the same whether or not the email has an account", body = Message),
        JsonBody, AttemptsLimited, Unavailable,
    ),
)]
async fn forgot_password(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<ForgotRequest>,
) -> AppResult<impl IntoResponse> {
    account::forgot_password(&state, &req.parse()?, client).await?;
    Ok(accepted("If an account has this email, a reset link is on its way."))
}

#[utoipa::path(
    post, path = "/auth/password/reset", tag = "auth", request_body = ResetRequest,
    responses(
        (status = 204, description = "Password changed; every session ended"),
        JsonBody, AddressLimited, HashingBusy,
    ),
)]
async fn reset_password(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<ResetRequest>,
) -> AppResult<StatusCode> {
    account::reset_password(&state, req.parse()?, client).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn accepted(message: &'static str) -> impl IntoResponse {
    (StatusCode::ACCEPTED, Json(Message { message }))
}

/// The one answer to a sign-up, whether or not the email already had an account.
const REGISTERED: &str = "Check your inbox: a message is on its way to this address. A new account can sign in \
                          now and confirms its email with the link in that message.";

#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "Public keys that verify access tokens", body = Jwks)),
)]
async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(state.jwt().jwks().clone()))
}

#[utoipa::path(
    get, path = "/.well-known/openid-configuration", tag = "auth",
    responses((
        status = 200, body = Discovery,
        description = "OpenID Provider metadata: the issuer and where its keys are, for verifiers such as API Gateway's JWT authorizer",
    )),
)]
async fn openid_configuration(State(state): State<AppState>) -> AppResult<impl IntoResponse> {
    let document = Discovery::of(state.jwt()).map_err(AppError::internal("building the discovery document"))?;
    // Verifiers read keys from the JWKS (cached for 5 minutes); this changes only with the
    // issuer or an algorithm, so an hour is safe.
    Ok(([(header::CACHE_CONTROL, "public, max-age=3600")], Json(document)))
}

/// Token answers must not be cached by anything between us and the client (RFC 6749 §5.1).
fn no_store(tokens: impl serde::Serialize) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Json(tokens))
}
