//! Webhooks on the wire: signing secrets and signatures (Standard Webhooks), which URLs may be
//! targets, the resolver that keeps sends off private networks, the HTTP client that sends
//! (behind the `sender` feature) and the hand-off that wakes it.

#[cfg(feature = "sender")]
pub mod client;
pub mod handoff;
pub mod resolver;
pub mod signature;
pub mod target;
