//! OAuth 2.0 for machines: the token endpoint (RFC 6749 §4.4, client credentials), revocation
//! (RFC 7009) and introspection (RFC 7662). A client is an M2M client (a secret, or an
//! assertion signed with a key it registered) or an API key (client_id: the key's id,
//! client_secret: its value); a token carries the client's organization (none for a platform
//! client) and the permissions asked for (all the client's when `scope` is absent).

pub(crate) mod client_auth;
mod errors;
mod grants;
mod introspection;

pub use client_auth::ClientAuth;
pub use errors::{OAuthError, OAuthErrorCode, TokenError};
pub use grants::{TokenAnswer, client_credentials, prune, revoke};
pub use introspection::{Introspection, introspect};
