//! What a sign-in asks of the provider after the browser comes back: the code exchanged at its
//! token endpoint (with our PKCE verifier and client secret), and its keys when a token names
//! one we have not seen.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{Method, header};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::egress::client::Egress;
use crate::egress::target;

use super::metadata::{DOCUMENT_MAX, Undiscovered, get};

/// Why the provider gave no ID token: unreachable (a 503-like page) or refusing (its words).
#[derive(Debug, thiserror::Error)]
pub enum ExchangeFailed {
    /// The provider could not be reached or answered with no JSON.
    #[error("the identity provider could not be reached: {0}")]
    Unreachable(String),
    /// The provider refused the code (its `error`).
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
}

/// A client of the provider: its token endpoint, our id and secret there, the methods it takes.
#[derive(Debug)]
pub struct TokenClient<'a> {
    /// The token endpoint.
    pub token_endpoint: &'a str,
    /// Our client id.
    pub client_id: &'a str,
    /// Our client secret.
    pub client_secret: &'a SecretString,
    /// Its token endpoint's client authentication methods.
    pub auth_methods: &'a [String],
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Exchanges `code` (RFC 6749 §4.1.3, RFC 7636 §4.5) for the provider's ID token.
pub async fn exchange_code(
    egress: &Egress,
    client: &TokenClient<'_>,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<String, ExchangeFailed> {
    let target = target::parse(client.token_endpoint, egress.allows_local())
        .map_err(|why| ExchangeFailed::Unreachable(format!("the token endpoint {why}")))?;
    let basic = client.auth_methods.iter().any(|m| m == "client_secret_basic");
    let mut headers = vec![
        (header::CONTENT_TYPE, "application/x-www-form-urlencoded".to_owned()),
        (header::ACCEPT, "application/json".to_owned()),
    ];
    // The serializer is not Send: the body is finished before anything is awaited.
    let body = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_verifier", verifier);
        if basic {
            // RFC 6749 §2.3.1: each part form-encoded before joining.
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", enc(client.client_id), enc(client.client_secret.expose_secret()));
            headers.push((header::AUTHORIZATION, format!("Basic {}", STANDARD.encode(pair))));
        } else {
            form.append_pair("client_id", client.client_id)
                .append_pair("client_secret", client.client_secret.expose_secret());
        }
        Bytes::from(form.finish())
    };
    let answer = egress
        .send(Method::POST, &target, &headers, body, DOCUMENT_MAX)
        .await
        .map_err(|failure| ExchangeFailed::Unreachable(format!("its token endpoint: {failure}")))?;
    let parsed: Option<TokenAnswer> = answer.complete.then(|| serde_json::from_slice(&answer.body).ok()).flatten();
    match (answer.status, parsed) {
        (200, Some(TokenAnswer { id_token: Some(token), .. })) => Ok(token),
        (200, Some(_)) => Err(ExchangeFailed::Refused("its token endpoint sent no ID token".into())),
        (400..=499, Some(TokenAnswer { error: Some(error), error_description, .. })) => {
            // The provider's words are for the admin; bounded, since they end up on a page.
            let words: String = error_description.unwrap_or_default().chars().take(200).collect();
            Err(ExchangeFailed::Refused(format!("{error} {words}").trim().to_owned()))
        }
        (status, _) => Err(ExchangeFailed::Unreachable(format!("its token endpoint answered HTTP {status}"))),
    }
}

/// Fetches the provider's key set.
pub async fn fetch_jwks(egress: &Egress, jwks_uri: &str) -> Result<serde_json::Value, Undiscovered> {
    let body = get(egress, jwks_uri, "its key set").await?;
    serde_json::from_slice(&body).map_err(|_| Undiscovered(format!("{jwks_uri} is not a JSON key set")))
}
