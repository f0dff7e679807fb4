//! OAuth 2.0 for machines: the token endpoint (client credentials), token revocation, and the
//! authorization server metadata an OAuth library reads first.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use identity_shared::AppError;
use identity_shared::api::oauth::{TokenCheckForm, TokenEndpointAnswer, TokenForm};
use identity_shared::auth::discovery::AuthorizationServer;
use identity_shared::http::oauth::{ClientForm, OAuthErrorBody};
use identity_shared::http::{AppState, Client};
use identity_shared::services::oauth::{self, Introspection, OAuthError, OAuthErrorCode, TokenError};
use identity_shared::services::provider;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The OAuth routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token))
        .routes(routes!(revoke))
        .routes(routes!(introspect))
        .routes(routes!(authorization_server))
}

/// A refusal in RFC 6749's JSON, or a failure as the problem it is.
fn answer_error(e: TokenError) -> Response {
    match e {
        TokenError::Refused(refusal) => refusal.into_response(),
        TokenError::Failed(failure) => failure.into_response(),
    }
}

#[utoipa::path(
    post, path = "/oauth2/token", tag = "oauth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens (Cache-Control: no-store): a machine's access token; or an application's access token, ID token and, with offline_access, refresh token", body = TokenEndpointAnswer),
        (status = 400, description = "RFC 6749 error: invalid_request, invalid_grant (a code or refresh token that is invalid, expired, spent, another client's, or whose redirect_uri or code_verifier does not match), unsupported_grant_type or invalid_scope", body = OAuthErrorBody),
        (status = 401, description = "RFC 6749 error invalid_client (with WWW-Authenticate when Basic was used)", body = OAuthErrorBody),
        (status = 429, description = "Too many wrong secrets for this client, or too many token requests this minute (Retry-After)", body = OAuthErrorBody),
        (status = 503, description = "Database unavailable", body = identity_shared::error::Problem<'static>, content_type = "application/problem+json"),
    ),
)]
async fn token(
    State(state): State<AppState>,
    Client(client): Client,
    ClientForm { form, auth }: ClientForm,
) -> Response {
    let answer = match form.required("grant_type") {
        Ok("client_credentials") => oauth::client_credentials(&state, &auth, form.get("scope"))
            .await
            .map(|a| super::no_store(a).into_response()),
        Ok("authorization_code") => {
            let params = (form.required("code"), form.required("redirect_uri"), form.required("code_verifier"));
            let (code, redirect_uri, verifier) = match params {
                (Ok(c), Ok(r), Ok(v)) => (c, r, v),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e.into_response(),
            };
            provider::exchange_code(&state, &auth, code, redirect_uri, verifier, client)
                .await
                .map(|a| super::no_store(a).into_response())
        }
        Ok("refresh_token") => match form.required("refresh_token") {
            Ok(token) => provider::refresh(&state, &auth, token).await.map(|a| super::no_store(a).into_response()),
            Err(refusal) => return refusal.into_response(),
        },
        Ok(_) => {
            let why = "grant_type must be client_credentials, authorization_code or refresh_token";
            return OAuthError::new(OAuthErrorCode::UnsupportedGrantType, why).into_response();
        }
        Err(refusal) => return refusal.into_response(),
    };
    answer.unwrap_or_else(answer_error)
}

#[utoipa::path(
    post, path = "/oauth2/revoke", tag = "oauth",
    request_body(content = TokenCheckForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke: the same answer (RFC 7009 §2.2). An application's refresh or access token ends the session both belong to"),
        (status = 400, description = "RFC 6749 error invalid_request", body = OAuthErrorBody),
        (status = 401, description = "RFC 6749 error invalid_client", body = OAuthErrorBody),
        (status = 429, description = "Too many wrong secrets for this client (Retry-After)", body = OAuthErrorBody),
        (status = 503, description = "Database unavailable", body = identity_shared::error::Problem<'static>, content_type = "application/problem+json"),
    ),
)]
async fn revoke(State(state): State<AppState>, ClientForm { form, auth }: ClientForm) -> Response {
    let token = match form.required("token") {
        Ok(token) => token,
        Err(refusal) => return refusal.into_response(),
    };
    let revoked = match provider::names_an_application(&state, &auth).await {
        Ok(true) => provider::revoke(&state, &auth, token).await,
        Ok(false) => oauth::revoke(&state, &auth, token).await,
        Err(e) => Err(e),
    };
    match revoked {
        Ok(()) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response(),
        Err(e) => answer_error(e),
    }
}

#[utoipa::path(
    post, path = "/oauth2/introspect", tag = "oauth",
    request_body(content = TokenCheckForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "RFC 7662: `active`, and for an active token what it is and may do now (Cache-Control: no-store)", body = Introspection),
        (status = 400, description = "RFC 6749 error invalid_request", body = OAuthErrorBody),
        (status = 401, description = "RFC 6749 error invalid_client", body = OAuthErrorBody),
        (status = 403, description = "access_denied: only the platform's own clients may introspect", body = OAuthErrorBody),
        (status = 429, description = "Too many wrong secrets for this client (Retry-After)", body = OAuthErrorBody),
        (status = 503, description = "Database unavailable", body = identity_shared::error::Problem<'static>, content_type = "application/problem+json"),
    ),
)]
async fn introspect(State(state): State<AppState>, ClientForm { form, auth }: ClientForm) -> Response {
    let token = match form.required("token") {
        Ok(token) => token,
        Err(refusal) => return refusal.into_response(),
    };
    match oauth::introspect(&state, &auth, token).await {
        Ok(answer) => super::no_store(answer).into_response(),
        Err(e) => answer_error(e),
    }
}

#[utoipa::path(
    get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    responses((status = 200, description = "RFC 8414 authorization server metadata", body = AuthorizationServer)),
)]
async fn authorization_server(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    let document = AuthorizationServer::of(state.jwt()).map_err(AppError::internal("building the server metadata"))?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=3600")], Json(document)))
}
