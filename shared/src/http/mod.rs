//! What handlers share: extractors, the common layers and fallbacks of every router.

pub mod answers;
pub mod extract;
pub mod lambda;
pub mod layers;
pub mod oauth;

pub use crate::state::AppState;
pub use answers::shown_once;
pub use extract::{
    ApiJson, ApiKeyPath, ApiQuery, Authenticated, Client, ClientPath, ClientSecretPath, ConnectionPath, DeliveryPath,
    DomainPath, FactorPath, InvitationPath, MaybeAuthenticated, MemberPath, MySessionPath, OptionalJson, OrgAccess,
    OrgPath, OrgToken, PlatformAdmin, PlatformBearer, RolePath, SessionPath, UserPath, WebhookPath, path_id,
};
pub use layers::{finish, with_state};
