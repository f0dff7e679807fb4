//! SQL, and nothing else. Every function takes any client or transaction.

pub mod lockouts;
pub mod refresh_tokens;
pub mod sessions;
pub mod users;

pub use deadpool_postgres::GenericClient;
