//! A signed-in device: one refresh-token chain.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A session as listed to its user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Session {
    /// UUIDv7; the `sid` claim of its access tokens.
    pub id: Uuid,
    /// Whose session.
    pub user_id: Uuid,
    /// Active organization, for org-scoped tokens.
    pub org_id: Option<Uuid>,
    /// Sign-in time.
    pub created_at: DateTime<Utc>,
    /// Last refresh.
    pub last_used_at: DateTime<Utc>,
    /// When it ended, if it did.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Client's User-Agent at sign-in.
    pub user_agent: Option<String>,
    /// Client's address at sign-in.
    pub ip: Option<IpAddr>,
}

/// Where a request came from, recorded on sessions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// User-Agent header, truncated.
    pub user_agent: Option<String>,
    /// Source address as API Gateway or the socket saw it.
    pub ip: Option<IpAddr>,
}

/// Answer of login and refresh.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// Signed JWT.
    pub access_token: String,
    /// Always "Bearer".
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque, single-use refresh token.
    pub refresh_token: String,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}
