//! The OpenID Provider's endpoints: `/oauth2/authorize` (an application's sign-in begins),
//! `/oauth2/userinfo`, and `/oauth2/logout` (RP-Initiated Logout).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use identity_shared::http::{AppState, Authenticated};
use identity_shared::pages::form::Https;
use identity_shared::pages::views::Link;
use identity_shared::pages::{Csrf, Page, sign_in as views};
use identity_shared::services::provider::{self, AuthorizeParams, Next, SignOut, SignOutNext, UserInfo};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The provider's routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(authorize))
        .routes(routes!(userinfo_get, userinfo_post))
        .routes(routes!(logout_get, logout_post))
}

/// The provider session's token from the browser's cookie.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, provider::SESSION_COOKIE)
}

/// The value of the request's cookie `name`.
pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The Set-Cookie of a new provider session (None: the one that clears it).
pub(crate) fn set_session_cookie(token: Option<&str>, https: bool) -> String {
    let builder = cookie::Cookie::build((provider::SESSION_COOKIE, token.unwrap_or_default().to_owned()))
        .path("/")
        .http_only(true)
        .secure(https)
        .same_site(cookie::SameSite::Lax);
    let max_age = match token {
        Some(_) => cookie::time::Duration::seconds(provider::BROWSER_SESSION_TTL.as_secs() as i64),
        None => cookie::time::Duration::ZERO,
    };
    builder.max_age(max_age).build().to_string()
}

/// A 303 to `location`, setting these cookies.
pub(crate) fn see_other(location: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    for cookie in cookies.iter().filter_map(|c| HeaderValue::from_str(c).ok()) {
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}

#[utoipa::path(
    get, path = "/oauth2/authorize", tag = "oidc",
    params(
        ("client_id" = String, Query, description = "The application's client_id"),
        ("redirect_uri" = String, Query, description = "One of its redirect URIs, exactly"),
        ("response_type" = String, Query, description = "`code`"),
        ("scope" = String, Query, description = "`openid` and any of `profile email offline_access` it registered"),
        ("code_challenge" = String, Query, description = "PKCE: BASE64URL(SHA256(code_verifier))"),
        ("code_challenge_method" = String, Query, description = "`S256`"),
        ("state" = Option<String>, Query, description = "Echoed to the redirect URI"),
        ("nonce" = Option<String>, Query, description = "Put in the ID token"),
        ("prompt" = Option<String>, Query, description = "`none` (no page: an error if the user must act) or `login` (sign in again)"),
        ("max_age" = Option<i64>, Query, description = "The oldest sign-in that counts, in seconds"),
        ("login_hint" = Option<String>, Query, description = "The email to fill in"),
        ("organization" = Option<String>, Query, description = "An organization's id, or `select` to let the user pick one of theirs"),
    ),
    responses(
        (status = 303, description = "To the hosted sign-in, or back to the redirect URI with `code`, `state` and `iss` (or `error`)"),
        (status = 403, description = "An HTML page: the application signs in only confirmed email addresses", body = String, content_type = "text/html"),
        (status = 422, description = "An HTML page: the client or redirect URI cannot be trusted, so nothing is redirected", body = String, content_type = "text/html"),
    ),
)]
async fn authorize(State(state): State<AppState>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let params = match AuthorizeParams::parse(query.as_deref().unwrap_or_default()) {
        Ok(params) => params,
        Err(why) => return bad_request_page(&why).into_response(),
    };
    let cookie = session_cookie(&headers);
    match provider::authorize(&state, &params, cookie.as_deref()).await {
        Ok(Next::SignIn { request, .. } | Next::Pick { request, .. } | Next::SingleSignOn { request, .. }) => {
            see_other(&format!("../pages/sign-in?request={}", request.id), &[])
        }
        Ok(Next::Redirect(location)) => see_other(&location, &[]),
        Ok(Next::Stop(err)) | Err(err) => Page::error(&err).outside_pages().into_response(),
    }
}

fn bad_request_page(why: &str) -> Page {
    Page::error(&identity_shared::AppError::invalid("request", why)).outside_pages()
}

#[utoipa::path(
    get, path = "/oauth2/userinfo", tag = "oidc",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OIDC Core §5.3: the claims the access token's scopes allow", body = UserInfo),
        identity_shared::api::problems::SignedIn,
    ),
)]
async fn userinfo_get(State(state): State<AppState>, Authenticated(caller): Authenticated) -> Response {
    userinfo(&state, &caller).await
}

#[utoipa::path(
    post, path = "/oauth2/userinfo", tag = "oidc",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The same as GET", body = UserInfo),
        identity_shared::api::problems::SignedIn,
    ),
)]
async fn userinfo_post(State(state): State<AppState>, Authenticated(caller): Authenticated) -> Response {
    userinfo(&state, &caller).await
}

async fn userinfo(state: &AppState, caller: &identity_shared::services::access::Caller) -> Response {
    match provider::userinfo(state, caller).await {
        Ok(info) => ([(header::CACHE_CONTROL, "no-store")], Json(info)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The end-session request, from a query or a form.
#[derive(Debug, Default, serde::Deserialize)]
struct LogoutParams {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    /// The confirmation page's CSRF field.
    csrf: Option<String>,
}

impl LogoutParams {
    fn from_pairs(pairs: &[(String, String)]) -> LogoutParams {
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        LogoutParams {
            id_token_hint: get("id_token_hint"),
            client_id: get("client_id"),
            post_logout_redirect_uri: get("post_logout_redirect_uri"),
            state: get("state"),
            csrf: None,
        }
    }

    fn sign_out(&self) -> SignOut {
        let some = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        SignOut {
            id_token_hint: some(&self.id_token_hint),
            client_id: some(&self.client_id),
            post_logout_redirect_uri: some(&self.post_logout_redirect_uri),
            state: some(&self.state),
        }
    }
}

/// What the CSRF field of the sign-out confirmation binds to.
const SIGN_OUT_FORM: &str = "sign-out";

#[utoipa::path(
    get, path = "/oauth2/logout", tag = "oidc",
    params(
        ("id_token_hint" = Option<String>, Query, description = "An ID token we issued (expired or not): who signs out"),
        ("client_id" = Option<String>, Query, description = "The application, without a hint"),
        ("post_logout_redirect_uri" = Option<String>, Query, description = "One the application registered, exactly"),
        ("state" = Option<String>, Query, description = "Echoed to it"),
    ),
    responses(
        (status = 303, description = "Signed out: to the post-logout URI with `state`"),
        (status = 200, description = "An HTML page: signed out, or asking to confirm when no ID token vouches for the request", body = String, content_type = "text/html"),
        (status = 422, description = "An HTML page: the hint or the URI cannot be trusted", body = String, content_type = "text/html"),
    ),
)]
async fn logout_get(
    State(state): State<AppState>,
    Https(https): Https,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    // Each parameter once (a repeated one is refused as a page, not as the extractor's text).
    let params = match AuthorizeParams::parse(query.as_deref().unwrap_or_default()) {
        Ok(parsed) => LogoutParams::from_pairs(&parsed.pairs),
        Err(why) => return bad_request_page(&why).into_response(),
    };
    logout(&state, https, &headers, params, false).await
}

#[utoipa::path(
    post, path = "/oauth2/logout", tag = "oidc",
    request_body(content = identity_shared::api::oauth::LogoutForm, content_type = "application/x-www-form-urlencoded", description = "The same parameters as GET, as a form"),
    responses(
        (status = 303, description = "Signed out: to the post-logout URI with `state`"),
        (status = 200, description = "An HTML page: signed out, or asking to confirm", body = String, content_type = "text/html"),
        (status = 403, description = "An HTML page: the confirmation was not sent from its page", body = String, content_type = "text/html"),
        (status = 400, description = "An HTML page: the form could not be read", body = String, content_type = "text/html"),
        (status = 415, description = "An HTML page: the body is not a form", body = String, content_type = "text/html"),
        (status = 422, description = "An HTML page: the hint or the URI cannot be trusted", body = String, content_type = "text/html"),
    ),
)]
async fn logout_post(
    State(state): State<AppState>,
    Https(https): Https,
    headers: HeaderMap,
    identity_shared::pages::PageForm(params): identity_shared::pages::PageForm<LogoutParams>,
) -> Response {
    // The confirmation page's own form confirms; an application's form post does not.
    let confirmed = match &params.csrf {
        Some(field) => match Csrf::check(&headers, SIGN_OUT_FORM, field) {
            Ok(_) => true,
            Err(page) => return page.outside_pages().into_response(),
        },
        None => false,
    };
    logout(&state, https, &headers, params, confirmed).await
}

async fn logout(state: &AppState, https: bool, headers: &HeaderMap, params: LogoutParams, confirmed: bool) -> Response {
    let req = params.sign_out();
    let cookie = session_cookie(headers);
    let clear = set_session_cookie(None, https);
    match provider::end_session(state, &req, cookie.as_deref(), confirmed).await {
        Ok(SignOutNext::Done(Some(location))) => see_other(&location, &[clear]),
        Ok(SignOutNext::Done(None)) => {
            Page::new("You are signed out", views::signed_out()).cookie(Some(clear)).outside_pages().into_response()
        }
        Ok(SignOutNext::Confirm) => {
            let csrf = Csrf::for_page(headers);
            let field = csrf.field(SIGN_OUT_FORM);
            let link = Link { token: SIGN_OUT_FORM, csrf: &field };
            let hidden = [
                ("id_token_hint", req.id_token_hint.as_deref()),
                ("client_id", req.client_id.as_deref()),
                ("post_logout_redirect_uri", req.post_logout_redirect_uri.as_deref()),
                ("state", req.state.as_deref()),
            ];

            Page::new("Sign out?", views::sign_out(link, &hidden))
                .cookie(csrf.set_cookie(https))
                .form_target(req.post_logout_redirect_uri.as_deref())
                .outside_pages()
                .into_response()
        }
        Err(err) => Page::error(&err).outside_pages().into_response(),
    }
}
