//! Request bodies and query strings, with problem+json rejections: 415, 413, 400, 422.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body: 415 unless the content type is JSON, 413 over 64 KiB, 400 when it is not
/// JSON, 422 with the offending field when it does not fit `T`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(AppError::UnsupportedMediaType);
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A JSON body that may be left out: None for an empty body, else as [`ApiJson`].
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let json = is_json(req.headers().get(header::CONTENT_TYPE));
        let bytes = read_body(req, state).await?;
        if bytes.is_empty() {
            return Ok(OptionalJson(None));
        }
        if !json {
            return Err(AppError::UnsupportedMediaType);
        }
        // JSON null is no body too: the documented schema of an optional body is nullable.
        if bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(None));
        }
        parse_json(&bytes).map(|body| OptionalJson(Some(body)))
    }
}

/// The body's bytes: 413 over the limit, 400 when it cannot be read.
async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(MAX_BODY_BYTES)
        } else {
            AppError::BadRequest("The request body could not be read.".into())
        }
    })
}

fn is_json(content_type: Option<&header::HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON body into `T`, telling syntax errors (400) from misfit fields (422).
/// The body must be one JSON object.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    use serde_json::error::Category;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize::<_, T>(&mut de);
    // A misfit found before the end says nothing about the rest: only a body that is JSON
    // throughout, and an object, gets field errors.
    let syntax = || serde_json::from_slice::<serde::de::IgnoredAny>(bytes).err();
    let err = match parsed {
        Ok(value) if starts_with_brace(bytes) => {
            return match de.end() {
                Ok(()) => Ok(value),
                Err(e) => Err(malformed(&without_position(&e.to_string()))),
            };
        }
        Ok(_) => return Err(AppError::invalid("", "the body must be a JSON object")),
        Err(err) => err,
    };
    if let Some(e) = syntax() {
        return Err(malformed(&without_position(&e.to_string())));
    }
    if !starts_with_brace(bytes) {
        return Err(AppError::invalid("", "the body must be a JSON object"));
    }
    let path = err.path().to_string();
    let inner = err.into_inner();
    let message = without_position(&inner.to_string());
    if inner.classify() != Category::Data {
        return Err(malformed(&message));
    }
    let (field, message) = match message.strip_prefix("missing field `") {
        Some(rest) => (join_path(&path, rest.trim_end_matches('`')), "is required".to_owned()),
        None => (if path == "." { String::new() } else { path }, message),
    };
    Err(AppError::Validation(vec![FieldError::new(field, message)]))
}

fn starts_with_brace(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn malformed(message: &str) -> AppError {
    AppError::BadRequest(format!("The request body is not valid JSON: {message}."))
}

fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn join_path(parent: &str, name: &str) -> String {
    if parent == "." || parent.is_empty() { name.to_owned() } else { format!("{parent}.{name}") }
}

/// Query parameters, with 422 naming the problem when they do not fit `T`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|e| AppError::invalid("query", &without_position(&e.body_text())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[allow(dead_code)]
        email: String,
        #[allow(dead_code)]
        tags: Vec<String>,
    }

    fn field_of(raw: &str) -> (u16, String) {
        match parse_json::<Body>(raw.as_bytes()) {
            Err(AppError::Validation(errors)) => (422, errors[0].field.clone()),
            Err(other) => (other.status().as_u16(), String::new()),
            Ok(_) => (200, String::new()),
        }
    }

    #[test]
    fn syntax_errors_are_400_and_misfits_422_with_their_field() {
        assert_eq!(field_of(r#"{"email": "#).0, 400);
        assert_eq!(field_of("").0, 400);
        assert_eq!(field_of(r#"{"email":"a","tags":[]} trailing"#).0, 400);
        assert_eq!(field_of(r#"{"tags": []}"#), (422, "email".into()));
        assert_eq!(field_of(r#"{"email": 5, "tags": []}"#), (422, "email".into()));
        assert_eq!(field_of(r#"{"email": "a", "tags": [1]}"#), (422, "tags[0]".into()));
        assert_eq!(field_of(r#"{"email": "a", "email": "b", "tags": []}"#).0, 422);
        assert_eq!(field_of(r#"{"email": "a", "tags": [], "extra": true}"#).0, 200);
        assert_eq!(field_of("[1,").0, 400);
        assert_eq!(field_of(r#"{"email": 5, "tags": [}"#).0, 400);
        assert_eq!(field_of(r#"["a", []]"#), (422, String::new()));
        assert_eq!(field_of(r#""text""#), (422, String::new()));
    }

    #[test]
    fn json_content_types() {
        let v = |s: &'static str| Some(header::HeaderValue::from_static(s));
        assert!(is_json(v("application/json").as_ref()));
        assert!(is_json(v("Application/JSON; charset=utf-8").as_ref()));
        assert!(is_json(v("application/merge-patch+json").as_ref()));
        assert!(!is_json(v("text/plain").as_ref()));
        assert!(!is_json(v("application/x-www-form-urlencoded").as_ref()));
        assert!(!is_json(None));
    }
}
