//! What handlers share: extractors, the common layers and fallbacks of every router.

pub mod extract;
pub mod layers;

pub use crate::state::AppState;
pub use extract::{ApiJson, ApiQuery, Authenticated, Client, MaybeAuthenticated, OrgAccess, PlatformAdmin, path_id};
pub use layers::finish;
