//! The Lambda entry of an HTTP function. Its state is built once per sandbox: during init,
//! and, should Secrets Manager or a setting fail then, again on each request until it does
//! (answering 503 while Secrets Manager is out, never a crashed init loop). Each request's
//! path loses a named stage's segment and a custom domain's base path before routing, so the
//! routers answer the same under `$default`, `/prod` or `api.example.com/identity`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::response::{IntoResponse, Response};
use tokio::sync::OnceCell;
use tower::{Service, ServiceExt};

use crate::config::{Config, LoadError};
use crate::error::AppError;
use crate::state::AppState;

/// Whether a function signs tokens (and so must hold the private key) or only verifies them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKeys {
    /// Issues tokens: JWT_PRIVATE_KEY (or its secret) is required.
    Sign,
    /// Verifies tokens: JWT_PUBLIC_KEY is enough.
    Verify,
}

/// Reads the settings a function starts with: `Config::load` on Lambda, a fixed one in tests.
pub type Loader = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Config, LoadError>> + Send>> + Send + Sync>;

/// Serves `router` on Lambda with its state from the environment and Secrets Manager.
pub async fn run(router: Router<AppState>, keys: TokenKeys) -> Result<(), lambda_http::Error> {
    let app = LazyApp::new(router, keys, Arc::new(|| Box::pin(Config::load())));
    // Init runs before the first request's clock starts: read the secrets now if we can.
    if let Err(e) = app.ready().await {
        tracing::error!(error = %e, "the function could not start; each request will try again");
    }
    lambda_http::run(app).await
}

/// A router whose state is built on first need, retried until it builds.
#[derive(Clone)]
pub struct LazyApp {
    inner: Arc<Inner>,
}

struct Inner {
    router: Router<AppState>,
    keys: TokenKeys,
    load: Loader,
    ready: OnceCell<Ready>,
}

/// The router with its state applied, and that state (its settings say the base path).
struct Ready {
    router: Router,
    state: AppState,
}

impl LazyApp {
    /// An app that builds its state from what `load` returns.
    pub fn new(router: Router<AppState>, keys: TokenKeys, load: Loader) -> LazyApp {
        LazyApp { inner: Arc::new(Inner { router, keys, load, ready: OnceCell::new() }) }
    }

    /// Builds the state now if it has not been built.
    pub async fn ready(&self) -> Result<(), AppError> {
        self.built().await.map(drop)
    }

    async fn built(&self) -> Result<&Ready, AppError> {
        let inner = &self.inner;
        inner
            .ready
            .get_or_try_init(|| async {
                let state = state(inner).await?;
                Ok(Ready { router: super::with_state(inner.router.clone(), state.clone()), state })
            })
            .await
    }
}

async fn state(inner: &Inner) -> Result<AppState, AppError> {
    let config = (inner.load)().await.map_err(|e| {
        if e.is_unavailable() {
            AppError::Unavailable(e.to_string())
        } else {
            AppError::internal("loading the settings and secrets")(e)
        }
    })?;
    if inner.keys == TokenKeys::Sign && config.jwt_private_key.is_none() {
        return Err(AppError::bug("this function issues tokens: set JWT_PRIVATE_KEY_SECRET_ARN or JWT_PRIVATE_KEY"));
    }
    #[cfg(feature = "handoff")]
    if let Some(function) = &config.webhooks.sender_function {
        use crate::webhooks::handoff::{self, Handoff};
        handoff::install(Handoff::invoke(&config.aws, function.clone(), config.webhooks.lambda_endpoint.clone()));
    }
    AppState::new(config).map_err(AppError::internal("building the function's state"))
}

impl Service<lambda_http::Request> for LazyApp {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: lambda_http::Request) -> Self::Future {
        let app = self.clone();
        Box::pin(async move {
            match app.built().await {
                Ok(ready) => {
                    if let Some(api_id) = api_id(&request) {
                        ready.state.jwt().bind_api(api_id);
                    }
                    let request = routed(request, ready.state.config().api_base_path.as_deref());
                    ready.router.clone().oneshot(request.map(axum::body::Body::new)).await
                }
                Err(e) => Ok(e.into_response()),
            }
        })
    }
}

/// The id of the API Gateway API that sent the request, which JWT_ISSUER may name.
fn api_id(request: &lambda_http::Request) -> Option<&str> {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.apiid.as_deref(),
        _ => None,
    }
}

/// The request with the path the routers know in its URI (see [`route_path`]).
fn routed(mut request: lambda_http::Request, base_path: Option<&str>) -> lambda_http::Request {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.clone(),
        _ => None,
    };
    // lambda_http puts a named stage back into the URI when rawPath lacks it (a custom domain);
    // start from what API Gateway sent instead.
    let raw = match request.raw_http_path() {
        "" => request.uri().path().to_owned(),
        raw => raw.to_owned(),
    };
    let path = route_path(&raw, stage.as_deref(), base_path);
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(rewritten) = path_and_query.parse() {
        parts.path_and_query = Some(rewritten);
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// The path the routers know, from API Gateway's rawPath: without a named stage's segment
/// (the stage comes from the request context; `$default` has none) and without the base
/// path of a custom-domain API mapping (`API_BASE_PATH`), which API Gateway leaves in
/// rawPath as well. A path outside the base path is left whole, so it routes to a 404.
pub fn route_path<'a>(raw_path: &'a str, stage: Option<&str>, base_path: Option<&str>) -> &'a str {
    let stage = stage.filter(|s| !s.is_empty() && *s != "$default").map(|s| format!("/{s}"));
    let mut path = raw_path;
    for prefix in [stage.as_deref(), base_path].into_iter().flatten() {
        match path.strip_prefix(prefix) {
            Some("") => path = "/",
            Some(rest) if rest.starts_with('/') => path = rest,
            _ => {}
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::route_path;

    #[test]
    fn a_named_stage_and_a_base_path_are_taken_off_and_nothing_else() {
        // (rawPath, stage, API_BASE_PATH, the path routed)
        let cases = [
            ("/orgs/1", Some("$default"), None, "/orgs/1"),
            ("/prod/orgs/1", Some("prod"), None, "/orgs/1"),
            ("/prod", Some("prod"), None, "/"),
            // A custom domain with a mapping key: the key stays in rawPath, the stage does not.
            ("/identity/orgs/1", Some("prod"), Some("/identity"), "/orgs/1"),
            ("/orgs/1", Some("prod"), Some("/identity"), "/orgs/1"),
            // Only whole segments match.
            ("/production/orgs", Some("prod"), None, "/production/orgs"),
            ("/identityx/orgs", None, Some("/identity"), "/identityx/orgs"),
            ("/me", None, None, "/me"),
        ];
        for (raw, stage, base, want) in cases {
            assert_eq!(route_path(raw, stage, base), want, "{raw} under {stage:?} and {base:?}");
        }
    }
}
