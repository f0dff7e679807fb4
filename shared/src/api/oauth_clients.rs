//! Bodies of the OAuth client routes, each parsed into what its service takes.

use serde::Deserialize;
use serde_json::Value;

use crate::api::orgs::permission_set;
use crate::auth::client_assertion;
use crate::error::AppResult;
use crate::models::{FieldErrors, fields};
use crate::services::oauth_clients::{AuthMethod, ClientChanges, NewClient};

/// Longest client name, in characters.
const NAME_MAX: usize = 100;
/// Shortest and longest token lifetimes a client may register, in seconds.
const TTL_RANGE: std::ops::RangeInclusive<i64> = 60..=86_400;

/// Body of POST /orgs/{org}/clients and POST /oauth2/clients.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateClient {
    /// What you call it (1 to 100 characters).
    #[schema(min_length = 1, max_length = 100, example = "billing-backend")]
    pub name: String,
    /// `m2m`, the only kind today (the default); `web`, `spa` and `native` are reserved.
    #[schema(example = "m2m")]
    pub kind: Option<String>,
    /// Permission names from GET /permissions that it may ask for (its scopes); for an
    /// organization's client, none beyond what you hold.
    pub permissions: Vec<String>,
    /// `client_secret_basic` (the default), `client_secret_post` or `private_key_jwt`.
    #[schema(example = "client_secret_basic")]
    pub token_endpoint_auth_method: Option<String>,
    /// For `private_key_jwt`: a JWK Set of 1 to 5 public keys (RSA 2048+, EC P-256 or P-384,
    /// Ed25519) its assertions are signed with.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Value>,
    /// Its access tokens' lifetime in seconds, 60 to 86400; the server's access-token lifetime
    /// when omitted.
    #[schema(minimum = 60, maximum = 86400)]
    pub access_token_ttl_seconds: Option<i64>,
}

impl CreateClient {
    /// The checked client, or a 422 naming each invalid field.
    pub fn parse(self) -> AppResult<NewClient> {
        let mut fields = FieldErrors::default();
        let name = fields.check("name", client_name(&self.name));
        if let Some(kind) = self.kind.as_deref().filter(|k| *k != "m2m") {
            let why = match kind {
                "web" | "spa" | "native" => "is not available yet: only m2m clients can be registered today",
                _ => "must be m2m",
            };
            fields.push("kind", why);
        }
        let permissions = permission_set(&self.permissions, &mut fields);
        let method = fields.check(
            "token_endpoint_auth_method",
            AuthMethod::parse(self.token_endpoint_auth_method.as_deref().unwrap_or("client_secret_basic")),
        );
        let jwks = match (method, self.jwks) {
            (Some(AuthMethod::PrivateKeyJwt), Some(jwks)) => {
                fields.check("jwks", client_assertion::check_jwks(&jwks)).map(Some)
            }
            (Some(AuthMethod::PrivateKeyJwt), None) => {
                fields.push("jwks", "is required for private_key_jwt");
                None
            }
            (_, Some(_)) => {
                fields.push("jwks", "is only for private_key_jwt clients");
                None
            }
            (_, None) => Some(None),
        };
        let ttl = fields.optional("access_token_ttl_seconds", self.access_token_ttl_seconds, ttl);
        fields.finish(|| {
            Some(NewClient {
                name: name?,
                permissions: permissions?,
                auth_method: method?,
                jwks: jwks?,
                token_ttl_secs: ttl?,
            })
        })
    }
}

/// Body of PATCH /orgs/{org}/clients/{client_id} and PATCH /oauth2/clients/{client_id}.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateClient {
    /// New name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// New permissions, replacing the old; tokens already issued keep only those still held.
    pub permissions: Option<Vec<String>>,
    /// New token lifetime in seconds, 60 to 86400 (tokens already issued keep theirs).
    #[schema(minimum = 60, maximum = 86400)]
    pub access_token_ttl_seconds: Option<i64>,
    /// New public keys, replacing the old (`private_key_jwt` clients only).
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Value>,
}

impl UpdateClient {
    /// The checked changes, at least one, or a 422.
    pub fn parse(self) -> AppResult<ClientChanges> {
        let mut fields = FieldErrors::default();
        let name = fields.optional("name", self.name.as_deref(), client_name);
        let permissions = match &self.permissions {
            Some(names) => permission_set(names, &mut fields).map(Some),
            None => Some(None),
        };
        let ttl = fields.optional("access_token_ttl_seconds", self.access_token_ttl_seconds, ttl);
        let jwks = fields.optional("jwks", self.jwks.as_ref(), client_assertion::check_jwks);
        if self.name.is_none()
            && self.permissions.is_none()
            && self.access_token_ttl_seconds.is_none()
            && self.jwks.is_none()
        {
            fields.push("", "give name, permissions, access_token_ttl_seconds or jwks to change");
        }
        fields.finish(|| {
            Some(ClientChanges { name: name?, permissions: permissions?, token_ttl_secs: ttl?, jwks: jwks? })
        })
    }
}

fn client_name(raw: &str) -> Result<String, String> {
    let name = fields::free_text(raw.trim(), NAME_MAX)?;
    if name.is_empty() { Err("is required".into()) } else { Ok(name) }
}

fn ttl(secs: i64) -> Result<i32, String> {
    if TTL_RANGE.contains(&secs) {
        Ok(secs as i32)
    } else {
        Err(format!("must be {} to {} seconds", TTL_RANGE.start(), TTL_RANGE.end()))
    }
}
