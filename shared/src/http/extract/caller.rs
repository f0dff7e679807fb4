//! Who is asking: the bearer's caller, a platform admin, an organization's member, and the
//! client's address and User-Agent.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;

use super::path::org_segment;
use crate::error::AppError;
use crate::models::ClientInfo;
use crate::services::access::{self, Caller, OrgActor, OrgRequest};
use crate::state::AppState;

/// Longest bearer token looked at; anything longer is refused unread.
const MAX_BEARER_BYTES: usize = 8 * 1024;

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

/// The bearer of a platform route that platform clients may read too, unchecked: the handler
/// checks it with the permission the route needs (`access::authorize_platform`).
#[derive(Clone, Debug)]
pub struct PlatformBearer(pub String);

impl FromRequestParts<AppState> for PlatformBearer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, AppError> {
        bearer(parts).map(|token| PlatformBearer(token.to_owned()))
    }
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
