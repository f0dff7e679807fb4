//! Business rules and transactions.

pub mod access;
pub mod audit;
pub mod auth;
pub mod health;
pub mod members;
pub mod orgs;
pub mod page;
pub mod roles;
pub mod users;
pub mod validate;
