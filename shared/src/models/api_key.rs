//! An organization's API keys: machine callers on its routes with permissions of their own.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::PermissionSet;

/// An API key as lists and reads show it: never its value, only a hint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct ApiKey {
    /// UUIDv7; also the key's `client_id` at the token endpoint.
    pub id: Uuid,
    /// The organization it acts in.
    pub org_id: Uuid,
    /// What its holder calls it.
    pub name: String,
    /// What it may do there, in catalog order.
    #[schema(example = json!(["members:read", "invitations:create"]))]
    pub permissions: Vec<String>,
    /// The kind and first characters of its value, to tell keys apart: `idn_ak_3xK9…`.
    pub hint: String,
    /// The member who created it (null once their account is gone, or for a key a key made).
    pub created_by: Option<Uuid>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever (a rotated key's overlap ends here).
    pub expires_at: Option<DateTime<Utc>>,
    /// Its last request, to the minute (written at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; it answers 401 from then on.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The key a rotation made in its place.
    pub replaced_by: Option<Uuid>,
}

/// A key just made or rotated: its value, shown this once.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    /// The key.
    #[serde(flatten)]
    pub key: ApiKey,
    /// The value to send as `Authorization: Bearer <value>`; never shown again.
    #[schema(example = "idn_ak_3xK9...")]
    pub value: String,
}

/// The machine behind a presented key or token, as the per-request check finds it: an API key,
/// or an OAuth client whose token is presented.
#[derive(Clone, Debug, postgres_from_row::FromRow)]
pub struct KeyCaller {
    /// The key or client.
    pub id: Uuid,
    /// Its organization (None: a platform client, which acts in none).
    pub org_id: Option<Uuid>,
    /// True for an OAuth client, false for an API key.
    pub is_client: bool,
    /// Its name, for logs and audit metadata.
    pub name: String,
    /// What it may do.
    #[from_row(from = "Vec<String>")]
    pub permissions: PermissionSet,
    /// The stored hash, compared again in constant time (empty when found by a token).
    pub secret_hash: Vec<u8>,
    /// Requests in the key's current one-minute window, this one included (None: not counted).
    pub hits: Option<i32>,
    /// When that window ends.
    pub window_end: Option<chrono::DateTime<Utc>>,
}
