//! Plain data types, free of SQL and HTTP.

pub mod session;
pub mod user;

pub use session::{ClientInfo, Session};
pub use user::{User, UserCredentials, UserStatus};
