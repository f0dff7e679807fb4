//! Path segments: ids that must be UUIDs and role references, checked before any body is
//! read, so a path that names nothing is a 404 whatever the body holds.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use uuid::Uuid;

use crate::error::AppError;
use crate::services::roles::RoleRef;
use crate::state::AppState;

/// The `{org}` path segment as an id, if it is one.
pub(super) async fn org_segment(parts: &mut Parts, state: &AppState) -> Option<Uuid> {
    Uuid::parse_str(&segment(parts, state, "org").await).ok()
}

/// Parses a path id; anything that is not a UUID names nothing, so it is a 404.
pub fn path_id(raw: &str, what: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound(format!("No such {what}.")))
}

/// The raw value of the `{name}` path segment (empty when the route has none).
async fn segment<S: Send + Sync>(parts: &mut Parts, state: &S, name: &str) -> String {
    let params = RawPathParams::from_request_parts(parts, state).await.ok();
    params.and_then(|p| p.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_owned())).unwrap_or_default()
}

/// Declares an extractor for a path segment that must be a UUID. Extractors of the request's
/// parts run before its body is read, so a malformed id is a 404 whatever the body holds.
macro_rules! uuid_path {
    ($(#[$doc:meta])* $name:ident, $param:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name(pub Uuid);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = AppError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
                path_id(&segment(parts, state, $param).await, $what).map($name)
            }
        }
    };
}

uuid_path!(
    /// The `{user}` of a member route.
    MemberPath, "user", "member"
);
uuid_path!(
    /// The `{id}` of an invitation route.
    InvitationPath, "id", "invitation"
);
uuid_path!(
    /// The `{id}` of a platform-admin user route.
    UserPath, "id", "user"
);
uuid_path!(
    /// The `{id}` of one of the caller's sessions.
    MySessionPath, "id", "session"
);
uuid_path!(
    /// The `{id}` of one of the caller's second factors.
    FactorPath, "id", "factor"
);
uuid_path!(
    /// The `{sid}` of a user's session, on the platform-admin routes.
    SessionPath, "sid", "session"
);
uuid_path!(
    /// The `{id}` of an API key route.
    ApiKeyPath, "id", "API key"
);
uuid_path!(
    /// The `{client_id}` of an OAuth client route.
    ClientPath, "client_id", "client"
);
uuid_path!(
    /// The `{secret_id}` of one of an OAuth client's secrets.
    ClientSecretPath, "secret_id", "secret of this client"
);
uuid_path!(
    /// The `{webhook_id}` of a webhook endpoint route.
    WebhookPath, "webhook_id", "webhook endpoint"
);
uuid_path!(
    /// The `{domain_id}` of one of an organization's domains.
    DomainPath, "domain_id", "domain"
);
uuid_path!(
    /// The `{connection_id}` of one of an organization's SSO connections.
    ConnectionPath, "connection_id", "SSO connection"
);
uuid_path!(
    /// The `{delivery_id}` of one of a webhook endpoint's deliveries.
    DeliveryPath, "delivery_id", "delivery"
);
uuid_path!(
    /// The `{org}` of a platform-admin org route, which needs no membership.
    OrgPath, "org", "organization"
);

/// The `{role}` of a role route: an id or a name; anything that can be neither is a 404
/// before the body is read.
#[derive(Clone, Debug)]
pub struct RolePath(pub RoleRef);

impl<S: Send + Sync> FromRequestParts<S> for RolePath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let raw = segment(parts, state, "role").await;
        RoleRef::parse(&raw)
            .map(RolePath)
            .ok_or_else(|| AppError::NotFound("No such role in this organization.".into()))
    }
}
