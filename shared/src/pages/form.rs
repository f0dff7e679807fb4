//! What page handlers read from a request: an HTML form's fields, the link's token, whether
//! the request came over HTTPS. Bad input here is a page, never problem+json.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use lambda_http::RequestExt;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::models::{FieldErrors, NewPassword};
use crate::pages::Page;

/// An `application/x-www-form-urlencoded` body, as the pages' forms send it.
#[derive(Debug)]
pub struct PageForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PageForm<T> {
    type Rejection = Page;

    async fn from_request(req: Request, state: &S) -> Result<Self, Page> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(Page::error(&AppError::UnsupportedMediaType));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            Page::error(&if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge(crate::http::extract::MAX_BODY_BYTES)
            } else {
                AppError::BadRequest("The form could not be read.".into())
            })
        })?;
        serde_urlencoded::from_bytes(&bytes)
            .map(PageForm)
            .map_err(|_| Page::error(&AppError::BadRequest("The form is incomplete; open the link again.".into())))
    }
}

/// A new password typed twice: checked against the rules, then against its repetition, each
/// failure noted in `fields` under `password` or `password_confirm`.
pub fn new_password_twice(
    fields: &mut FieldErrors,
    password: Option<&SecretString>,
    repeated: Option<&SecretString>,
) -> Option<NewPassword> {
    let password = password.cloned().unwrap_or_default();
    let same = repeated.map(ExposeSecret::expose_secret) == Some(password.expose_secret());
    let new = fields.check("password", NewPassword::parse(password))?;
    if !same {
        fields.push("password_confirm", "does not match the password");
        return None;
    }
    Some(new)
}

/// The answer to a method a page does not take (a page, like every error here).
pub async fn method_not_allowed() -> Page {
    Page::error(&AppError::MethodNotAllowed)
}

/// The answer to a path under `/pages/` that names no page.
pub async fn not_found() -> Page {
    Page::error(&AppError::NotFound("There is no page here; check the link.".into()))
}

/// The `?token=` of a mailed link (empty when there is none).
#[derive(Clone, Debug, Default)]
pub struct PageToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PageToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let token = form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        Ok(PageToken(token))
    }
}

/// Whether the browser reached us over HTTPS (API Gateway always; `identity serve` on
/// loopback not), which decides whether the CSRF cookie may be marked Secure.
#[derive(Clone, Copy, Debug)]
pub struct Https(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for Https {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Https(parts.extensions.request_context_ref().is_some() || parts.uri.scheme_str() == Some("https")))
    }
}
