//! Layers and fallbacks every router gets: request ids in logs, body limit, problem+json 404/405.

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use lambda_http::RequestExt;
use tracing::Instrument;

use super::extract::MAX_BODY_BYTES;
use crate::error::{AppError, RetryOnce};
use crate::state::AppState;
use crate::webhooks::handoff;

/// Adds the shared fallbacks and layers to a function's routes.
pub fn finish(router: Router<AppState>) -> Router<AppState> {
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(retry_once_on_contention))
        .layer(middleware::from_fn(hand_off_after_commit))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(trace_request))
}

/// The finished routes bound to their state, with the hosted pages rendered in the
/// deployment's brand: what every entry point (Lambda, `identity serve`, the tests) serves.
pub fn with_state(router: Router<AppState>, state: AppState) -> Router {
    router.layer(middleware::from_fn_with_state(state.clone(), brand_pages)).with_state(state)
}

/// Renders a hosted page again in the product's name, logo and accent.
async fn brand_pages(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let mut response = next.run(req).await;
    crate::pages::page::rebrand(&mut response, &state.config().brand);
    response
}

async fn not_found() -> AppError {
    AppError::NotFound("No route matches this path.".into())
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

/// Runs a request once more when the database rolled it back whole because it met another
/// head-on (a deadlock or serialization failure, [`RetryOnce`] on the answer): such a request
/// wrote nothing and sent nothing, as mail leaves only after a commit. A second such answer
/// stands (503 with Retry-After). The body is read first so it can be given twice.
async fn retry_once_on_contention(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        // Too large (or unreadable): the route answers as it answers an oversized body (a
        // problem, or a page), from a body just over the limit; nothing to run twice.
        Err(_) => return next.run(Request::from_parts(parts, Body::from(vec![0u8; MAX_BODY_BYTES + 1]))).await,
    };
    let first = next.clone().run(Request::from_parts(parts.clone(), Body::from(bytes.clone()))).await;
    if first.extensions().get::<RetryOnce>().is_none() {
        return first;
    }
    tracing::info!("the request met another head-on in the database; running it once more");
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// Wakes the webhook sender when the request queued a delivery and succeeded (so its
/// transaction committed; a failed one wrote nothing to send).
async fn hand_off_after_commit(req: Request, next: Next) -> Response {
    let (response, queued) = handoff::scope(next.run(req)).await;
    if queued && !response.status().is_client_error() && !response.status().is_server_error() {
        handoff::wake().await;
    }
    response
}

/// Wraps each request in a span carrying its id (the Lambda request id on AWS), so every log
/// line of one request can be found together. Paths are logged; bodies and headers are not.
async fn trace_request(req: Request, next: Next) -> Response {
    let request_id = req
        .lambda_context_ref()
        .map(|ctx| ctx.request_id.clone())
        .or_else(|| {
            // A caller's own id is kept when it is short and plain, so it cannot forge log lines.
            let id = req.headers().get("x-request-id")?.to_str().ok()?;
            let plain = id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
            plain.then(|| id.to_owned())
        })
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let span = tracing::info_span!("request", request_id = %request_id, method = %method, path = %path);
    let started = std::time::Instant::now();
    let mut response = next.run(req).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    // The request's own line carries the span's fields itself, written outside the span: the
    // JSON formatter then has no span's fields to read back for it.
    tracing::info!(
        request_id = %request_id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "handled"
    );
    response
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::routing::post;
    use tower::ServiceExt;

    use super::*;

    /// A router whose handler meets contention on its first `failures` calls, counting calls
    /// and checking that every call saw the whole body.
    fn contended(failures: usize) -> (Router, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let handler = move |body: String| {
            let seen = seen.clone();
            async move {
                assert_eq!(body, "the body");
                if seen.fetch_add(1, Ordering::SeqCst) < failures {
                    Err(AppError::Contention("deadlock detected".into()))
                } else {
                    Ok("done")
                }
            }
        };
        let router = Router::new().route("/", post(handler)).layer(middleware::from_fn(retry_once_on_contention));
        (router, calls)
    }

    async fn send(router: Router) -> Response {
        router.oneshot(Request::post("/").body(Body::from("the body")).unwrap()).await.unwrap()
    }

    #[tokio::test]
    async fn a_request_rolled_back_by_contention_runs_once_more_with_its_body() {
        let (router, calls) = contended(1);
        assert_eq!(send(router).await.status(), 200);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn contention_twice_is_a_503_with_retry_after() {
        let (router, calls) = contended(2);
        let response = send(router).await;
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1");
        assert_eq!(calls.load(Ordering::SeqCst), 2, "run twice, not more");
    }

    #[tokio::test]
    async fn other_answers_run_once() {
        let (router, calls) = contended(0);
        assert_eq!(send(router).await.status(), 200);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
