//! A signed-in device: one refresh-token chain.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

crate::models::text_enum::text_enum! {
    /// How a session began.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum SessionMethod {
        /// Email and password at POST /auth/login.
        Password = "password",
        /// An account made by accepting an invitation (its password chosen there).
        Invitation = "invitation",
        /// An application's sign-in through the hosted pages (an authorization code).
        AuthorizationCode = "authorization_code",
    }
}

/// A live session as its user (or a platform admin) sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct Session {
    /// UUIDv7; the `sid` claim of its access tokens.
    pub id: Uuid,
    /// How it began.
    pub method: SessionMethod,
    /// Authentication methods it proved (RFC 8176 values: `pwd`, and `otp` after a second factor).
    pub amr: Vec<String>,
    /// The organization its org-scoped tokens speak for, if any.
    pub org_id: Option<Uuid>,
    /// Sign-in time.
    pub created_at: DateTime<Utc>,
    /// Last request or refresh, to the minute (written at most once a minute).
    pub last_used_at: DateTime<Utc>,
    /// The client's User-Agent at sign-in.
    pub user_agent: Option<String>,
    /// The client's address at sign-in.
    #[schema(value_type = Option<String>, example = "203.0.113.7")]
    pub ip: Option<IpAddr>,
    /// True for the session of the token that asked.
    pub is_current: bool,
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
    /// After signing in with a recovery code: how many unused ones are left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes_remaining: Option<i64>,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}
