//! A small JSON client of the API under test, for the flows and the benchmark's own requests.

use anyhow::{Context, bail};
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

type Http = Client<HttpConnector, Full<Bytes>>;

/// A JSON client of the API under test.
pub struct Api {
    http: Http,
    base: String,
}

impl Api {
    /// A client of the API at `base` (no trailing slash), with Nagle off as a real client has.
    pub fn new(base: &str) -> Api {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Api { http: Client::builder(TokioExecutor::new()).build(connector), base: base.to_owned() }
    }

    /// The status and JSON body of one request (a GET when `body` is null).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Value,
        bearer: Option<&str>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = axum::http::Request::builder().method(method).uri(format!("{}{path}", self.base));
        let body = if body.is_null() {
            Full::new(Bytes::new())
        } else {
            req = req.header("content-type", "application/json");
            Full::new(Bytes::from(body.to_string()))
        };
        if let Some(token) = bearer {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let res = self.http.request(req.body(body)?).await?;
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await?.to_bytes();
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    /// The JSON body of a request that must answer `want`.
    pub async fn expect(
        &self,
        method: &str,
        path: &str,
        body: Value,
        bearer: Option<&str>,
        want: u16,
    ) -> anyhow::Result<Value> {
        let (status, json) = self.call(method, path, body, bearer).await?;
        if status != want {
            bail!("{method} {path}: want {want}, got {status} {json}");
        }
        Ok(json)
    }

    /// One request as a browser or an OAuth client sends it: these headers and an optional
    /// form body; the status, the headers and the body, redirects not followed.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        form: Option<String>,
    ) -> anyhow::Result<(u16, axum::http::HeaderMap, Bytes)> {
        let mut req = axum::http::Request::builder().method(method).uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let body = match form {
            Some(form) => {
                req = req.header("content-type", "application/x-www-form-urlencoded");
                Full::new(Bytes::from(form))
            }
            None => Full::new(Bytes::new()),
        };
        let res = self.http.request(req.body(body)?).await?;
        let (status, headers) = (res.status().as_u16(), res.headers().clone());
        Ok((status, headers, res.into_body().collect().await?.to_bytes()))
    }

    /// Registers and signs in a fresh account; returns (access token, refresh token).
    pub async fn account(&self, email: &str, password: &str) -> anyhow::Result<(String, String)> {
        self.expect(
            "POST",
            "/auth/register",
            json!({"email": email, "password": password, "name": "Bench"}),
            None,
            202,
        )
        .await?;
        let pair = self.expect("POST", "/auth/login", json!({"email": email, "password": password}), None, 200).await?;
        let text = |k: &str| pair[k].as_str().map(str::to_owned).context("token in the login answer");
        Ok((text("access_token")?, text("refresh_token")?))
    }
}
