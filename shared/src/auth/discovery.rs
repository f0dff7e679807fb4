//! The OpenID Provider metadata document (`/.well-known/openid-configuration`, OpenID Connect
//! Discovery 1.0): what a relying party library needs to sign users in through the hosted
//! pages, and what verifiers such as API Gateway's JWT authorizer need to find our keys.

use serde::Serialize;

use super::jwt::{JwtKeys, KeyError};

/// The standard members, and this API's own sign-in endpoints beside them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Discovery {
    /// Equals the `iss` of every token.
    pub issuer: String,
    /// Where an application sends the browser to sign in (code flow with PKCE).
    pub authorization_endpoint: String,
    /// Where an access token gets the user's claims.
    pub userinfo_endpoint: String,
    /// RP-Initiated Logout.
    pub end_session_endpoint: String,
    /// Where the public keys are: `{issuer}/.well-known/jwks.json`.
    pub jwks_uri: String,
    /// `code`.
    pub response_types_supported: Vec<&'static str>,
    /// `query`.
    pub response_modes_supported: Vec<&'static str>,
    /// `public`: `sub` is the user's id for every application.
    pub subject_types_supported: Vec<&'static str>,
    /// What ID tokens are signed with (RS256 when the deployment holds an RSA key).
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    /// `S256`: PKCE is required of every client.
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// `none` and `login`.
    pub prompt_values_supported: Vec<&'static str>,
    /// RFC 9207: the redirect back carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    /// The algorithms of the keys in the JWKS, the access-token key's first.
    pub access_token_signing_alg_values_supported: Vec<&'static str>,
    /// The claims ID tokens and access tokens carry.
    pub claims_supported: Vec<&'static str>,
    /// `POST` email and password here for a token pair (this API's own JSON, not OAuth's form).
    pub login_endpoint: String,
    /// `POST` a refresh token here for a new pair.
    pub refresh_endpoint: String,
    /// The OAuth 2.0 token endpoint.
    pub token_endpoint: String,
    /// Where a client revokes a token it was issued (RFC 7009).
    pub revocation_endpoint: String,
    /// Where the platform's own clients ask whether a token works (RFC 7662).
    pub introspection_endpoint: String,
    /// `authorization_code`, `refresh_token`, `client_credentials`.
    pub grant_types_supported: Vec<&'static str>,
    /// How clients authenticate at the token endpoint (`none`: public applications).
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// What a `private_key_jwt` assertion may be signed with.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// The OpenID scopes, then the permission catalog (a machine's scopes).
    pub scopes_supported: Vec<&'static str>,
}

/// RFC 8414 authorization server metadata (`/.well-known/oauth-authorization-server`): what an
/// OAuth client library reads to find the token endpoint and how to authenticate there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuthorizationServer {
    /// Equals the `iss` of every token.
    pub issuer: String,
    /// Where an application sends the browser to sign in.
    pub authorization_endpoint: String,
    /// Where tokens are issued.
    pub token_endpoint: String,
    /// Where the public keys are.
    pub jwks_uri: String,
    /// Where a client revokes a token.
    pub revocation_endpoint: String,
    /// Where the platform's own clients ask whether a token works (RFC 7662).
    pub introspection_endpoint: String,
    /// `authorization_code`, `refresh_token`, `client_credentials`.
    pub grant_types_supported: Vec<&'static str>,
    /// `code`.
    pub response_types_supported: Vec<&'static str>,
    /// `S256`.
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// RFC 9207: the redirect back carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt`, and `none` for public
    /// applications.
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

/// The grants the token endpoint issues.
const GRANTS: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];
/// How clients authenticate at the token endpoint: public applications with `none`.
const TOKEN_AUTH_METHODS: [&str; 4] = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"];

/// The OpenID scopes applications ask for, then the permissions machines ask for.
fn scopes() -> Vec<&'static str> {
    let openid = ["openid", "profile", "email", "offline_access"];
    openid.into_iter().chain(crate::models::Permission::ALL.iter().map(|p| p.as_str())).collect()
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
            authorization_endpoint: format!("{issuer}/oauth2/authorize"),
            grant_types_supported: GRANTS.to_vec(),
            response_types_supported: vec!["code"],
            code_challenge_methods_supported: vec!["S256"],
            authorization_response_iss_parameter_supported: true,
            token_endpoint_auth_methods_supported: TOKEN_AUTH_METHODS.to_vec(),
            token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS.to_vec(),
            revocation_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
            introspection_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
            scopes_supported: scopes(),
            issuer,
        })
    }
}

/// Every claim an ID token or access token can carry (see `IdClaims`, `AccessClaims`).
const CLAIMS: [&str; 21] = [
    "auth_time",
    "nonce",
    "azp",
    "email_verified",
    "name",
    "org_name",
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
        let id_alg = keys.id_token_alg().or_else(|| keys.algorithms().first().copied());
        Ok(Discovery {
            authorization_endpoint: format!("{issuer}/oauth2/authorize"),
            userinfo_endpoint: format!("{issuer}/oauth2/userinfo"),
            end_session_endpoint: format!("{issuer}/oauth2/logout"),
            jwks_uri: format!("{issuer}/.well-known/jwks.json"),
            response_types_supported: vec!["code"],
            response_modes_supported: vec!["query"],
            subject_types_supported: vec!["public"],
            id_token_signing_alg_values_supported: id_alg.map(|a| a.name()).into_iter().collect(),
            code_challenge_methods_supported: vec!["S256"],
            prompt_values_supported: vec!["none", "login"],
            authorization_response_iss_parameter_supported: true,
            access_token_signing_alg_values_supported: keys.algorithms().into_iter().map(|a| a.name()).collect(),
            claims_supported: CLAIMS.to_vec(),
            login_endpoint: format!("{issuer}/auth/login"),
            refresh_endpoint: format!("{issuer}/auth/refresh"),
            token_endpoint: format!("{issuer}/oauth2/token"),
            revocation_endpoint: format!("{issuer}/oauth2/revoke"),
            introspection_endpoint: format!("{issuer}/oauth2/introspect"),
            grant_types_supported: GRANTS.to_vec(),
            token_endpoint_auth_methods_supported: TOKEN_AUTH_METHODS.to_vec(),
            token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS.to_vec(),
            scopes_supported: scopes(),
            issuer,
        })
    }
}
