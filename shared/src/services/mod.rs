//! Business rules and transactions.

pub mod access;
pub mod account;
pub mod audit;
pub mod auth;
pub mod equal_time;
pub mod health;
pub mod invitations;
pub mod ip_limits;
pub mod members;
pub mod orgs;
pub mod outbox;
pub mod page;
pub mod roles;
pub mod users;
pub mod validate;
