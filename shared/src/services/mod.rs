//! Business rules and transactions.

pub mod auth;
pub mod health;
pub mod validate;
