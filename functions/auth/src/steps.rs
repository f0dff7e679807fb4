//! What every page of the hosted sign-in shares: a step's page (its forms bound to the pending
//! request and the browser by the CSRF field), the code step's page, and the error page that
//! sends the user back to the application.

use axum::http::HeaderMap;
use identity_shared::AppError;
use identity_shared::http::AppState;
use identity_shared::pages::views::Link;
use identity_shared::pages::{Csrf, Page, sign_in as views};
use identity_shared::services::provider;
use uuid::Uuid;

/// A step's page, its forms bound to the request by the CSRF field, and allowed to lead back
/// to the application.
pub(crate) fn step_page(
    headers: &HeaderMap,
    https: bool,
    id: Uuid,
    redirect_uri: &str,
    title: &str,
    build: impl FnOnce(Link<'_>) -> maud::Markup,
) -> Page {
    let csrf = Csrf::for_page(headers);
    let token = id.to_string();
    let field = csrf.field(&token);
    Page::new(title, build(Link { token: &token, csrf: &field }))
        .cookie(csrf.set_cookie(https))
        .form_target(Some(redirect_uri))
}

/// An error in the sign-in, as a page that says to start again from the application.
pub(crate) fn sign_in_error(err: &AppError) -> Page {
    Page::error_then(err, identity_shared::pages::views::AFTER_A_SIGN_IN)
}

/// The code step's page for a pending request (after a provider's sign-in).
pub(crate) async fn code_page(state: &AppState, headers: &HeaderMap, https: bool, id: Uuid, mfa_token: &str) -> Page {
    match provider::pending(state, id).await {
        Ok((request, app)) => step_page(headers, https, request.id, &request.redirect_uri, "Enter your code", |link| {
            views::code(&app.name, link, mfa_token, &[])
        }),
        Err(err) => sign_in_error(&err),
    }
}
