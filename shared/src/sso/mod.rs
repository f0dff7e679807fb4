//! The relying-party side of OpenID Connect, for organizations' own identity providers: their
//! discovery documents, keys and token endpoints fetched under the outbound rules
//! ([`crate::egress`]), and their ID tokens verified. Nothing here touches the database.

pub mod id_token;
#[cfg(feature = "egress")]
pub mod metadata;
#[cfg(feature = "egress")]
pub mod provider_calls;
