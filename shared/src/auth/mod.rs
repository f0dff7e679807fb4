//! Credentials: access tokens (JWT), password hashing, opaque tokens.

pub mod discovery;
pub mod jwk;
pub mod jwt;
pub mod password;
pub mod tokens;
