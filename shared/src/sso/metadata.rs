//! An identity provider's discovery document (OpenID Connect Discovery 1.0 §4): fetched from
//! `{issuer}/.well-known/openid-configuration` under the outbound rules, its `issuer` exactly
//! the one the admin entered (§4.3), its endpoints URLs the same rules admit.

use bytes::Bytes;
use http::Method;
use serde::Deserialize;

use crate::egress::client::Egress;
use crate::egress::target;
use crate::models::ProviderMetadata;

use super::id_token::is_supported;

/// Most of a discovery document or key set read.
pub const DOCUMENT_MAX: usize = 64 * 1024;

#[derive(Deserialize)]
struct Document {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    response_types_supported: Vec<String>,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// Why a provider could not be connected, in words an admin can act on (the 422's text).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Undiscovered(pub String);

/// The URL a provider's document is fetched from: the issuer, less any trailing slash, then
/// `/.well-known/openid-configuration`.
pub fn discovery_url(issuer: &str) -> String {
    format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'))
}

/// Fetches and checks the issuer's discovery document.
pub async fn discover(egress: &Egress, issuer: &str) -> Result<ProviderMetadata, Undiscovered> {
    let url = discovery_url(issuer);
    let body = get(egress, &url, "its discovery document").await?;
    let doc: Document = serde_json::from_slice(&body)
        .map_err(|_| Undiscovered(format!("{url} is not an OpenID Connect discovery document")))?;
    if doc.issuer != issuer {
        return Err(Undiscovered(format!(
            "the discovery document names the issuer {:?}, not {issuer:?}: enter the issuer exactly as the provider states it",
            doc.issuer
        )));
    }
    for (name, value) in [
        ("authorization_endpoint", &doc.authorization_endpoint),
        ("token_endpoint", &doc.token_endpoint),
        ("jwks_uri", &doc.jwks_uri),
    ] {
        target::parse(value, egress.allows_local())
            .map_err(|why| Undiscovered(format!("the provider's {name} {why}")))?;
    }
    if !doc.response_types_supported.is_empty() && !doc.response_types_supported.iter().any(|r| r == "code") {
        return Err(Undiscovered("the provider does not offer the authorization code flow".into()));
    }
    // RS256 is every provider's default when it lists none (Discovery §3).
    let advertised = if doc.id_token_signing_alg_values_supported.is_empty() {
        vec!["RS256".to_owned()]
    } else {
        doc.id_token_signing_alg_values_supported
    };
    let id_token_algs: Vec<String> = advertised.into_iter().filter(|a| is_supported(a)).collect();
    if id_token_algs.is_empty() {
        return Err(Undiscovered("the provider signs ID tokens with no algorithm this service accepts".into()));
    }
    // client_secret_basic is the default when none are listed (Discovery §3).
    let token_auth_methods: Vec<String> = doc
        .token_endpoint_auth_methods_supported
        .unwrap_or_else(|| vec!["client_secret_basic".to_owned()])
        .into_iter()
        .filter(|m| m == "client_secret_basic" || m == "client_secret_post")
        .collect();
    if token_auth_methods.is_empty() {
        return Err(Undiscovered(
            "the provider's token endpoint takes neither client_secret_basic nor client_secret_post".into(),
        ));
    }
    Ok(ProviderMetadata {
        authorization_endpoint: doc.authorization_endpoint,
        token_endpoint: doc.token_endpoint,
        jwks_uri: doc.jwks_uri,
        id_token_algs,
        token_auth_methods,
    })
}

/// GETs a JSON document of at most [`DOCUMENT_MAX`] bytes; `what` names it in the refusal.
pub async fn get(egress: &Egress, url: &str, what: &str) -> Result<Bytes, Undiscovered> {
    let target = target::parse(url, egress.allows_local()).map_err(|why| Undiscovered(format!("{url} {why}")))?;
    let accept = [(http::header::ACCEPT, "application/json".to_owned())];
    let answer = egress
        .send(Method::GET, &target, &accept, Bytes::new(), DOCUMENT_MAX)
        .await
        .map_err(|failure| Undiscovered(format!("{what} at {url} could not be fetched: {failure}")))?;
    if answer.status != 200 {
        return Err(Undiscovered(format!("{what} at {url} answered HTTP {}", answer.status)));
    }
    if !answer.complete {
        return Err(Undiscovered(format!("{what} at {url} is larger than {DOCUMENT_MAX} bytes")));
    }
    Ok(answer.body)
}
