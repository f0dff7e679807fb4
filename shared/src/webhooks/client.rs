//! One webhook POST: the name checked through the resolver, the connection made only to the
//! addresses that passed, TLS verified for the name, redirects never followed (hyper follows
//! none), the whole attempt bounded by the timeout. The receiver's body is read and dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;

use super::resolver::{self, Refusal, SharedResolver};
use super::target::Target;

/// Most of a receiver's answer read before the connection is dropped.
const ANSWER_READ_MAX: usize = 64 * 1024;

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why it did not answer, or `http_status` for an answer other than 2xx: `dns_failed`,
    /// `dns_refused`, `connect_failed`, `tls_failed`, `timeout`, `invalid_url`, `http_status`.
    pub error: Option<&'static str>,
    /// Seconds the receiver asked to wait (`Retry-After` on a 429 or 503).
    pub retry_after: Option<u64>,
    /// How long the attempt took.
    pub duration: Duration,
}

impl Attempt {
    /// A 2xx answer.
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Sends webhooks: a resolver, the TLS settings, the limits.
#[derive(Clone, Debug)]
pub struct Sender {
    resolver: SharedResolver,
    tls: Arc<ClientConfig>,
    timeout: Duration,
    allow_local: bool,
}

/// Why the sender's TLS settings could not be built.
#[derive(Debug, thiserror::Error)]
#[error("TLS settings for webhook delivery")]
pub struct SenderSetupError(#[from] rustls::Error);

impl Sender {
    /// A sender trusting the system's roots.
    pub fn new(resolver: SharedResolver, timeout: Duration, allow_local: bool) -> Result<Sender, SenderSetupError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Sender { resolver, tls: Arc::new(tls), timeout, allow_local })
    }

    /// POSTs `body` to the target with `headers`; never fails, the outcome says what happened.
    pub async fn post(&self, target: &Target, headers: &[(&'static str, String)], body: Bytes) -> Attempt {
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, self.attempt(target, headers, body)).await;
        let (status, error, retry_after) = match outcome {
            Err(_) => (None, Some("timeout"), None),
            Ok(Err(class)) => (None, Some(class), None),
            Ok(Ok((status, retry_after))) => {
                let error = (!(200..300).contains(&status)).then_some("http_status");
                (Some(status), error, retry_after)
            }
        };
        Attempt { status, error, retry_after, duration: started.elapsed() }
    }

    async fn attempt(
        &self,
        target: &Target,
        headers: &[(&'static str, String)],
        body: Bytes,
    ) -> Result<(u16, Option<u64>), &'static str> {
        let addrs = resolver::checked(self.resolver.as_ref(), &target.host, target.port, self.allow_local)
            .await
            .map_err(|refusal| match refusal {
                Refusal::Unresolved => "dns_failed",
                Refusal::NotGlobal => "dns_refused",
            })?;
        let mut http = HttpConnector::new_with_resolver(Pinned(Arc::new(addrs)));
        http.enforce_http(false);
        http.set_connect_timeout(Some(self.timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*self.tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        // A client per send: a pooled connection could outlive the check it was made under.
        let client: Client<_, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build(connector);
        let mut request = Request::post(target.url.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, "identity-api-webhooks/1")
            .body(Full::new(body))
            .map_err(|_| "invalid_url")?;
        for (name, value) in headers {
            request.headers_mut().insert(*name, HeaderValue::from_str(value).map_err(|_| "invalid_url")?);
        }
        let answer = client.request(request).await.map_err(|e| classify(&e))?;
        let status = answer.status().as_u16();
        let retry_after = answer
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        // Read (and drop) a bounded part of the answer so the receiver sees its reply taken.
        let _ = Limited::new(answer.into_body(), ANSWER_READ_MAX).collect().await;
        Ok((status, retry_after))
    }
}

/// The error class of a failed request.
fn classify(error: &hyper_util::client::legacy::Error) -> &'static str {
    let text = crate::error_chain::chain(error).to_ascii_lowercase();
    if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        "tls_failed"
    } else if error.is_connect() {
        "connect_failed"
    } else {
        "connection_failed"
    }
}

/// A "resolver" that answers every name with the addresses already checked, so the connector
/// dials exactly those.
#[derive(Clone, Debug)]
struct Pinned(Arc<Vec<SocketAddr>>);

impl tower::Service<Name> for Pinned {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _name: Name) -> Self::Future {
        std::future::ready(Ok(self.0.as_ref().clone().into_iter()))
    }
}
