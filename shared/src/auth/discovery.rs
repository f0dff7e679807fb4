//! The OpenID Provider metadata document (`/.well-known/openid-configuration`) that lets
//! verifiers such as API Gateway's JWT authorizer find our keys from the issuer alone.

use serde::Serialize;

use super::jwt::{JwtKeys, KeyError};

/// What a verifier needs to trust this API's access tokens, and nothing this API does not do:
/// there is no authorization endpoint or ID token, so none is announced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Discovery {
    /// Equals the `iss` of every access token.
    pub issuer: String,
    /// Where the public keys are: `{issuer}/.well-known/jwks.json`.
    pub jwks_uri: String,
    /// The algorithms of the keys in the JWKS, the signing key's first (a non-standard member:
    /// OpenID names algorithms only for ID tokens, which this API does not issue).
    pub access_token_signing_alg_values_supported: Vec<&'static str>,
    /// The claims access tokens carry.
    pub claims_supported: Vec<&'static str>,
    /// `POST` email and password here for a token pair (this API's own JSON, not OAuth's form).
    pub login_endpoint: String,
    /// `POST` a refresh token here for a new pair.
    pub refresh_endpoint: String,
}

/// Every claim an access token can carry (see `AccessClaims`).
const CLAIMS: [&str; 12] =
    ["iss", "aud", "sub", "sid", "iat", "nbf", "exp", "jti", "email", "org_id", "roles", "permissions"];

impl Discovery {
    /// The document for these keys and their issuer.
    pub fn of(keys: &JwtKeys) -> Result<Discovery, KeyError> {
        let issuer = keys.issuer()?.to_owned();
        Ok(Discovery {
            jwks_uri: format!("{issuer}/.well-known/jwks.json"),
            access_token_signing_alg_values_supported: keys.algorithms().into_iter().map(|a| a.name()).collect(),
            claims_supported: CLAIMS.to_vec(),
            login_endpoint: format!("{issuer}/auth/login"),
            refresh_endpoint: format!("{issuer}/auth/refresh"),
            issuer,
        })
    }
}
