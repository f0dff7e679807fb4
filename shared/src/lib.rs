//! Shared crate of the identity API: models, repositories, services, JWT and HTTP plumbing.

pub mod api;
pub mod auth;
pub mod aws;
pub mod brand;
pub mod config;
pub mod db;
pub mod domains;
pub mod egress;
pub mod equal_time;
pub mod error;
pub mod error_chain;
pub mod http;
pub mod mail;
pub mod models;
pub mod pages;
pub mod repositories;
pub mod secrets;
pub mod services;
pub mod sso;
pub mod state;
pub mod telemetry;
pub mod webhooks;

pub use config::Config;
pub use error::{AppError, AppResult};
pub use state::AppState;
