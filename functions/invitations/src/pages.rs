//! The hosted invitation page at `/pages/invitations/accept?token=`: a GET shows who invites
//! whom to what (a mail scanner's fetch spends nothing); the page's own forms POST to join,
//! by creating the account or with its password (and then its authenticator's code, for an
//! account with one), or to decline.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{any, get};
use identity_shared::AppError;
use identity_shared::auth::tokens::Opaque;
use identity_shared::error::FieldError;
use identity_shared::http::{AppState, Client};
use identity_shared::models::{
    Accepted, ClientInfo, DisplayName, FieldErrors, InvitationPreview, InvitationStatus, Password,
};
use identity_shared::pages::form::{Https, method_not_allowed, new_password_twice, not_found};
use identity_shared::pages::views::{self, Link};
use identity_shared::pages::{Csrf, Page, PageForm, PageToken};
use identity_shared::services::joining::{self, Accepting, Joining};
use identity_shared::services::second_factor::{self, Proof};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The page's routes (HTML, so not in the OpenAPI document).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/pages/invitations/accept", get(show).post(answer).fallback(method_not_allowed))
        // On AWS every /pages/invitations/ path reaches this function: unknown ones get a page too.
        .route("/pages/invitations/{*rest}", any(not_found))
}

/// The page sits one folder below `/pages/`.
const DEPTH: usize = 1;

async fn show(
    State(state): State<AppState>,
    Client(client): Client,
    Https(https): Https,
    headers: HeaderMap,
    PageToken(token): PageToken,
) -> Page {
    let csrf = Csrf::for_page(&headers);
    let page = match open(&state, &token, &client).await {
        Ok((_, preview)) => form_page(&preview, &csrf, &token, "", &[]),
        Err(page) => page,
    };
    page.below(DEPTH).cookie(csrf.set_cookie(https))
}

/// What the page's forms send.
#[derive(Deserialize)]
struct Answer {
    token: String,
    csrf: String,
    action: String,
    name: Option<String>,
    password: Option<SecretString>,
    password_confirm: Option<SecretString>,
    mfa_token: Option<SecretString>,
    code: Option<SecretString>,
}

async fn answer(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    PageForm(form): PageForm<Answer>,
) -> Page {
    respond(&state, &client, &headers, form).await.unwrap_or_else(|page| page).below(DEPTH)
}

async fn respond(state: &AppState, client: &ClientInfo, headers: &HeaderMap, form: Answer) -> Result<Page, Page> {
    let csrf = Csrf::check(headers, &form.token, &form.csrf)?;
    let (token, preview) = open(state, &form.token, client).await?;
    match form.action.as_str() {
        "decline" => {
            joining::decline(state, &token, client.ip).await?;
            let lines = [format!("You will not join {}. Nothing else has changed.", preview.org_name)];
            Ok(Page::new("Invitation declined", views::done("Invitation declined", &lines, None)))
        }
        "join" => {
            let name = form.name.as_deref().unwrap_or_default();
            let joining = match who_joins(&preview, &form) {
                Ok(Joiner::Password(password)) => {
                    joining::accept_with_password(state, &token, &password, client.clone()).await
                }
                Ok(Joiner::SignUp(by)) => {
                    joining::accept(state, &token, by, client.clone()).await.map(|a| Joining::Joined(Box::new(a)))
                }
                Err(refused) => return Err(form_page(&preview, &csrf, &form.token, name, &refused)),
            };
            match joining {
                Err(AppError::Unauthorized(_)) => {
                    let refused = [FieldError::new("password", "is not this account's password")];
                    Err(form_page(&preview, &csrf, &form.token, name, &refused).status(StatusCode::UNAUTHORIZED))
                }
                Ok(Joining::NeedsCode(waiting)) => Ok(code_page(&preview, &csrf, &form.token, &waiting.mfa_token, &[])),
                Ok(Joining::Joined(accepted)) => Ok(joined(state, &preview, &accepted)),
                Err(other) => Err(other.into()),
            }
        }
        "code" => {
            let mfa_token = form.mfa_token.clone().unwrap_or_default();
            let typed = form.code.as_ref().map(|c| c.expose_secret().to_owned()).unwrap_or_default();
            let Some(proof) = Proof::either(&typed) else {
                let refused = [FieldError::new("code", "must be the 6 digits of the app, or a recovery code")];
                let page = code_page(&preview, &csrf, &form.token, mfa_token.expose_secret(), &refused);
                return Err(page.status(StatusCode::UNPROCESSABLE_ENTITY));
            };
            let Some(waiting) = Opaque::parse(mfa_token.clone()) else {
                return Err(Page::error(&AppError::Unauthorized(
                    "The sign-in step expired; open the link again.".into(),
                )));
            };
            match joining::accept_with_code(state, &token, &waiting, &proof, client.clone()).await {
                Ok(accepted) => Ok(joined(state, &preview, &accepted)),
                Err(AppError::Unauthorized(detail)) if detail == second_factor::WRONG_CODE => {
                    let refused = [FieldError::new("code", "is wrong, or has already been used")];
                    let page = code_page(&preview, &csrf, &form.token, mfa_token.expose_secret(), &refused);
                    Err(page.status(StatusCode::UNAUTHORIZED))
                }
                Err(other) => Err(other.into()),
            }
        }
        _ => Err(Page::error(&AppError::BadRequest("The form is incomplete; open the link again.".into()))),
    }
}

/// The token and its invitation, if it is one that can still be answered; else its page.
async fn open(state: &AppState, raw: &str, client: &ClientInfo) -> Result<(Opaque, InvitationPreview), Page> {
    let token = Opaque::parse(raw.to_owned().into()).ok_or_else(|| Page::error(&joining::malformed_token()))?;
    let preview = joining::preview(state, &token, client.ip).await?;
    if preview.status != InvitationStatus::Pending || preview.expires_at <= chrono::Utc::now() {
        let (title, body) = views::invitation_closed(&preview);
        let status = match preview.status {
            InvitationStatus::Accepted | InvitationStatus::Declined => StatusCode::CONFLICT,
            _ => StatusCode::GONE,
        };
        return Err(Page::new(title, body).status(status));
    }
    Ok((token, preview))
}

/// How the invitee joins: with the existing account's password, or as a new account.
enum Joiner {
    Password(Password),
    SignUp(Accepting),
}

fn who_joins(preview: &InvitationPreview, form: &Answer) -> Result<Joiner, Vec<FieldError>> {
    let mut fields = FieldErrors::default();
    if preview.account_exists {
        let password = fields.check("password", Password::parse(form.password.clone().unwrap_or_default()));
        return fields.finish_form(|| password.map(Joiner::Password));
    }
    let name = fields.check("name", DisplayName::parse(form.name.as_deref().unwrap_or_default()));
    let password = new_password_twice(&mut fields, form.password.as_ref(), form.password_confirm.as_ref());
    fields.finish_form(|| Some(Joiner::SignUp(Accepting::SignUp { name: name?, password: password?, sign_in: false })))
}

/// The page saying the invitee joined.
fn joined(state: &AppState, preview: &InvitationPreview, accepted: &Accepted) -> Page {
    let roles = accepted.member.roles.join(", ");
    let title = format!("You joined {}", preview.org_name);
    let lines = [
        format!("You are a member of {} as {roles}.", preview.org_name),
        format!("Sign in as {} to get started.", accepted.user.email),
    ];
    Page::new(title.clone(), views::done(&title, &lines, state.config().mail.pages_return_url.as_deref()))
}

/// The code step of "sign in and join".
fn code_page(preview: &InvitationPreview, csrf: &Csrf, token: &str, mfa_token: &str, refused: &[FieldError]) -> Page {
    let field = csrf.field(token);
    let body = views::invitation_code(preview, Link { token, csrf: &field }, mfa_token, refused);
    Page::new(format!("Join {}", preview.org_name), body).org_logo(&preview.org_name, preview.org_logo_url.as_deref())
}

fn form_page(preview: &InvitationPreview, csrf: &Csrf, token: &str, name: &str, refused: &[FieldError]) -> Page {
    let field = csrf.field(token);
    let body = views::invitation(preview, Link { token, csrf: &field }, name, refused);
    let page = Page::new(format!("Join {}", preview.org_name), body)
        .org_logo(&preview.org_name, preview.org_logo_url.as_deref());
    if refused.is_empty() { page } else { page.status(StatusCode::UNPROCESSABLE_ENTITY) }
}
