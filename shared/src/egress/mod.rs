//! Requests this service makes to URLs its customers give it (webhook receivers, identity
//! providers): which URLs may be asked for, the resolver that keeps them off private networks,
//! and the HTTP client (behind the `egress` feature) that dials only what the resolver passed.

#[cfg(feature = "egress")]
pub mod client;
pub mod resolver;
pub mod target;
