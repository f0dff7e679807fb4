//! Refusals in RFC 6749 §5.2's words, and failures that are not refusals.

use std::time::Duration;

use crate::error::AppError;

/// RFC 6749 §5.2 error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthErrorCode {
    /// Malformed, missing or repeated parameters.
    InvalidRequest,
    /// Unknown client, wrong secret, or no authentication.
    InvalidClient,
    /// The code or refresh token is invalid, expired, spent, or another client's.
    InvalidGrant,
    /// The client may not use this grant.
    UnauthorizedClient,
    /// A grant this server does not issue.
    UnsupportedGrantType,
    /// A scope that is not the client's to ask for.
    InvalidScope,
    /// Too many token requests this minute (answered 429 with Retry-After).
    TemporarilyUnavailable,
    /// The client may not use this endpoint (answered 403).
    AccessDenied,
}

impl OAuthErrorCode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidGrant => "invalid_grant",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthErrorCode::AccessDenied => "access_denied",
        }
    }
}

/// A refusal as RFC 6749 words it, or a dependency's failure.
#[derive(Debug)]
pub struct OAuthError {
    /// The code.
    pub code: OAuthErrorCode,
    /// What was wrong.
    pub description: String,
    /// The client authenticated with HTTP Basic: a 401 names the scheme (RFC 6749 §5.2).
    pub basic_used: bool,
    /// For a locked-out client: when to try again (answered 429).
    pub retry_after: Option<Duration>,
}

impl OAuthError {
    /// A refusal with this code.
    pub fn new(code: OAuthErrorCode, description: &str) -> OAuthError {
        OAuthError { code, description: description.to_owned(), basic_used: false, retry_after: None }
    }

    /// An `invalid_request`.
    pub fn invalid_request(description: &str) -> OAuthError {
        OAuthError::new(OAuthErrorCode::InvalidRequest, description)
    }

    /// Marks the refusal as one of a client that used HTTP Basic.
    pub fn basic(mut self) -> OAuthError {
        self.basic_used = true;
        self
    }

    /// The HTTP status: 401 for `invalid_client`, 403 for `access_denied`, 429 for a client
    /// locked out or over its limit, else 400.
    pub fn status(&self) -> u16 {
        match (self.retry_after, self.code) {
            (Some(_), _) => 429,
            (None, OAuthErrorCode::InvalidClient) => 401,
            (None, OAuthErrorCode::AccessDenied) => 403,
            _ => 400,
        }
    }
}

/// Why the token endpoint did not answer with a token: a refusal in RFC 6749's words, or a
/// failure of its own (a dependency down: 503 problem+json, as everywhere).
#[derive(Debug)]
pub enum TokenError {
    /// RFC 6749 §5.2.
    Refused(OAuthError),
    /// Anything else.
    Failed(AppError),
}

impl From<OAuthError> for TokenError {
    fn from(e: OAuthError) -> Self {
        TokenError::Refused(e)
    }
}

impl From<AppError> for TokenError {
    fn from(e: AppError) -> Self {
        TokenError::Failed(e)
    }
}

impl From<crate::db::DbError> for TokenError {
    fn from(e: crate::db::DbError) -> Self {
        TokenError::Failed(e.into())
    }
}
