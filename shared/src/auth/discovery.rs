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
    /// The OAuth 2.0 token endpoint (client credentials).
    pub token_endpoint: String,
    /// Where a client revokes a token it was issued (RFC 7009).
    pub revocation_endpoint: String,
    /// Where the platform's own clients ask whether a token works (RFC 7662).
    pub introspection_endpoint: String,
    /// `client_credentials`.
    pub grant_types_supported: Vec<&'static str>,
    /// How clients authenticate at the token and revocation endpoints.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// What a `private_key_jwt` assertion may be signed with.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// The scopes a client may ask for: the permission catalog.
    pub scopes_supported: Vec<&'static str>,
}

/// RFC 8414 authorization server metadata (`/.well-known/oauth-authorization-server`): what an
/// OAuth client library reads to find the token endpoint and how to authenticate there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuthorizationServer {
    /// Equals the `iss` of every token.
    pub issuer: String,
    /// Where tokens are issued.
    pub token_endpoint: String,
    /// Where the public keys are.
    pub jwks_uri: String,
    /// Where a client revokes a token.
    pub revocation_endpoint: String,
    /// Where the platform's own clients ask whether a token works (RFC 7662).
    pub introspection_endpoint: String,
    /// `client_credentials`.
    pub grant_types_supported: Vec<&'static str>,
    /// No authorization endpoint: none.
    pub response_types_supported: Vec<&'static str>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt`.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// What a `private_key_jwt` assertion may be signed with.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// The same methods at the revocation endpoint.
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The same methods at the introspection endpoint.
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The permission catalog.
    pub scopes_supported: Vec<&'static str>,
}

/// How clients authenticate at the token, revocation and introspection endpoints.
const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "private_key_jwt"];
/// What a client's assertion may be signed with (see `client_assertion`).
const ASSERTION_ALGS: [&str; 9] = ["ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"];

fn scopes() -> Vec<&'static str> {
    crate::models::Permission::ALL.iter().map(|p| p.as_str()).collect()
}

impl AuthorizationServer {
    /// The document for these keys' issuer.
    pub fn of(keys: &JwtKeys) -> Result<AuthorizationServer, KeyError> {
        let issuer = keys.issuer()?.to_owned();
        Ok(AuthorizationServer {
            token_endpoint: format!("{issuer}/oauth2/token"),
            jwks_uri: format!("{issuer}/.well-known/jwks.json"),
            revocation_endpoint: format!("{issuer}/oauth2/revoke"),
            introspection_endpoint: format!("{issuer}/oauth2/introspect"),
            grant_types_supported: vec!["client_credentials"],
            response_types_supported: vec![],
            token_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
            token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS.to_vec(),
            revocation_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
            introspection_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
            scopes_supported: scopes(),
            issuer,
        })
    }
}

/// Every claim an access token can carry (see `AccessClaims`).
const CLAIMS: [&str; 15] = [
    "iss",
    "aud",
    "sub",
    "sid",
    "iat",
    "nbf",
    "exp",
    "jti",
    "email",
    "amr",
    "org_id",
    "roles",
    "permissions",
    "client_id",
    "scope",
];

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
            token_endpoint: format!("{issuer}/oauth2/token"),
            revocation_endpoint: format!("{issuer}/oauth2/revoke"),
            introspection_endpoint: format!("{issuer}/oauth2/introspect"),
            grant_types_supported: vec!["client_credentials"],
            token_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
            token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS.to_vec(),
            scopes_supported: scopes(),
            issuer,
        })
    }
}
