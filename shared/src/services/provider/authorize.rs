//! `/oauth2/authorize` and what follows it: the request checked once and kept, the browser
//! session at the provider, and the decision each step of the hosted sign-in comes back to
//! (sign in, pick an organization, or send the code back).

use std::time::Duration;

use chrono::Utc;
use url::Url;
use uuid::Uuid;

use crate::auth::tokens;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::models::ClientInfo;
use crate::repositories::provider::{self as rows, App, AuthRequest, BrowserSession, Code, NewBrowserSession};
use crate::repositories::sso::{self, ConnectionRow};
use crate::repositories::{memberships, organizations};
use crate::services::sessions::proved_second_factor;
use crate::services::sign_in::SignInProof;
use crate::state::AppState;

/// How long a pending sign-in may take.
const REQUEST_TTL: Duration = Duration::from_secs(600);
/// How long a code lives (DESIGN: 60 s).
pub const CODE_TTL: Duration = Duration::from_secs(60);
/// How long a browser session lives without a new sign-in.
pub const BROWSER_SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// The provider session's cookie.
pub const SESSION_COOKIE: &str = "identity_session";

/// The parameters of an authorization request, as sent (RFC 6749 §4.1.1, OIDC Core §3.1.2.1).
#[derive(Debug, Default)]
pub struct AuthorizeParams {
    /// Every parameter, each at most once.
    pub pairs: Vec<(String, String)>,
}

impl AuthorizeParams {
    /// The parameters of a query string; a parameter sent twice is refused (RFC 6749 §3.1).
    pub fn parse(query: &str) -> Result<AuthorizeParams, String> {
        let mut pairs: Vec<(String, String)> = vec![];
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if pairs.iter().any(|(n, _)| *n == k) {
                return Err(format!("{k} is sent more than once"));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(AuthorizeParams { pairs })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }
}

/// An error sent back to the application's redirect URI (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone)]
pub struct ErrorRedirect {
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// RFC 6749 / OIDC error code.
    pub error: &'static str,
    /// What went wrong, for the developer.
    pub description: String,
    /// The application's `state`.
    pub state: Option<String>,
}

impl ErrorRedirect {
    /// Where the browser goes.
    pub fn location(&self, issuer: &str) -> String {
        with_query(
            &self.redirect_uri,
            &[
                ("error", Some(self.error)),
                ("error_description", Some(&self.description)),
                ("state", self.state.as_deref()),
                ("iss", Some(issuer)),
            ],
        )
    }
}

/// What the browser is shown or sent to next.
#[derive(Debug)]
pub enum Next {
    /// The sign-in form for this request.
    SignIn {
        /// The request.
        request: AuthRequest,
        /// Its application.
        app: App,
        /// The organization it signs in to, when it names one: its name and logo.
        org: Option<(String, Option<String>)>,
    },
    /// The organization picker: the user's organizations.
    Pick {
        /// The request.
        request: AuthRequest,
        /// Its application.
        app: App,
        /// (id, name) of each organization the user belongs to.
        orgs: Vec<(Uuid, String)>,
    },
    /// The organization the request names signs in at its own identity provider.
    SingleSignOn {
        /// The request.
        request: AuthRequest,
        /// The organization's active connection.
        connection: Box<ConnectionRow>,
    },
    /// Back to the application (a code, or an error) at this URL.
    Redirect(String),
    /// A page saying why no redirect is safe or nothing can be issued.
    Stop(AppError),
}

/// The hosted pages' answer to a request that is unknown or expired.
pub fn request_gone() -> AppError {
    AppError::Gone("This sign-in has expired or was finished. Go back to the application and start again.".into())
}

/// Checks an authorization request. An unknown client or a redirect URI that is not exactly
/// registered is shown as a page and never redirected to; every other error goes back to
/// the redirect URI. A good request is kept and decided on as [`resume`] does.
pub async fn authorize(state: &AppState, params: &AuthorizeParams, browser_token: Option<&str>) -> AppResult<Next> {
    let client_id = params.get("client_id").ok_or_else(|| AppError::invalid("request", "client_id is required"))?;
    let client_id: Uuid =
        client_id.parse().map_err(|_| AppError::invalid("request", "client_id names no application"))?;
    let db = db::client(state.pool()).await?;
    let app = rows::find_app(&db, client_id)
        .await?
        .ok_or_else(|| AppError::invalid("request", "client_id names no application"))?;
    let redirect_uri =
        params.get("redirect_uri").ok_or_else(|| AppError::invalid("request", "redirect_uri is required"))?;
    if !registered(&app, redirect_uri) {
        return Err(AppError::invalid(
            "request",
            "redirect_uri is not one this application registered (they must match exactly)",
        ));
    }
    let issuer = state.jwt().issuer().map_err(AppError::internal("reading the issuer"))?.to_owned();
    let state_param = params.get("state").map(str::to_owned);
    let refuse = |error: &'static str, description: &str| {
        let e = ErrorRedirect {
            redirect_uri: redirect_uri.to_owned(),
            error,
            description: description.to_owned(),
            state: state_param.clone(),
        };
        Ok(Next::Redirect(e.location(&issuer)))
    };
    if params.get("request").is_some() {
        return refuse("request_not_supported", "request objects are not supported");
    }
    if params.get("request_uri").is_some() {
        return refuse("request_uri_not_supported", "request_uri is not supported");
    }
    match params.get("response_type") {
        Some("code") => {}
        Some(_) => return refuse("unsupported_response_type", "response_type must be code"),
        None => return refuse("invalid_request", "response_type is required"),
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return refuse("invalid_request", "response_mode must be query");
    }
    let scopes: Vec<String> =
        params.get("scope").unwrap_or_default().split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if !scopes.iter().any(|s| s == "openid") {
        return refuse("invalid_scope", "scope must include openid");
    }
    if let Some(other) = scopes.iter().find(|s| !app.scopes.contains(s)) {
        return refuse("invalid_scope", &format!("{other} is not a scope this application may ask for"));
    }
    let challenge = match (params.get("code_challenge"), params.get("code_challenge_method")) {
        (Some(c), Some("S256")) if is_challenge(c) => c.to_owned(),
        (Some(_), Some("S256")) => return refuse("invalid_request", "code_challenge must be 43 base64url characters"),
        (Some(_), Some(_) | None) => return refuse("invalid_request", "code_challenge_method must be S256"),
        (None, _) => return refuse("invalid_request", "PKCE is required: send code_challenge with S256"),
    };
    let (mut none, mut login) = (false, false);
    for prompt in params.get("prompt").unwrap_or_default().split(' ').filter(|s| !s.is_empty()) {
        match prompt {
            "none" => none = true,
            "login" => login = true,
            "consent" | "select_account" => {}
            _ => return refuse("invalid_request", &format!("prompt {prompt} is not supported")),
        }
    }
    if none && login {
        return refuse("invalid_request", "prompt=none goes with no other value");
    }
    let max_age = match params.get("max_age").map(str::parse::<i32>) {
        None => None,
        Some(Ok(secs)) if secs >= 0 => Some(secs),
        Some(_) => return refuse("invalid_request", "max_age must be a whole number of seconds"),
    };
    let organization = match params.get("organization") {
        None => None,
        Some("select") => Some("select".to_owned()),
        Some(id) if id.parse::<Uuid>().is_ok() => Some(id.to_owned()),
        Some(_) => return refuse("invalid_request", "organization must be an organization's id or select"),
    };
    let bounded = |name: &str, max: usize| params.get(name).filter(|v| v.len() <= max).map(str::to_owned);
    for (name, max) in [("state", 2048), ("nonce", 512), ("login_hint", 254)] {
        if params.get(name).is_some_and(|v| v.len() > max) {
            return refuse("invalid_request", &format!("{name} is longer than {max} characters"));
        }
    }
    let request = AuthRequest {
        id: Uuid::now_v7(),
        client_id,
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state: state_param.clone(),
        nonce: bounded("nonce", 512),
        code_challenge: challenge,
        organization,
        login_hint: bounded("login_hint", 254),
        max_age,
        fresh_login: login,
        created_at: Utc::now(),
    };
    let request = rows::insert_request(&db, &request, REQUEST_TTL).await?;
    drop(db);
    let next = decide(state, request, app, browser_token, None).await?;
    if none {
        // Nothing may be shown: what would need the user is an error instead.
        return Ok(match next {
            Next::SignIn { request, .. } | Next::SingleSignOn { request, .. } => {
                Next::Redirect(error_for(&request, "login_required", "no one is signed in", &issuer))
            }
            Next::Pick { request, .. } => Next::Redirect(error_for(
                &request,
                "interaction_required",
                "the user must pick an organization",
                &issuer,
            )),
            other => other,
        });
    }
    Ok(next)
}

/// Where a pending request stands for this browser, with `chosen` the organization the picker
/// sent, if any.
pub async fn resume(
    state: &AppState,
    request_id: Uuid,
    browser_token: Option<&str>,
    chosen: Option<Uuid>,
) -> AppResult<Next> {
    let db = db::client(state.pool()).await?;
    let request = rows::find_request(&db, request_id).await?.ok_or_else(request_gone)?;
    let app = rows::find_app(&db, request.client_id).await?.ok_or_else(request_gone)?;
    drop(db);
    decide(state, request, app, browser_token, chosen).await
}

/// A pending request and its application, for the sign-in form.
pub async fn pending(state: &AppState, request_id: Uuid) -> AppResult<(AuthRequest, App)> {
    let db = db::client(state.pool()).await?;
    let request = rows::find_request(&db, request_id).await?.ok_or_else(request_gone)?;
    let app = rows::find_app(&db, request.client_id).await?.ok_or_else(request_gone)?;
    Ok((request, app))
}

async fn decide(
    state: &AppState,
    request: AuthRequest,
    app: App,
    browser_token: Option<&str>,
    chosen: Option<Uuid>,
) -> AppResult<Next> {
    let issuer = state.jwt().issuer().map_err(AppError::internal("reading the issuer"))?.to_owned();
    let db = db::client(state.pool()).await?;
    let session = match browser_token.filter(|t| tokens::is_well_formed(t)) {
        Some(token) => rows::find_browser(&db, &tokens::hash(token)).await?,
        None => None,
    };
    let Some(session) = session.filter(|s| counts_for(s, &request)) else {
        // The organization the request names goes straight to its identity provider when it
        // has an active connection, or shows on the form (an unknown one shows nothing: it is
        // refused once someone has signed in, without telling strangers it exists).
        let named = request.organization.as_deref().and_then(|o| o.parse::<Uuid>().ok());
        if let Some(id) = named
            && let Some(connection) = sso::active_for_org(&db, id).await?
        {
            return Ok(Next::SingleSignOn { request, connection: Box::new(connection) });
        }
        let org = match named {
            Some(id) => organizations::find(&db, id).await?.map(|o| (o.name, o.logo_url)),
            None => None,
        };
        return Ok(Next::SignIn { request, app, org });
    };
    if app.require_verified_email && !session.user.email_verified {
        return Ok(Next::Stop(AppError::Forbidden(format!(
            "{} signs in only people whose email address is confirmed: open the link we mailed to {}, then try again.",
            app.name, session.user.email
        ))));
    }
    let org_id = match (chosen, request.organization.as_deref()) {
        (Some(id), Some("select")) => Some(id),
        (_, Some("select")) => {
            let mine = organizations::list_for_user(&db, session.user.id, None, 100).await?;
            if mine.is_empty() {
                return Ok(Next::Redirect(error_for(
                    &request,
                    "access_denied",
                    "the user belongs to no organization",
                    &issuer,
                )));
            }
            let orgs = mine.into_iter().map(|m| (m.organization.id, m.organization.name)).collect();
            return Ok(Next::Pick { request, app, orgs });
        }
        (_, Some(id)) => Some(id.parse::<Uuid>().map_err(|_| AppError::bug("a stored organization that is no id"))?),
        (_, None) => None,
    };
    if let Some(org_id) = org_id {
        let Some(scope) = memberships::token_scope(&db, org_id, session.user.id).await? else {
            return Ok(Next::Redirect(error_for(
                &request,
                "access_denied",
                "the user is not a member of that organization",
                &issuer,
            )));
        };
        if scope.require_mfa && !proved_second_factor(&session.amr) {
            let why = "the organization requires a second factor: the user must enrol one, then sign in again";
            return Ok(Next::Redirect(error_for(&request, "access_denied", why, &issuer)));
        }
    }
    // The request is answered once: of two tabs finishing it, one issues the code.
    if !rows::take_request(&db, request.id).await? {
        return Ok(Next::Stop(request_gone()));
    }
    let code = tokens::generate();
    let row = Code {
        client_id: request.client_id,
        browser_session_id: session.id,
        user_id: session.user.id,
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        scopes: request.scopes.clone(),
        nonce: request.nonce.clone(),
        org_id,
    };
    rows::insert_code(&db, &tokens::hash(&code), &row, CODE_TTL).await?;
    tracing::info!(client_id = %request.client_id, user_id = %session.user.id, "authorization code issued");
    Ok(Next::Redirect(with_query(
        &request.redirect_uri,
        &[("code", Some(&code)), ("state", request.state.as_deref()), ("iss", Some(&issuer))],
    )))
}

/// Whether this browser session's sign-in is recent enough for the request.
fn counts_for(session: &BrowserSession, request: &AuthRequest) -> bool {
    if request.fresh_login && session.auth_time < request.created_at {
        return false;
    }
    match request.max_age {
        // To the millisecond: max_age=0 asks for a sign-in made for this request.
        Some(secs) => (Utc::now() - session.auth_time).num_milliseconds() <= i64::from(secs) * 1000,
        None => true,
    }
}

/// Opens the browser session a finished sign-in earns; the cookie's token.
pub async fn open_browser_session(state: &AppState, proof: &SignInProof, client: &ClientInfo) -> AppResult<String> {
    let token = tokens::generate();
    let hash = tokens::hash(&token);
    let new = NewBrowserSession {
        id: Uuid::now_v7(),
        token_hash: &hash,
        user_id: proof.user().id,
        security_stamp: proof.security_stamp(),
        amr: proof.amr(),
        ttl: BROWSER_SESSION_TTL,
        user_agent: client.user_agent.as_deref(),
        ip: client.ip,
    };
    let db = db::client(state.pool()).await?;
    if !rows::open_browser(&db, &new).await? {
        return Err(crate::services::sessions::credentials_changed());
    }
    tracing::info!(user_id = %proof.user().id, browser_session_id = %new.id, "signed in at the provider");
    Ok(token)
}

/// True when `uri` is one of the application's redirect URIs, character for character; a
/// native application's loopback URI may name any port (RFC 8252 §7.3).
fn registered(app: &App, uri: &str) -> bool {
    if app.redirect_uris.iter().any(|r| r == uri) {
        return true;
    }
    if app.kind != "native" {
        return false;
    }
    let Ok(asked) = Url::parse(uri) else { return false };
    app.redirect_uris.iter().filter_map(|r| Url::parse(r).ok()).any(|mut r| {
        let loopback = matches!(r.host_str(), Some("127.0.0.1" | "[::1]")) && r.scheme() == "http";
        loopback && r.set_port(asked.port()).is_ok() && r.as_str() == asked.as_str()
    })
}

/// RFC 7636 §4.2: 43 to 128 characters of the unreserved set (S256 gives 43).
fn is_challenge(c: &str) -> bool {
    (43..=128).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn error_for(request: &AuthRequest, error: &'static str, description: &str, issuer: &str) -> String {
    let e = ErrorRedirect {
        redirect_uri: request.redirect_uri.clone(),
        error,
        description: description.to_owned(),
        state: request.state.clone(),
    };
    e.location(issuer)
}

/// `uri` with these query parameters added to any it has.
pub(crate) fn with_query(uri: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let Ok(mut url) = Url::parse(uri) else { return uri.to_owned() };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            if let Some(v) = v {
                query.append_pair(k, v);
            }
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_sent_once() {
        assert!(AuthorizeParams::parse("a=1&b=2").is_ok());
        assert!(AuthorizeParams::parse("a=1&a=2").is_err());
    }

    #[test]
    fn challenges_are_s256_shaped() {
        assert!(is_challenge(&"a".repeat(43)));
        assert!(!is_challenge(&"a".repeat(42)));
        assert!(!is_challenge(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn queries_are_added_to_what_the_uri_has() {
        assert_eq!(
            with_query("https://a.example/cb?x=1", &[("code", Some("c d")), ("state", None)]),
            "https://a.example/cb?x=1&code=c+d"
        );
    }
}
