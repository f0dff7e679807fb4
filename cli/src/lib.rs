//! The `identity` command's library: every function's router merged into one local app.

use axum::Router;
use identity_shared::AppState;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa_axum::router::OpenApiRouter;

/// Every route group's routes with their OpenAPI descriptions.
fn groups() -> OpenApiRouter<AppState> {
    auth_function::routes()
        .merge(orgs_function::routes())
        .merge(invitations_function::routes())
        .merge(users_function::routes())
}

/// How often the local sender looks for due deliveries besides being woken: a retry due in
/// five seconds goes out within a second of it.
const SENDER_SWEEP: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs the webhook sender inside this process, woken after each commit that queues a
/// delivery: what the sender function and its schedule do on AWS.
pub fn start_webhook_sender(state: &AppState) -> anyhow::Result<()> {
    use identity_shared::egress::resolver::SystemResolver;
    use identity_shared::services::webhook_delivery;
    use identity_shared::webhooks::{client::Sender, handoff};
    let settings = &state.config().webhooks;
    let sender = Sender::new(std::sync::Arc::new(SystemResolver), settings.timeout, settings.allow_local_targets)?;
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    handoff::install(handoff::Handoff::InProcess(wake.clone()));
    let outbox = webhook_delivery::Outbox::of(state, sender)?;
    tokio::spawn(webhook_delivery::serve(outbox, wake, SENDER_SWEEP));
    Ok(())
}

/// How often the local server looks at pending domain claims again: the mailer's schedule.
const DOMAIN_RECHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Looks at pending domain claims again every minute inside this process (ending those past
/// their 30 days): what the mailer function's schedule does on AWS.
pub fn start_domain_recheck(state: &AppState) {
    let (pool, config) = (state.pool().clone(), state.config().clone());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(DOMAIN_RECHECK_EVERY);
        loop {
            every.tick().await;
            let report = mailer_function::recheck_domains(&pool, &config).await;
            if report != Default::default() {
                tracing::info!(
                    checked = report.checked,
                    verified = report.verified,
                    expired = report.expired,
                    "pending domain claims looked at"
                );
            }
        }
    });
}

/// Every route group's routes on one router, with the shared fallbacks and layers.
pub fn routes() -> Router<AppState> {
    identity_shared::http::finish(groups().into())
}

/// The OpenAPI 3.1 document of every route group, generated from the handlers' annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
    use utoipa::openapi::{InfoBuilder, LicenseBuilder};
    let mut doc = groups().into_openapi();
    doc.info = InfoBuilder::new()
        .title("Identity API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Users, organizations, roles, invitations and JWT authentication. Errors are RFC 9457 \
             application/problem+json; lists take ?limit=&cursor= and answer {items, next_cursor}.",
        ))
        .license(Some(LicenseBuilder::new().name("MIT").build()))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    identity_shared::api::problems::add_schemas(components);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
    );
    // A PATCH must change something; utoipa's own min_properties writes maxProperties.
    for name in ["UpdateOrg", "UpdateRole", "UpdateUser"] {
        if let Some(utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(object))) =
            components.schemas.get_mut(name)
        {
            object.min_properties = Some(1);
        }
    }
    doc
}

/// [`openapi`] as the pretty JSON kept in `openapi.json`.
pub fn openapi_json() -> String {
    let mut json = openapi().to_pretty_json().expect("the document serializes");
    json.push('\n');
    json
}

/// All route groups with state and CORS, as `identity serve` runs them.
pub fn app(state: AppState) -> Router {
    let cors = cors(&state.config().cors_allowed_origins);
    let base_path = state.config().api_base_path.clone();
    let app = identity_shared::http::with_state(routes(), state);
    // Served under API_BASE_PATH, as behind a named stage or a custom domain's mapping.
    let app = match base_path {
        Some(base) => Router::new()
            .nest(&base, app)
            .fallback(|| async { identity_shared::AppError::NotFound("No route matches this path.".into()) }),
        None => app,
    };
    app.layer(cors)
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
