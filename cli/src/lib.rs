//! The `identity` command's library: every function's router merged into one local app.

use axum::Router;
use identity_shared::AppState;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Every route group's routes on one router, with the shared fallbacks and layers.
pub fn routes() -> Router<AppState> {
    identity_shared::http::finish(
        auth_function::routes()
            .merge(orgs_function::routes())
            .merge(invitations_function::routes())
            .merge(users_function::routes()),
    )
}

/// All route groups with state and CORS, as `identity serve` runs them.
pub fn app(state: AppState) -> Router {
    let cors = cors(&state.config().cors_allowed_origins);
    routes().with_state(state).layer(cors)
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
