//! Organizations' identity providers for the SSO tests, each a program no one here wrote,
//! installed pinned into `.local/verifiers` by scripts/lib/verifiers.sh and run on a loopback
//! port: panva's `oidc-provider` (npm; RS256 and ES256 keys, its own login form) and
//! `oidc-provider-mock` (PyPI; any client, the claims a test sets, even ones a real provider
//! would never send).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

fn verifiers() -> PathBuf {
    std::env::var_os("JWT_VERIFIERS")
        .expect("set JWT_VERIFIERS to what scripts/lib/verifiers.sh installs (scripts/test exports it)")
        .into()
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/lib/identity_providers").join(name)
}

/// Sends a control request to a provider; its status.
async fn control(method: http::Method, url: String, body: Value) -> u16 {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request");
    client.request(request).await.expect("the provider answers").status().as_u16()
}

/// panva's oidc-provider, as an organization's Okta or Entra would be.
pub struct OidcProvider {
    /// Its issuer, `http://127.0.0.1:<port>`.
    pub issuer: String,
    child: Child,
}

impl OidcProvider {
    /// Starts it with these clients (oidc-provider's client metadata: client_id,
    /// client_secret, redirect_uris, id_token_signed_response_alg, ...).
    pub async fn start(clients: Value) -> OidcProvider {
        let mut child = Command::new("node")
            .arg(script("oidc_provider.mjs"))
            .arg(clients.to_string())
            .env("JWT_VERIFIERS", verifiers())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs oidc-provider");
        let stdout = child.stdout.take().expect("its output");
        let (tx, rx) = std::sync::mpsc::channel();
        // Read to the end: a provider whose output pipe closed would die at its next line.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let (Some(issuer), Some(tx)) = (line.strip_prefix("READY "), tx.take()) {
                    let _ = tx.send(issuer.to_owned());
                }
            }
        });
        let issuer = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(20)))
            .await
            .expect("waiting for its output")
            .expect("oidc-provider printed READY");
        OidcProvider { issuer, child }
    }

    /// The claims `sub`'s tokens carry from now on.
    pub async fn set_account(&self, sub: &str, claims: Value) {
        let status = control(http::Method::PUT, format!("{}/_test/accounts/{sub}", self.issuer), claims).await;
        assert_eq!(status, 204);
    }

    /// New signing keys; the old ones are no longer published.
    pub async fn rotate_keys(&self) {
        assert_eq!(control(http::Method::POST, format!("{}/_test/rotate", self.issuer), Value::Null).await, 204);
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// oidc-provider-mock: any client id and secret, and whatever claims a test sets for a `sub`
/// (they override the ones it would make, `aud`, `nonce` and `exp` among them).
pub struct MockProvider {
    /// Its issuer, `http://127.0.0.1:<port>`.
    pub issuer: String,
    child: Child,
}

impl MockProvider {
    /// Starts it with these extra arguments (e.g. `--token-max-age`).
    pub async fn start(args: &[&str]) -> MockProvider {
        let port =
            TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port");
        let child = Command::new(verifiers().join("venv/bin/python"))
            .args(["-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python runs oidc-provider-mock");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "oidc-provider-mock did not listen on {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        MockProvider { issuer: format!("http://127.0.0.1:{port}"), child }
    }

    /// The claims `sub`'s tokens carry from now on.
    pub async fn set_user(&self, sub: &str, claims: Value) {
        let status = control(http::Method::PUT, format!("{}/users/{sub}", self.issuer), claims).await;
        assert_eq!(status, 204);
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
