//! The hosted sign-in behind `/oauth2/authorize`: email and password, the second factor, the
//! organization picker and sign-up. Every form carries the pending request's id and a CSRF
//! field bound to it; each finished step sets the provider's session cookie and goes back to
//! `sign-in`, which decides what comes next (often: back to the application with a code).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use identity_shared::AppError;
use identity_shared::api::auth::RegisterRequest;
use identity_shared::auth::tokens::Opaque;
use identity_shared::error::FieldError;
use identity_shared::http::{AppState, Client};
use identity_shared::models::{Email, Password};
use identity_shared::pages::form::{Https, method_not_allowed};
use identity_shared::pages::{Csrf, Page, PageForm, sign_in as views};
use identity_shared::repositories::sso::ConnectionRow;
use identity_shared::services::account;
use identity_shared::services::provider::{self, Next, PasswordStep};
use identity_shared::services::second_factor::Proof;
use identity_shared::services::sso::routing;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use uuid::Uuid;

use crate::provider::{see_other, session_cookie, set_session_cookie};
use crate::sso_pages::to_provider;
use crate::steps::{sign_in_error, step_page};

/// The hosted sign-in's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/pages/sign-in", get(show).post(password).fallback(method_not_allowed))
        .route("/pages/sign-in-code", post(code).fallback(method_not_allowed))
        .route("/pages/choose-organization", post(organization).fallback(method_not_allowed))
        .route("/pages/sign-up", get(show_sign_up).post(sign_up).fallback(method_not_allowed))
}

/// The `request` a step's GET names (the first, if sent twice: it is only looked up).
struct RequestQuery {
    request: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let request =
            form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "request").map(|(_, v)| v.into_owned());
        Ok(RequestQuery { request })
    }
}

/// Every form's fields: the request's id (as `token`) and the CSRF field, then the step's own.
#[derive(Deserialize)]
struct StepForm {
    token: String,
    /// Missing is as wrong as forged: the CSRF check refuses it.
    #[serde(default)]
    csrf: String,
    email: Option<String>,
    password: Option<SecretString>,
    name: Option<String>,
    mfa_token: Option<String>,
    code: Option<SecretString>,
    organization: Option<String>,
}

fn request_id(raw: Option<&str>) -> Result<Uuid, Page> {
    raw.and_then(|r| r.parse().ok()).ok_or_else(|| sign_in_error(&provider::request_gone()))
}

/// What `next` shows: a form, the picker, the organization's identity provider, a redirect,
/// or an error.
async fn answer(state: &AppState, headers: &HeaderMap, https: bool, next: Next, cookies: &[String]) -> Response {
    match next {
        Next::SingleSignOn { request, connection } => {
            let hint = request.login_hint.clone();
            to_provider(state, https, &request, &connection, hint.as_deref(), false).await
        }
        Next::SignIn { request, app, org } => {
            // A hint at a domain whose organization signs in through its provider goes there.
            if let Some(hint) = request.login_hint.as_deref().and_then(|h| Email::parse(h).ok()) {
                match routed(state, hint.as_str()).await {
                    Ok(Some(connection)) => {
                        return to_provider(state, https, &request, &connection, Some(hint.as_str()), false).await;
                    }
                    Ok(None) => {}
                    Err(err) => return sign_in_error(&err).into_response(),
                }
            }
            let email = request.login_hint.clone().unwrap_or_default();
            let page = step_page(headers, https, request.id, &request.redirect_uri, "Sign in", |link| {
                views::sign_in(
                    &app.name,
                    org.as_ref().map(|(name, _)| name.as_str()),
                    link,
                    &email,
                    app.allow_sign_up,
                    &[],
                )
            });
            match &org {
                Some((name, logo)) => page.org_logo(name, logo.as_deref()),
                None => page,
            }
            .into_response()
        }
        Next::Pick { request, app, orgs } => {
            step_page(headers, https, request.id, &request.redirect_uri, "Choose an organization", |link| {
                views::pick(&app.name, link, &orgs)
            })
            .into_response()
        }
        Next::Redirect(location) => see_other(&location, cookies),
        Next::Stop(err) => sign_in_error(&err).into_response(),
    }
}

async fn show(State(state): State<AppState>, Https(https): Https, headers: HeaderMap, query: RequestQuery) -> Response {
    let id = match request_id(query.request.as_deref()) {
        Ok(id) => id,
        Err(page) => return page.into_response(),
    };
    let cookie = session_cookie(&headers);
    match provider::resume(&state, id, cookie.as_deref(), None).await {
        Ok(next) => answer(&state, &headers, https, next, &[]).await,
        Err(err) => sign_in_error(&err).into_response(),
    }
}

/// The active SSO connection an address's domain routes to.
async fn routed(state: &AppState, email: &str) -> Result<Option<ConnectionRow>, AppError> {
    let db = identity_shared::db::client(state.pool()).await?;
    routing::for_email(&db, email).await
}

/// The CSRF check and the pending request, for a step's POST.
async fn checked(
    state: &AppState,
    headers: &HeaderMap,
    form: &StepForm,
) -> Result<(provider::AuthRequest, provider::App), Page> {
    Csrf::check(headers, &form.token, &form.csrf)?;
    let id = request_id(Some(&form.token))?;
    provider::pending(state, id).await.map_err(|e| sign_in_error(&e))
}

/// Signed in: the cookie, and back to `sign-in`, which decides what follows (relative: every
/// step lives directly under `/pages/`, below any stage prefix).
fn signed_in(request_id: Uuid, token: &str, https: bool) -> Response {
    see_other(&format!("sign-in?request={request_id}"), &[set_session_cookie(Some(token), https)])
}

async fn password(
    State(state): State<AppState>,
    Client(client): Client,
    Https(https): Https,
    headers: HeaderMap,
    PageForm(form): PageForm<StepForm>,
) -> Response {
    let (request, app) = match checked(&state, &headers, &form).await {
        Ok(found) => found,
        Err(page) => return page.into_response(),
    };
    let typed = form.email.clone().unwrap_or_default();
    let email_again = |refused: Vec<FieldError>, status: StatusCode| {
        step_page(&headers, https, request.id, &request.redirect_uri, "Sign in", |link| {
            views::sign_in(&app.name, None, link, &typed, app.allow_sign_up, &refused)
        })
        .status(status)
        .into_response()
    };
    let email = match Email::parse(&typed) {
        Ok(email) => email,
        Err(message) => {
            return email_again(vec![FieldError::new("email", message)], StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let again = |refused: Vec<FieldError>, status: StatusCode| {
        step_page(&headers, https, request.id, &request.redirect_uri, "Sign in", |link| {
            views::password(&app.name, None, link, email.as_str(), &refused)
        })
        .status(status)
        .into_response()
    };
    // The email step: to the organization's provider, or on to the password.
    let Some(typed_password) = form.password.clone() else {
        return match routed(&state, email.as_str()).await {
            Ok(Some(connection)) => to_provider(&state, https, &request, &connection, Some(email.as_str()), true).await,
            Ok(None) => again(vec![], StatusCode::OK),
            Err(err) => sign_in_error(&err).into_response(),
        };
    };
    let password = match Password::parse(typed_password) {
        Ok(password) => password,
        Err(message) => return again(vec![FieldError::new("password", message)], StatusCode::UNPROCESSABLE_ENTITY),
    };
    match provider::with_password(&state, email.as_str(), &password, &client).await {
        Ok(PasswordStep::SignedIn(token)) => signed_in(request.id, &token, https),
        Ok(PasswordStep::CodeNeeded(mfa_token)) => {
            step_page(&headers, https, request.id, &request.redirect_uri, "Enter your code", |link| {
                views::code(&app.name, link, &mfa_token, &[])
            })
            .into_response()
        }
        Err(AppError::Unauthorized(detail)) => again(vec![FieldError::new("", detail)], StatusCode::UNAUTHORIZED),
        Err(err) => sign_in_error(&err).into_response(),
    }
}

async fn code(
    State(state): State<AppState>,
    Client(client): Client,
    Https(https): Https,
    headers: HeaderMap,
    PageForm(form): PageForm<StepForm>,
) -> Response {
    let (request, app) = match checked(&state, &headers, &form).await {
        Ok(found) => found,
        Err(page) => return page.into_response(),
    };
    let mfa_token = form.mfa_token.clone().unwrap_or_default();
    let again = |refused: Vec<FieldError>, status: StatusCode| {
        step_page(&headers, https, request.id, &request.redirect_uri, "Enter your code", |link| {
            views::code(&app.name, link, &mfa_token, &refused)
        })
        .status(status)
        .into_response()
    };
    let typed = form.code.as_ref().map(|c| c.expose_secret().trim().to_owned()).unwrap_or_default();
    let Some(proof) = Proof::code(&typed).or_else(|| Proof::recovery_code(&typed)) else {
        let why = "must be six digits or a recovery code (xxxxx-xxxxx)";
        return again(vec![FieldError::new("code", why)], StatusCode::UNPROCESSABLE_ENTITY);
    };
    let Some(token) = Opaque::parse(mfa_token.clone().into()) else {
        return sign_in_error(&identity_shared::services::second_factor::invalid_mfa_token()).into_response();
    };
    match provider::with_code(&state, &token, &proof, &client).await {
        Ok(session) => signed_in(request.id, &session, https),
        Err(err) if err.to_string() == identity_shared::services::second_factor::wrong_code().to_string() => {
            again(vec![FieldError::new("code", err.public_detail())], StatusCode::UNAUTHORIZED)
        }
        Err(err) => sign_in_error(&err).into_response(),
    }
}

async fn organization(
    State(state): State<AppState>,
    Https(https): Https,
    headers: HeaderMap,
    PageForm(form): PageForm<StepForm>,
) -> Response {
    let (request, _) = match checked(&state, &headers, &form).await {
        Ok(found) => found,
        Err(page) => return page.into_response(),
    };
    let Some(chosen) = form.organization.as_deref().and_then(|o| o.parse::<Uuid>().ok()) else {
        return sign_in_error(&AppError::BadRequest("Choose one of your organizations.".into())).into_response();
    };
    let cookie = session_cookie(&headers);
    match provider::resume(&state, request.id, cookie.as_deref(), Some(chosen)).await {
        Ok(next) => answer(&state, &headers, https, next, &[]).await,
        Err(err) => sign_in_error(&err).into_response(),
    }
}

async fn show_sign_up(
    State(state): State<AppState>,
    Https(https): Https,
    headers: HeaderMap,
    query: RequestQuery,
) -> Response {
    let id = match request_id(query.request.as_deref()) {
        Ok(id) => id,
        Err(page) => return page.into_response(),
    };
    match provider::pending(&state, id).await {
        Ok((request, app)) if app.allow_sign_up => {
            let email = request.login_hint.clone().unwrap_or_default();
            step_page(&headers, https, id, &request.redirect_uri, "Create your account", |link| {
                views::sign_up(&app.name, link, &email, "", &[])
            })
            .into_response()
        }
        Ok(_) => {
            sign_in_error(&AppError::NotFound("This application does not offer sign-up here.".into())).into_response()
        }
        Err(err) => sign_in_error(&err).into_response(),
    }
}

async fn sign_up(
    State(state): State<AppState>,
    Client(client): Client,
    Https(https): Https,
    headers: HeaderMap,
    PageForm(form): PageForm<StepForm>,
) -> Response {
    let (request, app) = match checked(&state, &headers, &form).await {
        Ok(found) => found,
        Err(page) => return page.into_response(),
    };
    if !app.allow_sign_up {
        return sign_in_error(&AppError::NotFound("This application does not offer sign-up here.".into()))
            .into_response();
    }
    let (email, name) = (form.email.clone().unwrap_or_default(), form.name.clone().unwrap_or_default());
    let req = RegisterRequest {
        email: email.clone(),
        password: form.password.clone().unwrap_or_default(),
        name: name.clone(),
    };
    let result = match req.parse() {
        Ok(registration) => account::register(&state, registration, client).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => step_page(&headers, https, request.id, &request.redirect_uri, "Check your inbox", views::signed_up)
            .into_response(),
        Err(AppError::Validation(refused)) => {
            step_page(&headers, https, request.id, &request.redirect_uri, "Create your account", |link| {
                views::sign_up(&app.name, link, &email, &name, &refused)
            })
            .status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response()
        }
        Err(err) => sign_in_error(&err).into_response(),
    }
}
