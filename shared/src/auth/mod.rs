//! Credentials: access tokens (JWT), password hashing, opaque tokens, and the second factor
//! (TOTP, its sealed secrets, recovery codes).

pub mod client_assertion;
pub mod discovery;
pub mod jwk;
pub mod jwt;
pub mod machine_secret;
pub mod password;
pub mod pkce;
pub mod recovery;
pub mod sealed;
pub mod tokens;
pub mod totp;
pub mod verified;
