//! The OAuth endpoints' form bodies, as the OpenAPI document describes them (the handlers read
//! them with `http::oauth::OAuthForm`, which refuses a repeated parameter).

/// Form of POST /oauth2/token.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    /// `client_credentials` (machines), `authorization_code` or `refresh_token` (applications).
    grant_type: String,
    /// client_credentials: space-separated permissions to ask for; all the client holds when
    /// absent.
    scope: Option<String>,
    /// authorization_code: the code from the redirect (single-use, 60 seconds).
    code: Option<String>,
    /// authorization_code: the redirect URI the code was sent to.
    redirect_uri: Option<String>,
    /// authorization_code: the PKCE verifier of the request's `code_challenge`.
    code_verifier: Option<String>,
    /// refresh_token: the application's refresh token (single-use; rotated).
    refresh_token: Option<String>,
    /// The client's id, with `client_secret` (client_secret_post), or alone for a public
    /// application; or send id and secret as HTTP Basic.
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

/// Form of POST /oauth2/logout (RP-Initiated Logout), as an application may post it; the
/// signed-out page's own button posts it with `csrf`.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LogoutForm {
    /// An ID token we issued (expired or not): who signs out.
    id_token_hint: Option<String>,
    /// The application, without a hint.
    client_id: Option<String>,
    /// One the application registered, exactly.
    post_logout_redirect_uri: Option<String>,
    /// Echoed to it.
    state: Option<String>,
    /// The confirmation page's CSRF field (its own button only).
    csrf: Option<String>,
}

/// Answer of POST /oauth2/token (RFC 6749 §5.1): a machine's access token, or an
/// application's access, ID and refresh tokens.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TokenEndpointAnswer {
    /// An RFC 9068 JWT access token.
    access_token: String,
    /// Always `Bearer`.
    token_type: String,
    /// Seconds until it expires.
    expires_in: u64,
    /// Space-separated: the permissions (machines) or scopes (applications) granted.
    scope: String,
    /// Applications: the ID token (OIDC Core §2).
    id_token: Option<String>,
    /// Applications with `offline_access`: a single-use refresh token.
    refresh_token: Option<String>,
}
