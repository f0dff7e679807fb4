//! The caller's second factors (`/me/mfa`) and a platform admin's reset of a user's.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use identity_shared::AppResult;
use identity_shared::api::mfa::{StepUpRequest, VerifyTotpRequest};
use identity_shared::api::problems::{
    AttemptsLimited, Conflict, HashingBusy, JsonBody, NotFound, OrgRoute, SignedIn, Unproven,
};
use identity_shared::http::{
    ApiJson, AppState, Authenticated, Client, FactorPath, OptionalJson, PlatformAdmin, UserPath,
};
use identity_shared::models::{FactorActivated, MfaFactors, RecoveryCodes, TotpEnrolment};
use identity_shared::services::factors;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The second-factor routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_factors))
        .routes(routes!(enrol_totp))
        .routes(routes!(verify_totp))
        .routes(routes!(remove_factor))
        .routes(routes!(regenerate_recovery_codes))
        .routes(routes!(reset_user_factors))
}

/// Answers that carry secrets are never cached.
fn no_store(status: StatusCode, body: impl serde::Serialize) -> impl IntoResponse {
    (status, [(axum::http::header::CACHE_CONTROL, "no-store")], Json(body))
}

#[utoipa::path(
    get, path = "/me/mfa", tag = "mfa",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's factors (never their secrets) and unused recovery codes", body = MfaFactors),
        SignedIn,
    ),
)]
async fn my_factors(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> AppResult<Json<MfaFactors>> {
    Ok(Json(factors::list(&state, caller.user.id).await?))
}

#[utoipa::path(
    post, path = "/me/mfa/totp", tag = "mfa", request_body = StepUpRequest,
    security(("bearer" = [])),
    responses(
        (
            status = 201, body = TotpEnrolment,
            description = "A pending authenticator: its secret, otpauth URI and QR code, shown once. Sign-in does not \\
                           ask for it until POST /me/mfa/totp/{id}/verify proves it",
        ),
        (status = 409, description = "An authenticator is already active", body = identity_shared::error::Problem, content_type = "application/problem+json"),
        JsonBody, SignedIn, Unproven, AttemptsLimited, HashingBusy,
    ),
)]
async fn enrol_totp(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(req): ApiJson<StepUpRequest>,
) -> AppResult<impl IntoResponse> {
    let enrolment = factors::enrol_totp(&state, &caller, &req.parse()?).await?;
    Ok(no_store(StatusCode::CREATED, enrolment))
}

#[utoipa::path(
    post, path = "/me/mfa/totp/{id}/verify", tag = "mfa", request_body = VerifyTotpRequest,
    params(("id" = Uuid, Path, description = "Factor id")),
    security(("bearer" = [])),
    responses(
        (
            status = 200, body = FactorActivated,
            description = "Active: sign-in asks for its codes from now on. Ten recovery codes, shown once; this \\
                           session counts as having proved the factor and the user's other sessions end",
        ),
        JsonBody, SignedIn, NotFound, Conflict, AttemptsLimited,
    ),
)]
async fn verify_totp(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    FactorPath(id): FactorPath,
    ApiJson(req): ApiJson<VerifyTotpRequest>,
) -> AppResult<impl IntoResponse> {
    let activated = factors::activate_totp(&state, &caller, id, &req.parse()?, client.ip).await?;
    Ok(no_store(StatusCode::OK, activated))
}

#[utoipa::path(
    delete, path = "/me/mfa/{id}", tag = "mfa", request_body = StepUpRequest,
    params(("id" = Uuid, Path, description = "Factor id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed; with the last active factor go the recovery codes"),
        JsonBody, SignedIn, NotFound, AttemptsLimited, HashingBusy,
    ),
)]
async fn remove_factor(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    FactorPath(id): FactorPath,
    ApiJson(req): ApiJson<StepUpRequest>,
) -> AppResult<StatusCode> {
    factors::remove(&state, &caller, id, &req.parse()?, client.ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/me/mfa/recovery-codes", tag = "mfa", request_body = StepUpRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Ten new recovery codes, shown once; the old ones stop working", body = RecoveryCodes),
        JsonBody, SignedIn, Conflict, AttemptsLimited, HashingBusy,
    ),
)]
async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiJson(req): ApiJson<StepUpRequest>,
) -> AppResult<impl IntoResponse> {
    let codes: RecoveryCodes = factors::regenerate_codes(&state, &caller, &req.parse()?, client.ip).await?;
    Ok(no_store(StatusCode::OK, codes))
}

#[utoipa::path(
    delete, path = "/users/{id}/mfa", tag = "admin",
    request_body(content = Option<StepUpRequest>, description = "Required when the admin resets their own factors: the same fresh proof as DELETE /me/mfa/{id}"),
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every factor and recovery code of the user is gone and every session ended; \\
                                      they sign in with the password alone and may enrol again"),
        JsonBody, OrgRoute, AttemptsLimited, HashingBusy,
    ),
)]
async fn reset_user_factors(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    UserPath(id): UserPath,
    OptionalJson(req): OptionalJson<StepUpRequest>,
) -> AppResult<StatusCode> {
    // Only an admin's own factors need the proof; a body on another user's reset is ignored.
    let own = id == admin.user.id;
    let step_up = req.filter(|_| own).map(StepUpRequest::parse).transpose()?;
    factors::reset(&state, &admin, id, step_up.as_ref(), client.ip).await?;
    Ok(StatusCode::NO_CONTENT)
}
