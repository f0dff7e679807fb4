//! The auth route group: register, login, refresh, logout, JWKS.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use identity_shared::AppResult;
use identity_shared::http::{self, ApiJson, AppState, Authenticated, Client};
use identity_shared::models::User;
use identity_shared::services::account;
use identity_shared::services::auth::{self, LoginRequest, RefreshRequest, RegisterRequest, TokenPair};
use serde_json::json;

/// The auth function's app: its routes with the shared fallbacks and layers.
pub fn router() -> Router<AppState> {
    http::finish(routes())
}

/// The auth routes alone, for merging with other groups.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/verify-email", post(verify_email))
        .route("/auth/verify-email/resend", post(resend_verification))
        .route("/auth/password/forgot", post(forgot_password))
        .route("/auth/password/reset", post(reset_password))
        .route("/.well-known/jwks.json", get(jwks))
}

async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> AppResult<impl IntoResponse> {
    let user = auth::register(&state, req).await?;
    Ok((StatusCode::CREATED, Json(json!({ "user": user }))))
}

async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<LoginRequest>,
) -> AppResult<impl IntoResponse> {
    Ok(no_store(auth::login(&state, req, client).await?))
}

async fn refresh(State(state): State<AppState>, ApiJson(req): ApiJson<RefreshRequest>) -> AppResult<impl IntoResponse> {
    Ok(no_store(auth::refresh(&state, req).await?))
}

async fn logout(State(state): State<AppState>, Authenticated(caller): Authenticated) -> AppResult<StatusCode> {
    auth::logout(&state, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn verify_email(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<account::TokenRequest>,
) -> AppResult<Json<User>> {
    Ok(Json(account::verify_email(&state, req).await?))
}

async fn resend_verification(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> AppResult<impl IntoResponse> {
    account::resend_verification(&state, &caller).await?;
    Ok(accepted("If the address is yours, a new verification link is on its way."))
}

async fn forgot_password(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<account::ForgotRequest>,
) -> AppResult<impl IntoResponse> {
    account::forgot_password(&state, req).await?;
    Ok(accepted("If an account has this email, a reset link is on its way."))
}

async fn reset_password(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<account::ResetRequest>,
) -> AppResult<StatusCode> {
    account::reset_password(&state, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn accepted(message: &'static str) -> impl IntoResponse {
    (StatusCode::ACCEPTED, Json(json!({ "message": message })))
}

async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(state.jwt().jwks().clone()))
}

/// Token answers must not be cached by anything between us and the client (RFC 6749 §5.1).
fn no_store(tokens: TokenPair) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Json(tokens))
}
