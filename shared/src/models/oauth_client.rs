//! OAuth clients: machines (and, later, applications) that get tokens at the token endpoint.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One of a client's secrets, as reads show it: never its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClientSecret {
    /// Its id, to remove it by.
    pub id: Uuid,
    /// The kind and first characters of its value: `idn_cs_7Hq2…`.
    pub hint: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// An OAuth client as reads show it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct OAuthClient {
    /// The `client_id` (a UUIDv7).
    pub client_id: Uuid,
    /// `m2m` (client credentials), or an application: `web` (confidential), `spa` or `native`
    /// (public: PKCE only).
    pub kind: String,
    /// The organization whose tokens it gets (null: a platform client, for the product's own
    /// back end).
    pub org_id: Option<Uuid>,
    /// What its owner calls it.
    pub name: String,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt`, or `none` for a public
    /// application.
    pub token_endpoint_auth_method: String,
    /// The public keys a `private_key_jwt` client signs its assertions with (a JWK Set).
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// The permissions (scopes) it may ask for, in catalog order.
    #[schema(example = json!(["members:read"]))]
    pub permissions: Vec<String>,
    /// Its access tokens' lifetime, in seconds.
    pub access_token_ttl_seconds: i32,
    /// `client_credentials` for a machine; `authorization_code` (and `refresh_token` with
    /// `offline_access`) for an application.
    pub grant_types: Vec<String>,
    /// An application's exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// An application's exact post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// The OpenID scopes an application may ask for.
    pub scopes: Vec<String>,
    /// Whether an application's hosted sign-in offers sign-up.
    pub allow_sign_up: bool,
    /// Whether an application gets tokens only for verified email addresses.
    pub require_verified_email: bool,
    /// Its live secrets (at most two; none for `private_key_jwt`).
    #[from_row(from = "tokio_postgres::types::Json<Vec<ClientSecret>>")]
    pub secrets: JsonSecrets,
    /// The member or admin who registered it (null once their account is gone, or when a
    /// machine did).
    pub created_by: Option<Uuid>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When its registration last changed.
    pub updated_at: DateTime<Utc>,
    /// Its last token or request, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The secrets column, read from the JSON the query builds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct JsonSecrets(pub Vec<ClientSecret>);

impl From<tokio_postgres::types::Json<Vec<ClientSecret>>> for JsonSecrets {
    fn from(json: tokio_postgres::types::Json<Vec<ClientSecret>>) -> Self {
        JsonSecrets(json.0)
    }
}

/// A client just registered: its first secret's value, shown this once.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedClient {
    /// The client.
    #[serde(flatten)]
    pub client: OAuthClient,
    /// The `client_secret`; never shown again (absent for `private_key_jwt`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "idn_cs_7Hq2...")]
    pub client_secret: Option<String>,
}

/// A secret just added: its value, shown this once.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedSecret {
    /// The secret.
    #[serde(flatten)]
    pub secret: ClientSecret,
    /// The `client_secret`; never shown again.
    #[schema(example = "idn_cs_7Hq2...")]
    pub client_secret: String,
}

/// A client (an OAuth client or an API key) as the token endpoint finds it.
#[derive(Clone, Debug, postgres_from_row::FromRow)]
pub struct Grantee {
    /// Its `client_id`.
    pub id: Uuid,
    /// Its organization (None: a platform client).
    pub org_id: Option<Uuid>,
    /// True for an OAuth client, false for an API key.
    pub is_client: bool,
    /// Its name, for logs.
    pub name: String,
    /// What it may ask for.
    #[from_row(from = "Vec<String>")]
    pub permissions: super::PermissionSet,
    /// A client's registered authentication method (None for a key).
    pub auth_method: Option<String>,
    /// A client's token lifetime in seconds (None for a key: the default).
    pub ttl_secs: Option<i32>,
    /// The hash the lookup matched, compared again in constant time (empty for an assertion).
    pub secret_hash: Vec<u8>,
    /// A `private_key_jwt` client's public keys.
    pub jwks: Option<serde_json::Value>,
    /// Token requests in its current minute, this one included (None: not counted).
    pub hits: Option<i32>,
    /// When that minute ends.
    pub window_end: Option<DateTime<Utc>>,
}

/// What a client is: a machine, or one of the three kinds of application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// Client credentials.
    M2m,
    /// A server-side web application: confidential.
    Web,
    /// A single-page application: public.
    Spa,
    /// A native or mobile application: public.
    Native,
}

impl ClientKind {
    /// From its name.
    pub fn parse(name: &str) -> Result<ClientKind, String> {
        match name {
            "m2m" => Ok(ClientKind::M2m),
            "web" => Ok(ClientKind::Web),
            "spa" => Ok(ClientKind::Spa),
            "native" => Ok(ClientKind::Native),
            _ => Err("must be m2m, web, spa or native".into()),
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::M2m => "m2m",
            ClientKind::Web => "web",
            ClientKind::Spa => "spa",
            ClientKind::Native => "native",
        }
    }

    /// True for an application (a user signs in through it).
    pub fn is_app(self) -> bool {
        self != ClientKind::M2m
    }

    /// True for an application that can keep no secret.
    pub fn is_public(self) -> bool {
        matches!(self, ClientKind::Spa | ClientKind::Native)
    }
}
