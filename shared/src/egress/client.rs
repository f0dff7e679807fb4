//! One outbound HTTP request: the name checked through the resolver, the connection made only
//! to the addresses that passed, TLS verified for the name, redirects never followed (hyper
//! follows none), the whole request bounded by a timeout and the answer's body by a size cap.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;

use super::resolver::{self, Refusal, SharedResolver};
use super::target::Target;

/// An answer: its status, headers and (bounded) body.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, at most the cap asked for.
    pub body: Bytes,
    /// False when the body was longer than the cap, or the connection broke while it was read.
    pub complete: bool,
}

/// Why no answer came.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The name did not resolve.
    #[error("the host name did not resolve")]
    DnsFailed,
    /// The name points only at addresses that are not public.
    #[error("the host name points only at private or reserved addresses")]
    DnsRefused,
    /// No connection could be made.
    #[error("no connection could be made")]
    ConnectFailed,
    /// The TLS handshake failed (a certificate that is not valid for the name, say).
    #[error("the TLS handshake failed")]
    TlsFailed,
    /// The request took longer than the timeout.
    #[error("no answer within the time allowed")]
    Timeout,
    /// The URL or a header could not be sent.
    #[error("the URL or a header cannot be sent")]
    InvalidUrl,
    /// The connection broke.
    #[error("the connection failed")]
    ConnectionFailed,
}

impl Failure {
    /// The short class a log, an attempt or a problem's detail names.
    pub fn class(self) -> &'static str {
        match self {
            Failure::DnsFailed => "dns_failed",
            Failure::DnsRefused => "dns_refused",
            Failure::ConnectFailed => "connect_failed",
            Failure::TlsFailed => "tls_failed",
            Failure::Timeout => "timeout",
            Failure::InvalidUrl => "invalid_url",
            Failure::ConnectionFailed => "connection_failed",
        }
    }
}

/// Makes outbound requests: a resolver, the TLS settings, the time allowed.
#[derive(Clone, Debug)]
pub struct Egress {
    resolver: SharedResolver,
    tls: Arc<ClientConfig>,
    timeout: Duration,
    allow_local: bool,
}

/// Why the client's TLS settings could not be built.
#[derive(Debug, thiserror::Error)]
#[error("TLS settings for outbound requests")]
pub struct EgressSetupError(#[from] rustls::Error);

impl Egress {
    /// A client trusting the system's roots; `allow_local` also admits loopback addresses.
    pub fn new(resolver: SharedResolver, timeout: Duration, allow_local: bool) -> Result<Egress, EgressSetupError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Egress { resolver, tls: Arc::new(tls), timeout, allow_local })
    }

    /// Whether loopback hosts are admitted (a local deployment's).
    pub fn allows_local(&self) -> bool {
        self.allow_local
    }

    /// Sends one request; the answer whatever its status, its body read up to `read_max`
    /// bytes (a longer one is not `complete`).
    pub async fn send(
        &self,
        method: Method,
        target: &Target,
        headers: &[(HeaderName, String)],
        body: Bytes,
        read_max: usize,
    ) -> Result<Answer, Failure> {
        tokio::time::timeout(self.timeout, self.attempt(method, target, headers, body, read_max))
            .await
            .unwrap_or(Err(Failure::Timeout))
    }

    async fn attempt(
        &self,
        method: Method,
        target: &Target,
        headers: &[(HeaderName, String)],
        body: Bytes,
        read_max: usize,
    ) -> Result<Answer, Failure> {
        let addrs = resolver::checked(self.resolver.as_ref(), &target.host, target.port, self.allow_local)
            .await
            .map_err(|refusal| match refusal {
                Refusal::Unresolved => Failure::DnsFailed,
                Refusal::NotGlobal => Failure::DnsRefused,
            })?;
        let mut http = HttpConnector::new_with_resolver(Pinned(Arc::new(addrs)));
        http.enforce_http(false);
        http.set_connect_timeout(Some(self.timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*self.tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        // A client per request: a pooled connection could outlive the check it was made under.
        let client: Client<_, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build(connector);
        let mut request = Request::builder()
            .method(method)
            .uri(target.url.as_str())
            .body(Full::new(body))
            .map_err(|_| Failure::InvalidUrl)?;
        for (name, value) in headers {
            request.headers_mut().insert(name.clone(), HeaderValue::from_str(value).map_err(|_| Failure::InvalidUrl)?);
        }
        request.headers_mut().entry(header::USER_AGENT).or_insert(HeaderValue::from_static("identity-api/1"));
        let answer = client.request(request).await.map_err(|e| classify(&e))?;
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        let (body, complete) = match Limited::new(answer.into_body(), read_max).collect().await {
            Ok(collected) => (collected.to_bytes(), true),
            Err(_) => (Bytes::new(), false),
        };
        Ok(Answer { status, headers, body, complete })
    }
}

/// The failure class of a request that got no answer.
fn classify(error: &hyper_util::client::legacy::Error) -> Failure {
    let text = crate::error_chain::chain(error).to_ascii_lowercase();
    if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        Failure::TlsFailed
    } else if error.is_connect() {
        Failure::ConnectFailed
    } else {
        Failure::ConnectionFailed
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
