//! A fake Lambda Runtime API that serves one invocation, as Lambda's would, and notes when
//! the function asked for it and when it answered.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, oneshot};

const REQUEST_ID: &str = "bench-invocation-1";

/// When the function answered, and with what: its response, or its error report.
type Answer = (Instant, Result<Bytes, Bytes>);

struct Shared {
    event: Value,
    asked: Mutex<Option<oneshot::Sender<Instant>>>,
    answered: Mutex<Option<oneshot::Sender<Answer>>>,
}

/// One invocation's timeline, as the runtime saw it.
pub struct Invocation {
    /// When the function first asked for work: its init is over.
    pub asked: oneshot::Receiver<Instant>,
    /// When it answered, with its response (or its error report).
    pub answered: oneshot::Receiver<Answer>,
}

/// Serves one invocation of `event` on `listener` until dropped; later requests for work
/// wait forever, as on a frozen Lambda sandbox.
pub fn serve(listener: TcpListener, event: Value) -> (Invocation, tokio::task::JoinHandle<()>) {
    let (asked_tx, asked) = oneshot::channel();
    let (answered_tx, answered) = oneshot::channel();
    let shared = Arc::new(Shared { event, asked: Mutex::new(Some(asked_tx)), answered: Mutex::new(Some(answered_tx)) });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(shared);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (Invocation { asked, answered }, server)
}

async fn next(State(shared): State<Arc<Shared>>) -> (HeaderMap, Bytes) {
    let Some(tx) = shared.asked.lock().await.take() else {
        std::future::pending::<()>().await;
        unreachable!()
    };
    let _ = tx.send(Instant::now());
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(30);
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).expect("header value"));
    };
    set("lambda-runtime-aws-request-id", REQUEST_ID.into());
    set("lambda-runtime-deadline-ms", deadline.as_millis().to_string());
    set("lambda-runtime-invoked-function-arn", "arn:aws:lambda:eu-west-1:123456789012:function:bench".into());
    set("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Parent=0;Sampled=0".into());
    set("content-type", "application/json".into());
    (headers, Bytes::from(shared.event.to_string()))
}

async fn response(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    if let Some(tx) = shared.answered.lock().await.take() {
        let _ = tx.send((Instant::now(), Ok(body)));
    }
    StatusCode::ACCEPTED
}

async fn error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    if let Some(tx) = shared.answered.lock().await.take() {
        let _ = tx.send((Instant::now(), Err(body)));
    }
    StatusCode::ACCEPTED
}
