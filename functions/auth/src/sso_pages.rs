//! The hosted sign-in's way through an organization's identity provider: sending the browser
//! there (with the `identity_sso` cookie that binds the sign-in to it), and the provider's
//! redirect back to `/pages/sso-callback`.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use identity_shared::http::{AppState, Client};
use identity_shared::pages::form::{Https, method_not_allowed};
use identity_shared::pages::views::{AFTER_A_SIGN_IN, problem};
use identity_shared::pages::{Page, sign_in as views};
use identity_shared::repositories::sso::ConnectionRow;
use identity_shared::services::provider::AuthRequest;
use identity_shared::services::sso::sign_in::{self as sso, BINDING_COOKIE, Callback, Finished, Purpose, SIGN_IN_TTL};
use maud::html;

use crate::provider::{cookie_value, see_other, set_session_cookie};
use crate::steps::{code_page, sign_in_error};

/// The provider's redirect back.
pub fn routes() -> Router<AppState> {
    Router::new().route("/pages/sso-callback", get(callback).fallback(method_not_allowed))
}

/// The Set-Cookie binding a sign-in to this browser (None: the one that clears it). Lax, so
/// that it comes back with the provider's redirect; as long as the sign-in waits.
fn set_binding_cookie(secret: Option<&str>, https: bool) -> String {
    let max_age = match secret {
        Some(_) => cookie::time::Duration::seconds(SIGN_IN_TTL.as_secs() as i64),
        None => cookie::time::Duration::ZERO,
    };
    cookie::Cookie::build((BINDING_COOKIE, secret.unwrap_or_default().to_owned()))
        .path("/")
        .http_only(true)
        .secure(https)
        .same_site(cookie::SameSite::Lax)
        .max_age(max_age)
        .build()
        .to_string()
}

/// Sends the browser to the connection's provider for `request`. After a form's submission the
/// answer is a page that moves on by itself (a `Refresh`), since a redirect there would be
/// held to the form's CSP `form-action`, which cannot know every provider beforehand.
pub(crate) async fn to_provider(
    state: &AppState,
    https: bool,
    request: &AuthRequest,
    connection: &ConnectionRow,
    login_hint: Option<&str>,
    after_form: bool,
) -> Response {
    let purpose = Purpose::SignIn { request_id: request.id };
    let begun = match sso::begin(state, connection, purpose, login_hint).await {
        Ok(begun) => begun,
        Err(err) => return sign_in_error(&err).into_response(),
    };
    let cookie = set_binding_cookie(begun.binding.as_deref(), https);
    if !after_form {
        return see_other(&begun.url, &[cookie]);
    }
    let body = html! {
        h1 { "Continue to " (connection.name) }
        p.lead { "Your organization signs you in with its own identity provider." }
        a.button href=(begun.url) { "Continue to " (connection.name) }
    };
    let mut response = Page::new("Continue to your organization's sign-in", body).cookie(Some(cookie)).into_response();
    if let Ok(refresh) = HeaderValue::from_str(&format!("0;url={}", begun.url)) {
        response.headers_mut().insert("refresh", refresh);
    }
    response
}

/// The provider's redirect back: a session and on to the pending request, the code step for
/// an account with its own second factor, a test's report, or a page saying what went wrong.
async fn callback(
    State(state): State<AppState>,
    Client(client): Client,
    Https(https): Https,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut back = Callback::default();
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let slot = match k.as_ref() {
            "state" => &mut back.state,
            "code" => &mut back.code,
            "error" => &mut back.error,
            "error_description" => &mut back.error_description,
            "iss" => &mut back.iss,
            _ => continue,
        };
        // A parameter sent twice is as good as none (RFC 6749 §3.1).
        *slot = if slot.is_some() { Some(String::new()) } else { Some(v.into_owned()) };
    }
    let held = cookie_value(&headers, BINDING_COOKIE);
    let clear = set_binding_cookie(None, https);
    match sso::finish(&state, &back, held.as_deref(), &client).await {
        Ok(Finished::SignedIn { request_id, browser_token }) => see_other(
            &format!("sign-in?request={request_id}"),
            &[set_session_cookie(Some(&browser_token), https), clear],
        ),
        Ok(Finished::CodeNeeded { request_id, mfa_token }) => {
            code_page(&state, &headers, https, request_id, &mfa_token).await.cookie(Some(clear)).into_response()
        }
        Ok(Finished::Tested(report)) => Page::new("Connection test", views::sso_tested(&report)).into_response(),
        Ok(Finished::ProviderDown(why)) => {
            let title = "Your identity provider cannot be reached";
            Page::new(title, problem(title, &why, AFTER_A_SIGN_IN))
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .cookie(Some(clear))
                .into_response()
        }
        Err(err) => sign_in_error(&err).cookie(Some(clear)).into_response(),
    }
}
