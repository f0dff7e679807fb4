//! The Lambda entry of an HTTP function. Its state is built once per sandbox: during init,
//! and, should Secrets Manager or a setting fail then, again on each request until it does
//! (answering 503 while Secrets Manager is out, never a crashed init loop).

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

type Loader = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Config, LoadError>> + Send>> + Send + Sync>;

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
    ready: OnceCell<Router>,
}

impl LazyApp {
    /// An app that builds its state from what `load` returns.
    pub fn new(router: Router<AppState>, keys: TokenKeys, load: Loader) -> LazyApp {
        LazyApp { inner: Arc::new(Inner { router, keys, load, ready: OnceCell::new() }) }
    }

    /// The router with its state, built now if it has not been.
    pub async fn ready(&self) -> Result<Router, AppError> {
        let inner = &self.inner;
        inner
            .ready
            .get_or_try_init(|| async { Ok(inner.router.clone().with_state(state(inner).await?)) })
            .await
            .cloned()
    }
}

async fn state(inner: &Inner) -> Result<AppState, AppError> {
    let config = (inner.load)().await.map_err(|e| {
        if e.is_unavailable() { AppError::Unavailable(e.to_string()) } else { AppError::Internal(e.to_string()) }
    })?;
    if inner.keys == TokenKeys::Sign && config.jwt_private_key.is_none() {
        return Err(AppError::Internal(
            "this function issues tokens: set JWT_PRIVATE_KEY_SECRET_ARN or JWT_PRIVATE_KEY".into(),
        ));
    }
    AppState::new(config).map_err(|e| AppError::Internal(e.to_string()))
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
            match app.ready().await {
                Ok(router) => router.oneshot(request.map(axum::body::Body::new)).await,
                Err(e) => Ok(e.into_response()),
            }
        })
    }
}
