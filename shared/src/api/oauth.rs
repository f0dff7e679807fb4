//! The OAuth endpoints' form bodies, as the OpenAPI document describes them (the handlers read
//! them with `http::oauth::OAuthForm`, which refuses a repeated parameter).

/// Form of POST /oauth2/token.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    /// `client_credentials`.
    grant_type: String,
    /// Space-separated permissions to ask for; all the client holds when absent.
    scope: Option<String>,
    /// The client's id, with `client_secret` (client_secret_post); or send both as HTTP Basic.
    client_id: Option<String>,
    /// The client's secret (or an API key's value).
    client_secret: Option<String>,
    /// For private_key_jwt: `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    client_assertion_type: Option<String>,
    /// For private_key_jwt: a JWT the client signed (RFC 7523), single-use.
    client_assertion: Option<String>,
}

/// Form of POST /oauth2/revoke (RFC 7009) and POST /oauth2/introspect (RFC 7662, for the
/// platform's own clients).
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TokenCheckForm {
    /// The token: at /revoke one this client was issued; at /introspect a token from the token
    /// endpoint, a user's access token, or an API key.
    token: String,
    /// `access_token`; optional.
    token_type_hint: Option<String>,
    /// As at the token endpoint.
    client_id: Option<String>,
    /// As at the token endpoint.
    client_secret: Option<String>,
    /// As at the token endpoint.
    client_assertion_type: Option<String>,
    /// As at the token endpoint.
    client_assertion: Option<String>,
}
