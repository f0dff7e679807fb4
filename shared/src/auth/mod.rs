//! Credentials: access tokens (JWT), password hashing, opaque tokens.

pub mod jwt;
pub mod password;
pub mod tokens;
