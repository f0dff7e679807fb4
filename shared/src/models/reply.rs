//! Answers that carry no resource: what happens next, or how many things a request ended.

use serde::Serialize;

/// An answer that only says what happens next.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Message {
    /// What happens next.
    pub message: &'static str,
}

/// Answer of POST /me/sessions/revoke-others.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionsRevoked {
    /// How many sessions ended; the asking one is never among them.
    pub revoked: usize,
}
