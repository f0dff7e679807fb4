//! Per-IP limits on the unauthenticated routes that cost a password hash or send a mail.

use std::net::IpAddr;

use crate::config::IpLimits;
use crate::db::{self, DbError};
use crate::error::{AppError, AppResult};
use crate::repositories::{GenericClient, ip_limits};
use crate::state::AppState;

/// A route (or family of routes) guarded by a per-IP limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guarded {
    /// POST /auth/login.
    Login,
    /// POST /auth/register.
    Register,
    /// POST /auth/password/forgot.
    Forgot,
    /// POST /auth/password/reset.
    Reset,
    /// POST /auth/verify-email and /auth/verify-email/resend.
    Verify,
    /// POST /invitations/preview, /accept and /decline.
    Invitation,
}

impl Guarded {
    fn action(self) -> &'static str {
        match self {
            Guarded::Login => "login",
            Guarded::Register => "register",
            Guarded::Forgot => "forgot",
            Guarded::Reset => "reset",
            Guarded::Verify => "verify",
            Guarded::Invitation => "invitation",
        }
    }

    fn limit(self, limits: &IpLimits) -> u32 {
        match self {
            Guarded::Login => limits.login,
            Guarded::Register => limits.register,
            Guarded::Forgot => limits.forgot,
            Guarded::Reset => limits.reset,
            Guarded::Verify => limits.verify,
            Guarded::Invitation => limits.invitation,
        }
    }
}

/// The key an address counts under: an IPv4 address (also when mapped into IPv6) or the IPv6
/// /64 around it, since one subscriber usually holds a whole /64.
pub fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Counts this request against its address's limit; 429 with Retry-After once over it. A
/// request with no known address (only in-process callers) is not limited. Checks out its
/// own connection and returns it, so call it before taking one.
pub async fn check(state: &AppState, guarded: Guarded, ip: Option<IpAddr>) -> AppResult<()> {
    let limits = &state.config().ip_limits;
    let limit = guarded.limit(limits);
    let Some(ip) = ip.filter(|_| limit > 0) else { return Ok(()) };
    let client = db::client(state.pool()).await?;
    let (hits, until) = ip_limits::hit(&client, guarded.action(), &client_key(ip), limits.window).await?;
    if u32::try_from(hits).unwrap_or(u32::MAX) <= limit {
        return Ok(());
    }
    Err(AppError::TooManyRequests {
        detail: "Too many requests from this network address; try again later.".into(),
        retry_after: (until - chrono::Utc::now()).to_std().unwrap_or_default(),
    })
}

/// Forgets counters whose window ended over a day ago; returns how many.
pub async fn prune(db: &impl GenericClient) -> Result<u64, DbError> {
    ip_limits::prune(db, chrono::Utc::now() - chrono::Duration::days(1)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let key = |s: &str| client_key(s.parse().unwrap());
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
        assert_eq!(key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:bbbb::7"), key("2001:db8:1:2::99"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }
}
