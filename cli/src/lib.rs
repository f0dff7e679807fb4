//! The `identity` command's library: every function's router merged into one local app.

use axum::Router;
use identity_shared::AppState;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// All route groups on one router, as `identity serve` runs them.
pub fn app(state: AppState) -> Router {
    let cors = cors(&state.config().cors_allowed_origins);
    auth_function::router().merge(users_function::router()).with_state(state).layer(cors)
}

/// CORS for the configured origins only; none configured means no cross-origin access.
fn cors(origins: &[String]) -> CorsLayer {
    use axum::http::{HeaderValue, Method, header};
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER, header::WWW_AUTHENTICATE])
}
