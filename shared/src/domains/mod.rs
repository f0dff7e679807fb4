//! Verified domains: which names an organization may claim, and how a DNS TXT record proves
//! a claim.

#[cfg(feature = "dns")]
pub mod dns;
pub mod name;
pub mod proof;
