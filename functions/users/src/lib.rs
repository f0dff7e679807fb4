//! The users route group: the caller's own account, second factors and organizations,
//! platform user administration, and health.

use axum::extract::State;
use axum::{Json, Router};
use identity_shared::api::problems::Unavailable;
use identity_shared::http::{self, AppState};
use identity_shared::services::health;
use identity_shared::{AppError, AppResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod admin;
mod mfa;
mod my_invitations;
mod profile;
mod sessions;

/// The users function's app: its routes with the shared fallbacks and layers.
pub fn router() -> Router<AppState> {
    http::finish(routes().into())
}

/// The users routes with their OpenAPI description, for merging with other groups.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(profile::routes())
        .merge(sessions::routes())
        .merge(my_invitations::routes())
        .merge(admin::routes())
        .merge(mfa::routes())
        .routes(routes!(health))
        .routes(routes!(openapi))
}

#[utoipa::path(
    get, path = "/health", tag = "users",
    responses(
        (status = 200, description = "The function and its database answer", body = Health),
        Unavailable,
    ),
)]
async fn health(State(state): State<AppState>) -> AppResult<Json<Health>> {
    health::check_database(&state).await.map_err(AppError::from)?;
    Ok(Json(Health { status: "ok", database: "ok" }))
}

/// The OpenAPI 3.1 document of the whole API, generated from the code (`openapi.json` in the
/// repository; a test keeps it current).
#[utoipa::path(
    get, path = "/openapi.json", tag = "users",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json")),
)]
async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// The generated document, compiled in.
pub const OPENAPI: &str = include_str!("../../../openapi.json");

/// Answer of GET /health.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// "ok".
    pub status: &'static str,
    /// "ok" when the database answered.
    pub database: &'static str,
}
