//! One application error, answered as RFC 9457 `application/problem+json`.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::db::DbError;

/// Media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field in a request body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Path of the field, e.g. `email` or `roles[1]`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError { field: field.into(), message: message.into() }
    }
}

/// Everything a request can fail with, each mapped to one status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the body is not JSON or a parameter is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no, or no valid, credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 403 of its own type: the organization requires a second factor and this session has
    /// not proved one (enrol at POST /me/mfa/totp, then sign in again with a code).
    #[error("{0}")]
    MfaRequired(String),
    /// 404: nothing here (also for things the caller may not know exist).
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 410: it existed and is no longer usable (an expired or revoked invitation).
    #[error("{0}")]
    Gone(String),
    /// 413: the body is larger than allowed.
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 415: the body is not `application/json`.
    #[error("expected a body with content type application/json")]
    UnsupportedMediaType,
    /// 422: the body parsed but fields are invalid.
    #[error("request has invalid fields")]
    Validation(Vec<FieldError>),
    /// 429: too many attempts; try again after the given time.
    #[error("{detail}")]
    TooManyRequests {
        /// What was limited.
        detail: String,
        /// When to try again.
        retry_after: Duration,
    },
    /// 429 of its own type: a quota (per organization, invitation or account) is spent;
    /// `quota` names it, in the problem's `quota` member too.
    #[error("{detail}")]
    QuotaExceeded {
        /// The quota's name, as its setting names it (`invitations_per_org_hour`).
        quota: &'static str,
        /// What was limited and what to do.
        detail: String,
        /// When the window frees a use (for a count of things that exist, a short wait).
        retry_after: Duration,
    },
    /// 503: a dependency (the database) is unavailable.
    #[error("service temporarily unavailable")]
    Unavailable(String),
    /// 503: the request met another head-on in the database (a deadlock or serialization
    /// failure) and was rolled back whole; the router runs it once more before answering this.
    #[error("service temporarily busy")]
    Contention(String),
    /// 500: a bug. The error, with its causes, is logged, never sent.
    #[error("internal error")]
    Internal(anyhow::Error),
}

impl AppError {
    /// Turns an error into a 500 that keeps it as the source of what `doing` was:
    /// `.map_err(AppError::internal("signing the access token"))`.
    pub fn internal<E>(doing: &'static str) -> impl FnOnce(E) -> AppError
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        move |err| AppError::Internal(anyhow::Error::new(err).context(doing))
    }

    /// A 500 for a state that should not occur, said in words.
    pub fn bug(what: impl std::fmt::Display + Send + Sync + 'static) -> AppError {
        AppError::Internal(anyhow::anyhow!("{what}"))
    }

    /// A 422 with a single field error.
    pub fn invalid(field: &str, message: &str) -> AppError {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::MfaRequired(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests { .. } | AppError::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) | AppError::Contention(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad-request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::MfaRequired(_) => "mfa-required",
            AppError::NotFound(_) => "not-found",
            AppError::MethodNotAllowed => "method-not-allowed",
            AppError::Conflict(_) => "conflict",
            AppError::Gone(_) => "gone",
            AppError::PayloadTooLarge(_) => "payload-too-large",
            AppError::UnsupportedMediaType => "unsupported-media-type",
            AppError::Validation(_) => "validation",
            AppError::TooManyRequests { .. } => "too-many-requests",
            AppError::QuotaExceeded { .. } => "quota-exceeded",
            AppError::Unavailable(_) | AppError::Contention(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<DbError> for AppError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(reason) => AppError::Unavailable(reason),
            DbError::Contention(reason) => AppError::Contention(reason),
            // Two writes met: one removed what the other referred to (a role deleted while it was
            // being assigned). Nothing was written; the caller may look again and retry.
            DbError::ForeignKeyViolation { constraint } => {
                tracing::info!(%constraint, "a concurrent change removed what this write referred to");
                AppError::Conflict(
                    "Something this request refers to was removed by a change made at the same time; nothing was \
                     written. Reload and try again."
                        .into(),
                )
            }
            DbError::UnstorableText(reason) => {
                tracing::warn!(%reason, "unstorable text reached the database");
                AppError::BadRequest("The request holds a character that cannot be stored (NUL).".into())
            }
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// A 409 with `detail` when the unique constraint `name` refused the write, else the database
/// error as it stands: `.map_err(on_constraint(users::EMAIL_UNIQUE, "..."))`.
pub fn on_constraint(name: &'static str, detail: &'static str) -> impl FnOnce(DbError) -> AppError {
    move |err| if err.is_unique(name) { AppError::Conflict(detail.into()) } else { err.into() }
}

/// So that `?` works on BEGIN and COMMIT in a service, naming where it failed.
impl From<tokio_postgres::Error> for AppError {
    #[track_caller]
    fn from(err: tokio_postgres::Error) -> Self {
        DbError::from(err).into()
    }
}

/// An RFC 9457 problem, the body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// A URN naming the kind of problem.
    #[serde(rename = "type")]
    #[schema(example = "urn:identity-api:problem:validation")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: &'a str,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, for people.
    pub detail: String,
    /// For 422: each invalid field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<&'a [FieldError]>,
    /// For a 429 of type `quota-exceeded`: which quota.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "invitations_per_org_hour")]
    pub quota: Option<&'a str>,
}

/// Seconds a client should wait before retrying while the database is unreachable.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 1;

impl AppError {
    /// What the client is told: the error's own words, except for a 500 or 503, whose cause
    /// is logged here (once, as the answer is made) and never sent.
    pub fn public_detail(&self) -> String {
        match self {
            AppError::Internal(error) => {
                // `{:#}` prints the whole chain: what was being done, then each cause.
                tracing::error!(error = format!("{error:#}"), "internal error");
                "An unexpected error occurred; it has been logged.".to_owned()
            }
            AppError::Unavailable(reason) => {
                tracing::warn!(reason = %reason, "dependency unavailable");
                "The service is temporarily unavailable; retry shortly.".to_owned()
            }
            AppError::Contention(reason) => {
                tracing::warn!(reason = %reason, "the request met another head-on twice");
                "The service is busy with a conflicting change; nothing was written, retry shortly.".to_owned()
            }
            other => other.to_string(),
        }
    }

    /// Seconds for Retry-After (at least 1): for a limit, its wait; for a 503, a short one.
    pub fn retry_after_secs(&self) -> Option<u64> {
        let secs = match self {
            AppError::TooManyRequests { retry_after, .. } | AppError::QuotaExceeded { retry_after, .. } => {
                retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)
            }
            AppError::Unavailable(_) | AppError::Contention(_) => UNAVAILABLE_RETRY_AFTER_SECS,
            _ => return None,
        };
        Some(secs.max(1))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = self.public_detail();
        let errors = match &self {
            AppError::Validation(list) => Some(list.as_slice()),
            _ => None,
        };
        let body = Problem {
            kind: format!("urn:identity-api:problem:{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            errors,
            quota: match &self {
                AppError::QuotaExceeded { quota, .. } => Some(quota),
                _ => None,
            },
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, json).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after_secs() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(r#"Bearer realm="identity-api""#));
        }
        if matches!(self, AppError::Contention(_)) {
            response.extensions_mut().insert(RetryOnce);
        }
        response
    }
}

/// Marks an answer whose request was rolled back whole by a deadlock or serialization
/// failure: the retry layer runs such a request once more.
#[derive(Clone, Copy, Debug)]
pub struct RetryOnce;

/// Result with [`AppError`].
pub type AppResult<T> = Result<T, AppError>;
