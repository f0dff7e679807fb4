//! Extractors: JSON bodies with problem+json rejections, the authenticated caller, client info.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header;
use axum::http::request::Parts;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::{AppError, FieldError};
use crate::models::ClientInfo;
use crate::services::access::{self, Caller, OrgActor, OrgRequest};
use crate::services::roles::RoleRef;
use crate::state::AppState;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Longest bearer token looked at; anything longer is refused unread.
const MAX_BEARER_BYTES: usize = 8 * 1024;

/// A JSON body: 415 unless the content type is JSON, 413 over 64 KiB, 400 when it is not
/// JSON, 422 with the offending field when it does not fit `T`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(AppError::UnsupportedMediaType);
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A JSON body that may be left out: None for an empty body, else as [`ApiJson`].
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let json = is_json(req.headers().get(header::CONTENT_TYPE));
        let bytes = read_body(req, state).await?;
        if bytes.is_empty() {
            return Ok(OptionalJson(None));
        }
        if !json {
            return Err(AppError::UnsupportedMediaType);
        }
        parse_json(&bytes).map(|body| OptionalJson(Some(body)))
    }
}

/// The body's bytes: 413 over the limit, 400 when it cannot be read.
async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(MAX_BODY_BYTES)
        } else {
            AppError::BadRequest("The request body could not be read.".into())
        }
    })
}

fn is_json(content_type: Option<&header::HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON body into `T`, telling syntax errors (400) from misfit fields (422).
/// The body must be one JSON object.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    use serde_json::error::Category;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize::<_, T>(&mut de);
    // A misfit found before the end says nothing about the rest: only a body that is JSON
    // throughout, and an object, gets field errors.
    let syntax = || serde_json::from_slice::<serde::de::IgnoredAny>(bytes).err();
    let err = match parsed {
        Ok(value) if starts_with_brace(bytes) => {
            return match de.end() {
                Ok(()) => Ok(value),
                Err(e) => Err(malformed(&without_position(&e.to_string()))),
            };
        }
        Ok(_) => return Err(AppError::invalid("", "the body must be a JSON object")),
        Err(err) => err,
    };
    if let Some(e) = syntax() {
        return Err(malformed(&without_position(&e.to_string())));
    }
    if !starts_with_brace(bytes) {
        return Err(AppError::invalid("", "the body must be a JSON object"));
    }
    let path = err.path().to_string();
    let inner = err.into_inner();
    let message = without_position(&inner.to_string());
    if inner.classify() != Category::Data {
        return Err(malformed(&message));
    }
    let (field, message) = match message.strip_prefix("missing field `") {
        Some(rest) => (join_path(&path, rest.trim_end_matches('`')), "is required".to_owned()),
        None => (if path == "." { String::new() } else { path }, message),
    };
    Err(AppError::Validation(vec![FieldError::new(field, message)]))
}

fn starts_with_brace(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn malformed(message: &str) -> AppError {
    AppError::BadRequest(format!("The request body is not valid JSON: {message}."))
}

fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn join_path(parent: &str, name: &str) -> String {
    if parent == "." || parent.is_empty() { name.to_owned() } else { format!("{parent}.{name}") }
}

/// The caller of a request with a valid bearer token whose session is live.
#[derive(Clone, Debug)]
pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        access::authenticate(state, bearer(parts)?).await.map(Authenticated)
    }
}

/// The caller when an Authorization header is sent (it must then be valid), else None.
#[derive(Clone, Debug)]
pub struct MaybeAuthenticated(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeAuthenticated {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            access::authenticate(state, bearer(parts)?).await.map(|caller| MaybeAuthenticated(Some(caller)))
        } else {
            Ok(MaybeAuthenticated(None))
        }
    }
}

/// The bearer token of the Authorization header; 401 when there is none.
fn bearer(parts: &Parts) -> Result<&str, AppError> {
    let missing = || AppError::Unauthorized("A bearer access token is required.".into());
    let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(missing)?;
    if value.len() > MAX_BEARER_BYTES {
        return Err(missing());
    }
    let (scheme, token) = value.to_str().map_err(|_| missing())?.split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing());
    }
    Ok(token)
}

/// A signed-in user who is a platform admin; 403 for anyone else.
#[derive(Clone, Debug)]
pub struct PlatformAdmin(pub Caller);

impl FromRequestParts<AppState> for PlatformAdmin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Authenticated(caller) = Authenticated::from_request_parts(parts, state).await?;
        if !caller.user.is_platform_admin {
            return Err(AppError::Forbidden("This needs a platform administrator.".into()));
        }
        Ok(PlatformAdmin(caller))
    }
}

/// A member acting in the organization named by the `{org}` path segment, with their
/// permissions there read from the database for this request. 401 without a valid session,
/// 404 for an organization the caller is not a member of (or that does not exist).
#[derive(Clone, Debug)]
pub struct OrgAccess(pub OrgActor);

impl FromRequestParts<AppState> for OrgAccess {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer(parts)?.to_owned();
        let org_id = org_segment(parts, state).await;
        access::authorize_org(state, &token, org_id, client_ip(parts)).await.map(OrgAccess)
    }
}

/// An org route's caller with a verified token, looked up in the database only with the
/// read the handler makes (one round trip for both). 401 for a bad token, 404 for a path that
/// names no org id.
#[derive(Clone, Debug)]
pub struct OrgToken(pub OrgRequest);

impl FromRequestParts<AppState> for OrgToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let org_id = org_segment(parts, state).await;
        OrgRequest::verify(state, bearer(parts)?, org_id, client_ip(parts)).map(OrgToken)
    }
}

/// The `{org}` path segment as an id, if it is one.
async fn org_segment(parts: &mut Parts, state: &AppState) -> Option<Uuid> {
    Uuid::parse_str(&segment(parts, state, "org").await).ok()
}

/// Parses a path id; anything that is not a UUID names nothing, so it is a 404.
pub fn path_id(raw: &str, what: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound(format!("No such {what}.")))
}

/// The raw value of the `{name}` path segment (empty when the route has none).
async fn segment<S: Send + Sync>(parts: &mut Parts, state: &S, name: &str) -> String {
    let params = RawPathParams::from_request_parts(parts, state).await.ok();
    params.and_then(|p| p.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_owned())).unwrap_or_default()
}

/// Declares an extractor for a path segment that must be a UUID. Extractors of the request's
/// parts run before its body is read, so a malformed id is a 404 whatever the body holds.
macro_rules! uuid_path {
    ($(#[$doc:meta])* $name:ident, $param:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name(pub Uuid);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = AppError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
                path_id(&segment(parts, state, $param).await, $what).map($name)
            }
        }
    };
}

uuid_path!(
    /// The `{user}` of a member route.
    MemberPath, "user", "member"
);
uuid_path!(
    /// The `{id}` of an invitation route.
    InvitationPath, "id", "invitation"
);
uuid_path!(
    /// The `{id}` of a platform-admin user route.
    UserPath, "id", "user"
);
uuid_path!(
    /// The `{id}` of one of the caller's sessions.
    MySessionPath, "id", "session"
);
uuid_path!(
    /// The `{id}` of one of the caller's second factors.
    FactorPath, "id", "factor"
);
uuid_path!(
    /// The `{sid}` of a user's session, on the platform-admin routes.
    SessionPath, "sid", "session"
);
uuid_path!(
    /// The `{org}` of a platform-admin org route, which needs no membership.
    OrgPath, "org", "organization"
);

/// The `{role}` of a role route: an id or a name; anything that can be neither is a 404
/// before the body is read.
#[derive(Clone, Debug)]
pub struct RolePath(pub RoleRef);

impl<S: Send + Sync> FromRequestParts<S> for RolePath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let raw = segment(parts, state, "role").await;
        RoleRef::parse(&raw)
            .map(RolePath)
            .ok_or_else(|| AppError::NotFound("No such role in this organization.".into()))
    }
}

/// Query parameters, with 422 naming the problem when they do not fit `T`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|e| AppError::invalid("query", &without_position(&e.body_text())))
    }
}

/// The client's address and User-Agent, recorded on sessions.
#[derive(Clone, Debug, Default)]
pub struct Client(pub ClientInfo);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect());
        Ok(Client(ClientInfo { user_agent, ip: client_ip(parts) }))
    }
}

/// API Gateway's view of the source address on Lambda, the socket's locally. Forwarded
/// headers are not trusted: any client can write them.
fn client_ip(parts: &Parts) -> Option<IpAddr> {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = parts.extensions.request_context_ref() {
        return ctx.http.source_ip.as_deref().and_then(|ip| ip.parse().ok());
    }
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[allow(dead_code)]
        email: String,
        #[allow(dead_code)]
        tags: Vec<String>,
    }

    fn field_of(raw: &str) -> (u16, String) {
        match parse_json::<Body>(raw.as_bytes()) {
            Err(AppError::Validation(errors)) => (422, errors[0].field.clone()),
            Err(other) => (other.status().as_u16(), String::new()),
            Ok(_) => (200, String::new()),
        }
    }

    #[test]
    fn syntax_errors_are_400_and_misfits_422_with_their_field() {
        assert_eq!(field_of(r#"{"email": "#).0, 400);
        assert_eq!(field_of("").0, 400);
        assert_eq!(field_of(r#"{"email":"a","tags":[]} trailing"#).0, 400);
        assert_eq!(field_of(r#"{"tags": []}"#), (422, "email".into()));
        assert_eq!(field_of(r#"{"email": 5, "tags": []}"#), (422, "email".into()));
        assert_eq!(field_of(r#"{"email": "a", "tags": [1]}"#), (422, "tags[0]".into()));
        assert_eq!(field_of(r#"{"email": "a", "email": "b", "tags": []}"#).0, 422);
        assert_eq!(field_of(r#"{"email": "a", "tags": [], "extra": true}"#).0, 200);
        assert_eq!(field_of("[1,").0, 400);
        assert_eq!(field_of(r#"{"email": 5, "tags": [}"#).0, 400);
        assert_eq!(field_of(r#"["a", []]"#), (422, String::new()));
        assert_eq!(field_of(r#""text""#), (422, String::new()));
    }

    #[test]
    fn json_content_types() {
        let v = |s: &'static str| Some(header::HeaderValue::from_static(s));
        assert!(is_json(v("application/json").as_ref()));
        assert!(is_json(v("Application/JSON; charset=utf-8").as_ref()));
        assert!(is_json(v("application/merge-patch+json").as_ref()));
        assert!(!is_json(v("text/plain").as_ref()));
        assert!(!is_json(v("application/x-www-form-urlencoded").as_ref()));
        assert!(!is_json(None));
    }
}
