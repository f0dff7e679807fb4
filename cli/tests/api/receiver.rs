//! A webhook receiver on loopback for the delivery tests: it keeps every request it is sent
//! and answers as the test tells it (a status, headers, a delay), counting connections.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};

/// One request the receiver was sent.
#[derive(Clone, Debug)]
pub struct Received {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body, as sent.
    pub body: String,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// What the verifier scripts read: the secret to check with, the three headers, the body.
    pub fn for_verifier(&self, secret: &str) -> Value {
        json!({
            "secret": secret,
            "headers": {
                "webhook-id": self.header("webhook-id"),
                "webhook-timestamp": self.header("webhook-timestamp"),
                "webhook-signature": self.header("webhook-signature"),
            },
            "body": self.body,
        })
    }
}

/// How the receiver answers.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// A Retry-After header, in seconds.
    pub retry_after: Option<u64>,
    /// How long it waits before answering.
    pub delay: Duration,
}

impl Default for Answer {
    fn default() -> Self {
        Answer { status: 204, retry_after: None, delay: Duration::ZERO }
    }
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    answer: Mutex<Answer>,
    connections: AtomicUsize,
}

/// A running receiver.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Receiver {
    /// Starts one on 127.0.0.1.
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Receiver::on(listener)
    }

    /// Starts one on a listener the test bound (to stop and start it on one port).
    pub fn on(listener: tokio::net::TcpListener) -> Receiver {
        let addr = listener.local_addr().unwrap();
        let inner = Arc::new(Inner::default());
        let app = Router::new().fallback(receive).with_state(inner.clone());
        let counting = Counting { listener, inner: inner.clone() };
        tokio::spawn(async move { axum::serve(counting, app).await });
        Receiver { inner, addr }
    }

    /// Its URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answer from now on like this.
    pub fn answer(&self, answer: Answer) {
        *self.inner.answer.lock().unwrap() = answer;
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.inner.connections.load(Ordering::SeqCst)
    }
}

/// A listener that counts the connections it accepts.
struct Counting {
    listener: tokio::net::TcpListener,
    inner: Arc<Inner>,
}

impl axum::serve::Listener for Counting {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Ok(accepted) = self.listener.accept().await {
                self.inner.connections.fetch_add(1, Ordering::SeqCst);
                return accepted;
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let answer = inner.answer.lock().unwrap().clone();
    inner.received.lock().unwrap().push(Received { headers, body: String::from_utf8_lossy(&body).into_owned() });
    tokio::time::sleep(answer.delay).await;
    let mut headers = HeaderMap::new();
    if let Some(secs) = answer.retry_after {
        headers.insert("retry-after", secs.to_string().parse().unwrap());
    }
    (StatusCode::from_u16(answer.status).unwrap(), headers, "receiver's own words, never stored")
}
