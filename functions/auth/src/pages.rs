//! The hosted account pages behind the mailed links: verify an email, choose a new password
//! (and ask for a link), confirm an email change; the stylesheet, and a page for unknown
//! `/pages/` paths. A GET only shows; each action is a POST from the page's own form.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{any, get};
use identity_shared::auth::tokens::Opaque;
use identity_shared::error::FieldError;
use identity_shared::http::{AppState, Client};
use identity_shared::models::{Email, EnrollmentMode, FieldErrors, NewPassword};
use identity_shared::pages::form::{Https, method_not_allowed, new_password_twice, not_found};
use identity_shared::pages::views::{self, Link};
use identity_shared::pages::{Csrf, Page, PageForm, PageToken, page};
use identity_shared::services::account::{self, PasswordReset};
use identity_shared::services::email_change;
use maud::Markup;
use secrecy::SecretString;
use serde::Deserialize;

/// The pages' routes (HTML, so not in the OpenAPI document).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/pages/style.css", get(stylesheet))
        .route("/pages/brand.css", get(brand_stylesheet))
        .route("/pages/verify-email", get(show_verify).post(verify).fallback(method_not_allowed))
        .route("/pages/reset-password", get(show_reset).post(reset).fallback(method_not_allowed))
        .route("/pages/forgot-password", get(show_forgot).post(forgot).fallback(method_not_allowed))
        .route(
            "/pages/confirm-email-change",
            get(show_email_change).post(confirm_email_change).fallback(method_not_allowed),
        )
        .route(
            "/pages/cancel-email-change",
            get(show_cancel_email_change).post(cancel_email_change).fallback(method_not_allowed),
        )
        .route("/pages/{*rest}", any(not_found))
}

async fn stylesheet() -> Response {
    page::stylesheet()
}

/// The deployment's accent as the pages' colour variables (empty without one).
async fn brand_stylesheet(State(state): State<AppState>) -> Response {
    page::stylesheet_of(state.config().brand.css())
}

/// A link's form, as the pages send it: the token, the CSRF field, and the new password twice
/// or an email where the page asks for one.
#[derive(Deserialize)]
struct LinkForm {
    token: String,
    csrf: String,
    password: Option<SecretString>,
    password_confirm: Option<SecretString>,
    email: Option<String>,
}

/// A page showing a link's form, with the browser's CSRF cookie set on a first visit.
fn with_form(headers: &HeaderMap, https: bool, token: &str, build: impl FnOnce(Link<'_>) -> Page) -> Page {
    let csrf = Csrf::for_page(headers);
    let field = csrf.field(token);
    build(Link { token, csrf: &field }).cookie(csrf.set_cookie(https))
}

fn checked(headers: &HeaderMap, form: &LinkForm) -> Result<Csrf, Page> {
    Csrf::check(headers, &form.token, &form.csrf)
}

fn opaque(raw: &str) -> Result<Opaque, Page> {
    Opaque::parse(raw.to_owned().into()).ok_or_else(|| Page::error(&account::bad_token()))
}

fn done(state: &AppState, title: &str, lines: &[String]) -> Page {
    Page::new(title, views::done(title, lines, state.config().mail.pages_return_url.as_deref()))
}

/// A link whose page is one button: its form for a well-formed token, else the error page.
fn one_button(headers: &HeaderMap, https: bool, token: &str, title: &str, view: fn(Link<'_>) -> Markup) -> Page {
    match opaque(token) {
        Ok(_) => with_form(headers, https, token, |link| Page::new(title, view(link))),
        Err(page) => page,
    }
}

async fn show_verify(Https(https): Https, headers: HeaderMap, PageToken(token): PageToken) -> Page {
    one_button(&headers, https, &token, "Confirm your email address", views::verify_email)
}

async fn verify(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    PageForm(form): PageForm<LinkForm>,
) -> Result<Page, Page> {
    checked(&headers, &form)?;
    let (user, enrolled) = account::verify_email(&state, &opaque(&form.token)?, client).await?;
    let mut lines = vec![format!("{} is confirmed.", user.email)];
    // What the address's verified domains did: the organizations joined or waiting.
    lines.extend(enrolled.iter().map(|e| match e.mode {
        EnrollmentMode::AutoJoin => format!("You are now a member of {}.", e.org_name),
        _ => format!("{} invites you to join: sign in to accept or decline.", e.org_name),
    }));
    Ok(done(&state, "Your email address is confirmed", &lines))
}

async fn show_reset(
    State(state): State<AppState>,
    Client(client): Client,
    Https(https): Https,
    headers: HeaderMap,
    PageToken(token): PageToken,
) -> Page {
    let live = match opaque(&token) {
        Ok(t) => account::reset_link_is_live(&state, &t, client.ip).await,
        Err(page) => return page,
    };
    match live {
        Ok(true) => with_form(&headers, https, &token, |link| reset_page(link, &[])),
        Ok(false) => Page::error(&account::bad_token()),
        Err(err) => Page::error(&err),
    }
}

fn reset_page(link: Link<'_>, refused: &[FieldError]) -> Page {
    let page = Page::new("Choose a new password", views::reset_password(link, refused));
    if refused.is_empty() { page } else { page.status(StatusCode::UNPROCESSABLE_ENTITY) }
}

async fn reset(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    PageForm(form): PageForm<LinkForm>,
) -> Result<Page, Page> {
    let csrf = checked(&headers, &form)?;
    let token = opaque(&form.token)?;
    let new_password = new_password(&form).map_err(|refused| {
        let field = csrf.field(&form.token);
        reset_page(Link { token: &form.token, csrf: &field }, &refused)
    })?;
    account::reset_password(&state, PasswordReset { token, new_password }, client).await?;
    let lines = ["Every device that was signed in has been signed out. Sign in with the new password.".to_owned()];
    Ok(done(&state, "Your password is changed", &lines))
}

/// The new password, if it meets the rules and was typed the same twice.
fn new_password(form: &LinkForm) -> Result<NewPassword, Vec<FieldError>> {
    let mut fields = FieldErrors::default();
    let new = new_password_twice(&mut fields, form.password.as_ref(), form.password_confirm.as_ref());
    fields.finish_form(|| new)
}

/// The forgot-password form has no mailed token: its CSRF field is bound to the empty one.
async fn show_forgot(Https(https): Https, headers: HeaderMap) -> Page {
    with_form(&headers, https, "", |link| Page::new("Forgot your password?", views::forgot_password(link, "", &[])))
}

async fn forgot(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    PageForm(form): PageForm<LinkForm>,
) -> Result<Page, Page> {
    let csrf = checked(&headers, &form)?;
    let raw = form.email.as_deref().unwrap_or_default();
    let email = Email::parse(raw).map_err(|message| {
        let field = csrf.field(&form.token);
        let refused = [FieldError::new("email", message)];
        Page::new("Forgot your password?", views::forgot_password(Link { token: "", csrf: &field }, raw, &refused))
            .status(StatusCode::UNPROCESSABLE_ENTITY)
    })?;
    account::forgot_password(&state, &email, client).await?;
    // The same words whether or not the address has an account.
    let lines =
        [format!("If {email} has an account, a link to choose a new password is on its way. It works for an hour.")];
    Ok(done(&state, "Check your inbox", &lines))
}

/// Names the account that would move, and from which address, before anything is spent: a
/// confirmation mail nobody asked for must not move a stranger's account onto the clicker's
/// address.
async fn show_email_change(
    State(state): State<AppState>,
    Client(client): Client,
    Https(https): Https,
    headers: HeaderMap,
    PageToken(token): PageToken,
) -> Page {
    let change = match opaque(&token) {
        Ok(t) => email_change::pending(&state, &t, client.ip).await,
        Err(page) => return page,
    };
    match change {
        Ok(change) => with_form(&headers, https, &token, |link| {
            Page::new("Confirm your new email address", views::confirm_email_change(link, &change))
        }),
        Err(err) => Page::error(&err),
    }
}

async fn confirm_email_change(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    PageForm(form): PageForm<LinkForm>,
) -> Result<Page, Page> {
    checked(&headers, &form)?;
    let user = email_change::confirm(&state, &opaque(&form.token)?, client).await?;
    let lines = [format!("You now sign in as {}. Your other devices were signed out.", user.email)];
    Ok(done(&state, "Your email address is changed", &lines))
}

async fn show_cancel_email_change(Https(https): Https, headers: HeaderMap, PageToken(token): PageToken) -> Page {
    one_button(&headers, https, &token, "Cancel the change of your sign-in address", views::cancel_email_change)
}

async fn cancel_email_change(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    PageForm(form): PageForm<LinkForm>,
) -> Result<Page, Page> {
    checked(&headers, &form)?;
    let new_email = email_change::cancel_by_link(&state, &opaque(&form.token)?, client.ip).await?;
    let forgot = format!("{}/forgot-password", state.config().mail.app_base_url);
    Ok(Page::new("The change is cancelled", views::email_change_cancelled(&new_email, &forgot)))
}
