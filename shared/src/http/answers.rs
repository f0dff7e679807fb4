//! Answers handlers share beyond JSON and problems.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;

/// 201 with a secret (an API key's value, a client secret) that is in this answer only: no
/// cache may keep it.
pub fn shown_once(body: impl Serialize) -> impl IntoResponse {
    (StatusCode::CREATED, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], Json(body))
}
