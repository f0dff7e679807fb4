//! Webhooks on the wire: signing secrets and signatures (Standard Webhooks), the HTTP client
//! that sends (behind the `sender` feature, over [`crate::egress`]) and the hand-off that
//! wakes it.

#[cfg(feature = "sender")]
pub mod client;
pub mod handoff;
pub mod signature;
