//! Integration-test support: a fresh database per test, cloned from a migrated template,
//! an app state wired to it, and a client that drives a router without sockets.

pub mod client;
pub mod database;
pub mod proxy;
pub mod ses;

pub use client::{TestApp, TestResponse};
pub use database::TestDatabase;
