//! The users route group: the caller's own account, and health.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use identity_shared::http::{self, AppState, Authenticated};
use identity_shared::models::User;
use identity_shared::services::health;
use identity_shared::{AppError, AppResult};
use serde_json::{Value, json};

/// The users function's app: its routes with the shared fallbacks and layers.
pub fn router() -> Router<AppState> {
    http::finish(routes())
}

/// The users routes alone, for merging with other groups.
pub fn routes() -> Router<AppState> {
    Router::new().route("/me", get(me)).route("/health", get(health))
}

async fn me(Authenticated(caller): Authenticated) -> Json<User> {
    Json(caller.user)
}

async fn health(State(state): State<AppState>) -> AppResult<Json<Value>> {
    health::check_database(&state).await.map_err(AppError::from)?;
    Ok(Json(json!({ "status": "ok", "database": "ok" })))
}
