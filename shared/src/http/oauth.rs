//! The OAuth endpoints' own HTTP: form bodies (RFC 6749 §3.2: each parameter at most once) and
//! error answers in RFC 6749 §5.2's JSON rather than problem+json, as OAuth clients expect.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use crate::auth::client_assertion;
use crate::error::AppError;
use crate::http::extract::MAX_BODY_BYTES;
use crate::services::oauth::{ClientAuth, OAuthError, OAuthErrorCode};

/// The parameters OAuth defines for the token and revocation endpoints (RFC 6749, 7009, 7521,
/// 8707): each may be sent once. Any other is ignored, repeated or not (RFC 6749 §3.1).
const OAUTH_PARAMETERS: [&str; 16] = [
    "grant_type",
    "scope",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "token",
    "token_type_hint",
    "audience",
    "resource",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "username",
    "password",
];

/// A form body's OAuth parameters, each named once; others are dropped.
#[derive(Debug, Default)]
pub struct OAuthForm(Vec<(String, String)>);

impl OAuthForm {
    /// The value of `name`, if sent (an empty value counts as not sent, RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// The client's credentials: from the Basic header, from the form, or a signed assertion
    /// (RFC 7523); two at once, or a malformed header, is an invalid request (RFC 6749 §2.3.1:
    /// one method per request).
    pub fn client_auth(&self, headers: &HeaderMap) -> Result<ClientAuth, OAuthError> {
        let basic = headers.get(header::AUTHORIZATION).map(basic_credentials).transpose()?;
        let posted = (self.get("client_id"), self.get("client_secret"));
        let assertion = match (self.get("client_assertion_type"), self.get("client_assertion")) {
            (None, None) => None,
            (Some(client_assertion::ASSERTION_TYPE), Some(assertion)) => Some(assertion),
            (Some(client_assertion::ASSERTION_TYPE), None) | (None, Some(_)) => {
                return Err(OAuthError::invalid_request("client_assertion and client_assertion_type go together"));
            }
            (Some(_), _) => {
                let why = format!("client_assertion_type must be {}", client_assertion::ASSERTION_TYPE);
                return Err(OAuthError::new(OAuthErrorCode::InvalidClient, &why));
            }
        };
        match (basic, posted, assertion) {
            (Some(_), (_, Some(_)), _) | (Some(_), _, Some(_)) | (None, (_, Some(_)), Some(_)) => {
                Err(OAuthError::invalid_request("use one client authentication method, not two"))
            }
            (Some((id, secret)), _, None) => Ok(ClientAuth::Basic { client_id: id, secret: secret.into() }),
            (None, (id, None), Some(assertion)) => {
                Ok(ClientAuth::Assertion { client_id: id.map(str::to_owned), assertion: assertion.to_owned().into() })
            }
            (None, (Some(id), Some(secret)), None) => {
                Ok(ClientAuth::Post { client_id: id.to_owned(), secret: secret.to_owned().into() })
            }
            // A client_id alone: a public application, if it is one (the grant decides).
            (None, (Some(id), None), None) => Ok(ClientAuth::Public { client_id: id.to_owned() }),
            (None, _, None) => Err(OAuthError::new(OAuthErrorCode::InvalidClient, "client authentication is required")),
        }
    }
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(value: &HeaderValue) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError::new(OAuthErrorCode::InvalidClient, "the Authorization header is not HTTP Basic").basic();
    let text = value.to_str().map_err(|_| bad())?;
    let (scheme, encoded) = text.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
    Ok((unescape(id).ok_or_else(bad)?, unescape(secret).ok_or_else(bad)?))
}

impl<S: Send + Sync> FromRequest<S> for OAuthForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let form = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| {
            t.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
        if !form {
            return Err(
                OAuthError::invalid_request("the body must be application/x-www-form-urlencoded").into_response()
            );
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| AppError::PayloadTooLarge(MAX_BODY_BYTES).into_response())?;
        let mut pairs: Vec<(String, String)> = vec![];
        for (name, value) in form_urlencoded::parse(&bytes) {
            if !OAUTH_PARAMETERS.contains(&name.as_ref()) {
                continue;
            }
            if pairs.iter().any(|(k, _)| *k == name) {
                return Err(OAuthError::invalid_request(&format!("{name} is sent more than once")).into_response());
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(OAuthForm(pairs))
    }
}

/// An OAuth form and the client's credentials read from it and the Basic header: what the
/// token, revocation and introspection endpoints all start from. Refused in RFC 6749's words.
#[derive(Debug)]
pub struct ClientForm {
    /// The form's OAuth parameters.
    pub form: OAuthForm,
    /// How the client authenticated.
    pub auth: ClientAuth,
}

impl<S: Send + Sync> FromRequest<S> for ClientForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let form = OAuthForm::from_request(req, state).await?;
        let auth = form.client_auth(&headers).map_err(IntoResponse::into_response)?;
        Ok(ClientForm { form, auth })
    }
}

impl OAuthForm {
    /// The value of `name`, or the `invalid_request` that says it is required.
    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| OAuthError::invalid_request(&format!("{name} is required")))
    }
}

/// RFC 6749 §5.2's body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type` or `invalid_scope`.
    pub error: &'static str,
    /// What was wrong, for the developer.
    pub error_description: String,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let body = OAuthErrorBody { error: self.code.as_str(), error_description: self.description.clone() };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.basic_used && status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"identity-api\""));
        }
        if let Some(wait) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
        }
        response
    }
}
