//! The OpenID Provider's tables: applications as the sign-in reads them, browser sessions,
//! authorization requests and codes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use const_format::concatcp;
use uuid::Uuid;

use super::{GenericClient, cached, users};
use crate::db::DbError;
use crate::models::{User, UserStatus};

/// An application as the sign-in needs it.
#[derive(Clone, Debug, postgres_from_row::FromRow)]
pub struct App {
    /// Its `client_id`.
    pub id: Uuid,
    /// `web`, `spa` or `native`.
    pub kind: String,
    /// What it is called, shown on the hosted sign-in.
    pub name: String,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// The OpenID scopes it may ask for.
    pub scopes: Vec<String>,
    /// Sign-up on the hosted sign-in.
    pub allow_sign_up: bool,
    /// Tokens only for verified emails.
    pub require_verified_email: bool,
    /// Its access tokens' lifetime.
    pub token_ttl_secs: i32,
}

const FIND_APP: &str = "SELECT id, kind, name, redirect_uris, post_logout_redirect_uris, scopes, allow_sign_up,
            require_verified_email, token_ttl_secs
     FROM oauth_clients WHERE id = $1 AND kind <> 'm2m'";

/// An application by `client_id`; None for an unknown id or a machine's.
pub async fn find_app(db: &impl GenericClient, id: Uuid) -> Result<Option<App>, DbError> {
    cached::fetch_opt(db, FIND_APP, &[&id]).await
}

/// A pending authorization request, as /oauth2/authorize checked it.
#[derive(Clone, Debug, postgres_from_row::FromRow)]
pub struct AuthRequest {
    /// Its id: what the hosted pages carry.
    pub id: Uuid,
    /// The application.
    pub client_id: Uuid,
    /// The registered redirect URI it named.
    pub redirect_uri: String,
    /// The scopes asked for (and allowed).
    pub scopes: Vec<String>,
    /// The application's `state`, echoed.
    pub state: Option<String>,
    /// The application's `nonce`, put in the ID token.
    pub nonce: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// An organization's id, or `select`.
    pub organization: Option<String>,
    /// The email to fill in.
    pub login_hint: Option<String>,
    /// The oldest sign-in that counts, in seconds.
    pub max_age: Option<i32>,
    /// prompt=login: only a sign-in after the request counts.
    pub fresh_login: bool,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

const INSERT_REQUEST: &str = "INSERT INTO authorization_requests
         (id, client_id, redirect_uri, scopes, state, nonce, code_challenge, organization, login_hint, max_age,
          fresh_login, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now() + make_interval(secs => $12))
     RETURNING id, client_id, redirect_uri, scopes, state, nonce, code_challenge, organization, login_hint, max_age,
               fresh_login, created_at";
const FIND_REQUEST: &str = "SELECT id, client_id, redirect_uri, scopes, state, nonce, code_challenge, organization,
            login_hint, max_age, fresh_login, created_at
     FROM authorization_requests WHERE id = $1 AND expires_at > now()";
/// A request is answered once: whoever deletes it issues its code.
const TAKE_REQUEST: &str = "DELETE FROM authorization_requests WHERE id = $1 AND expires_at > now() RETURNING id";
const PRUNE: &str = "WITH r AS (DELETE FROM authorization_requests WHERE expires_at < now() RETURNING 1),
          c AS (DELETE FROM authorization_codes WHERE expires_at < now() - interval '1 day' RETURNING 1),
          b AS (DELETE FROM browser_sessions WHERE expires_at < now() - interval '1 day' RETURNING 1),
          s AS (DELETE FROM sso_sign_ins WHERE expires_at < now() RETURNING 1)
     SELECT (SELECT count(*) FROM r) + (SELECT count(*) FROM c) + (SELECT count(*) FROM b) + (SELECT count(*) FROM s)";

/// Stores a checked request for `ttl`.
pub async fn insert_request(db: &impl GenericClient, r: &AuthRequest, ttl: Duration) -> Result<AuthRequest, DbError> {
    let params = [
        &r.id as _,
        &r.client_id as _,
        &r.redirect_uri as _,
        &r.scopes as _,
        &r.state as _,
        &r.nonce as _,
        &r.code_challenge as _,
        &r.organization as _,
        &r.login_hint as _,
        &r.max_age as _,
        &r.fresh_login as _,
        &ttl.as_secs_f64() as _,
    ];
    cached::fetch_one(db, INSERT_REQUEST, &params).await
}

/// A request that has not expired.
pub async fn find_request(db: &impl GenericClient, id: Uuid) -> Result<Option<AuthRequest>, DbError> {
    cached::fetch_opt(db, FIND_REQUEST, &[&id]).await
}

/// Deletes a live request; false if another answer took it first or it expired.
pub async fn take_request(db: &impl GenericClient, id: Uuid) -> Result<bool, DbError> {
    Ok(cached::query_opt(db, TAKE_REQUEST, &[&id]).await?.is_some())
}

/// Forgets expired requests and SSO sign-ins, and codes and browser sessions a day past their
/// expiry.
pub async fn prune(db: &impl GenericClient) -> Result<u64, DbError> {
    let n: i64 = cached::value(db, PRUNE, &[]).await?;
    Ok(u64::try_from(n).unwrap_or_default())
}

/// A live browser session with its active user.
#[derive(Clone, Debug, postgres_from_row::FromRow)]
pub struct BrowserSession {
    /// Its id (the `sid` of ID tokens).
    #[from_row(rename = "browser_id")]
    pub id: Uuid,
    /// Its user, active.
    #[from_row(flatten)]
    pub user: User,
    /// The account's stamp it was opened under (still the account's).
    pub security_stamp: Uuid,
    /// The factors proved.
    pub amr: Vec<String>,
    /// When the user proved them.
    pub auth_time: DateTime<Utc>,
}

/// Opens a browser session only while the account is active and has the stamp the sign-in
/// was checked under (as sessions open).
const OPEN_BROWSER: &str = "INSERT INTO browser_sessions
         (id, token_hash, user_id, security_stamp, amr, auth_time, expires_at, user_agent, ip)
     SELECT $1, $2, u.id, u.security_stamp, $4, now(), now() + make_interval(secs => $5), $6, $7
     FROM users u WHERE u.id = $3 AND u.security_stamp = $8 AND u.status = $9 FOR SHARE OF u";
/// A live browser session ($2: the active status) and its user, before the key that finds it.
const LIVE_BROWSER: &str = concatcp!(
    "SELECT b.id AS browser_id, b.security_stamp, b.amr, b.auth_time, ",
    users::COLUMNS,
    " FROM browser_sessions b JOIN users u ON u.id = b.user_id
      WHERE b.ended_at IS NULL AND b.expires_at > now() AND b.security_stamp = u.security_stamp
        AND u.status = $2 AND "
);
const FIND_BROWSER: &str = concatcp!(LIVE_BROWSER, "b.token_hash = $1");
const FIND_BROWSER_BY_ID: &str = concatcp!(LIVE_BROWSER, "b.id = $1");
const END_BROWSER: &str = "UPDATE browser_sessions SET ended_at = now() WHERE id = $1 AND ended_at IS NULL";

/// A browser session to open.
pub struct NewBrowserSession<'a> {
    /// Its id.
    pub id: Uuid,
    /// The hash of the cookie's token.
    pub token_hash: &'a [u8],
    /// Its user.
    pub user_id: Uuid,
    /// The stamp the sign-in was checked under.
    pub security_stamp: Uuid,
    /// The factors proved.
    pub amr: &'a [&'a str],
    /// How long it lives.
    pub ttl: Duration,
    /// The browser's User-Agent.
    pub user_agent: Option<&'a str>,
    /// The browser's address.
    pub ip: Option<std::net::IpAddr>,
}

/// Opens a browser session; false when the account's stamp moved on or it is disabled.
pub async fn open_browser(db: &impl GenericClient, new: &NewBrowserSession<'_>) -> Result<bool, DbError> {
    let params = [
        &new.id as _,
        &new.token_hash as _,
        &new.user_id as _,
        &new.amr as _,
        &new.ttl.as_secs_f64() as _,
        &new.user_agent as _,
        &new.ip as _,
        &new.security_stamp as _,
        &UserStatus::Active as _,
    ];
    Ok(cached::execute(db, OPEN_BROWSER, &params).await? == 1)
}

/// The live browser session whose cookie token hashes to `token_hash`.
pub async fn find_browser(db: &impl GenericClient, token_hash: &[u8]) -> Result<Option<BrowserSession>, DbError> {
    cached::fetch_opt(db, FIND_BROWSER, &[&token_hash, &UserStatus::Active]).await
}

/// A live browser session by id.
pub async fn find_browser_by_id(db: &impl GenericClient, id: Uuid) -> Result<Option<BrowserSession>, DbError> {
    cached::fetch_opt(db, FIND_BROWSER_BY_ID, &[&id, &UserStatus::Active]).await
}

/// Ends a browser session; true if it was live.
pub async fn end_browser(db: &impl GenericClient, id: Uuid) -> Result<bool, DbError> {
    Ok(cached::execute(db, END_BROWSER, &[&id]).await? == 1)
}

/// An authorization code as it was issued.
#[derive(Clone, Debug, postgres_from_row::FromRow)]
pub struct Code {
    /// The application it was issued to.
    pub client_id: Uuid,
    /// The browser session it came from.
    pub browser_session_id: Uuid,
    /// The user.
    pub user_id: Uuid,
    /// The redirect URI it was sent to.
    pub redirect_uri: String,
    /// The PKCE challenge.
    pub code_challenge: String,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// The application's nonce.
    pub nonce: Option<String>,
    /// The organization of a scoped sign-in.
    pub org_id: Option<Uuid>,
}

const INSERT_CODE: &str = "INSERT INTO authorization_codes
         (code_hash, client_id, browser_session_id, user_id, redirect_uri, code_challenge, scopes, nonce, org_id,
          expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $10))";
/// Spends a live code: of concurrent exchanges, one gets it.
const SPEND_CODE: &str = "UPDATE authorization_codes SET spent_at = now()
     WHERE code_hash = $1 AND spent_at IS NULL AND expires_at > now()
     RETURNING client_id, browser_session_id, user_id, redirect_uri, code_challenge, scopes, nonce, org_id";
/// The session a spent code opened (a replay ends it).
const SPENT_CODE_SESSION: &str =
    "SELECT session_id FROM authorization_codes WHERE code_hash = $1 AND spent_at IS NOT NULL";
const SET_CODE_SESSION: &str = "UPDATE authorization_codes SET session_id = $2 WHERE code_hash = $1";

/// Stores a code's hash, live for `ttl`.
pub async fn insert_code(db: &impl GenericClient, hash: &[u8], code: &Code, ttl: Duration) -> Result<(), DbError> {
    let params = [
        &hash as _,
        &code.client_id as _,
        &code.browser_session_id as _,
        &code.user_id as _,
        &code.redirect_uri as _,
        &code.code_challenge as _,
        &code.scopes as _,
        &code.nonce as _,
        &code.org_id as _,
        &ttl.as_secs_f64() as _,
    ];
    cached::execute(db, INSERT_CODE, &params).await?;
    Ok(())
}

/// Spends a live code; None if it is unknown, spent or expired.
pub async fn spend_code(db: &impl GenericClient, hash: &[u8]) -> Result<Option<Code>, DbError> {
    cached::fetch_opt(db, SPEND_CODE, &[&hash]).await
}

/// For a spent code: `Some(session it opened, if any)`; None if no code was spent with this hash.
pub async fn spent_code_session(db: &impl GenericClient, hash: &[u8]) -> Result<Option<Option<Uuid>>, DbError> {
    let row = cached::query_opt(db, SPENT_CODE_SESSION, &[&hash]).await?;
    row.map(|r| r.try_get(0).map_err(DbError::from)).transpose()
}

/// Records the session a code opened.
pub async fn set_code_session(db: &impl GenericClient, hash: &[u8], session_id: Uuid) -> Result<(), DbError> {
    cached::execute(db, SET_CODE_SESSION, &[&hash, &session_id]).await?;
    Ok(())
}
