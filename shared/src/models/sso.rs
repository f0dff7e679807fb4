//! An organization's connection to its own identity provider (OpenID Connect), as its admins
//! see it: never its client secret.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

text_enum! {
    /// Whether a connection signs people in.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum ConnectionStatus {
        /// People at the organization's verified domains sign in through it (one per
        /// organization, and only while it has a verified domain).
        Active = "active",
        /// Configured, tested perhaps, but signing no one in.
        Inactive = "inactive",
    }
}

/// A connection to an organization's OpenID Provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SsoConnection {
    /// UUIDv7.
    pub id: Uuid,
    /// The organization.
    pub org_id: Uuid,
    /// Always `oidc`.
    #[serde(rename = "type")]
    #[schema(example = "oidc")]
    pub kind: String,
    /// What the admins call it.
    #[schema(example = "Okta")]
    pub name: String,
    /// The provider's issuer, exactly as its discovery document states it.
    #[schema(example = "https://acme.okta.com")]
    pub issuer: String,
    /// Our application's client id at the provider.
    pub client_id: String,
    /// Scopes asked for: `openid`, and `email` and `profile` unless changed.
    pub scopes: Vec<String>,
    /// `active` or `inactive`.
    pub status: ConnectionStatus,
    /// Password sign-in is refused for addresses at the organization's verified domains.
    pub sso_required: bool,
    /// The provider makes everyone prove a second factor, so its sign-in satisfies the
    /// organization's `require_mfa`.
    pub idp_enforces_mfa: bool,
    /// From the provider's discovery document: where people sign in.
    pub authorization_endpoint: String,
    /// From the discovery document: where codes are exchanged.
    pub token_endpoint: String,
    /// From the discovery document: the provider's keys.
    pub jwks_uri: String,
    /// The ID token algorithms the provider advertises that are accepted.
    pub id_token_signing_alg_values: Vec<String>,
    /// The member who created it.
    pub created_by: Option<Uuid>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The redirect URI to register at the provider (this service's callback).
    #[schema(example = "https://auth.example.com/pages/sso/callback")]
    pub redirect_uri: String,
    /// The organization's verified domains: the addresses this connection signs in.
    pub domains: Vec<String>,
}

/// An admin's test of a connection: open `url` in a browser to sign in at the provider once;
/// the page that follows says what the provider sent and what a sign-in would do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConnectionTest {
    /// The provider's sign-in, for this one test.
    pub url: String,
    /// When the test's link stops working (ten minutes).
    pub expires_at: DateTime<Utc>,
}

/// What a connection keeps of its provider's discovery document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// Where the browser is sent to sign in.
    pub authorization_endpoint: String,
    /// Where the code is exchanged.
    pub token_endpoint: String,
    /// Where the provider's keys are.
    pub jwks_uri: String,
    /// ID token algorithms it advertises that this service verifies.
    pub id_token_algs: Vec<String>,
    /// Client authentication methods its token endpoint takes (of the two this service uses).
    pub token_auth_methods: Vec<String>,
}

/// What an admin's test of a connection found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestReport {
    /// The connection's name.
    pub connection: String,
    /// The provider's `sub`.
    pub subject: String,
    /// The email it sent.
    pub email: Option<String>,
    /// Its `email_verified`, if sent.
    pub email_verified: Option<bool>,
    /// The name it sent.
    pub name: Option<String>,
    /// Its `amr`, if sent.
    pub amr: Option<Vec<String>>,
    /// What a sign-in with this identity would do, in a sentence.
    pub outcome: String,
    /// Whether it would sign in.
    pub would_sign_in: bool,
}

/// A checked new connection (its issuer not yet discovered).
#[derive(Debug)]
pub struct NewConnection {
    /// Name.
    pub name: String,
    /// Issuer, as given.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: SecretString,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Flag.
    pub sso_required: bool,
    /// Flag.
    pub idp_enforces_mfa: bool,
}

/// Checked changes.
#[derive(Debug, Default)]
pub struct ConnectionChanges {
    /// Name.
    pub name: Option<String>,
    /// Issuer.
    pub issuer: Option<String>,
    /// Client id.
    pub client_id: Option<String>,
    /// Client secret.
    pub client_secret: Option<SecretString>,
    /// Scopes.
    pub scopes: Option<Vec<String>>,
    /// Flag.
    pub sso_required: Option<bool>,
    /// Flag.
    pub idp_enforces_mfa: Option<bool>,
    /// Status.
    pub status: Option<ConnectionStatus>,
}
