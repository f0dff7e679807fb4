//! Extractors: what a handler takes from a request, each refusing with its problem+json before
//! the handler runs. Extractors of the request's parts (paths, the caller) run before the body
//! is read, so a path that names nothing is a 404 whatever the body holds.

mod body;
mod caller;
mod path;

pub use body::{ApiJson, ApiQuery, MAX_BODY_BYTES, OptionalJson, parse_json};
pub use caller::{Authenticated, Client, MaybeAuthenticated, OrgAccess, OrgToken, PlatformAdmin, PlatformBearer};
pub use path::*;
