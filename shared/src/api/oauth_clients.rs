//! Bodies of the OAuth client routes, each parsed into what its service takes.

use serde::Deserialize;
use serde_json::Value;

use crate::api::orgs::permission_set;
use crate::auth::client_assertion;
use crate::error::AppResult;
use crate::models::{FieldErrors, fields};
use crate::services::oauth_clients::{AppChanges, AppSettings, AuthMethod, ClientChanges, ClientKind, NewClient};

/// The OpenID scopes an application may be registered with.
pub const OPENID_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

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
    /// `m2m` (the default: client credentials), or an application of the platform's: `web`
    /// (confidential), `spa` or `native` (public, PKCE only).
    #[schema(example = "m2m")]
    pub kind: Option<String>,
    /// A machine's permission names from GET /permissions that it may ask for (its scopes);
    /// for an organization's client, none beyond what you hold. Required for m2m; not for
    /// applications.
    pub permissions: Option<Vec<String>>,
    /// An application's exact redirect URIs (1 to 10): https, http to a loopback host, or for
    /// native apps a reverse-DNS private-use scheme.
    pub redirect_uris: Option<Vec<String>>,
    /// An application's exact post-logout redirect URIs (0 to 10), same rules.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// An application's OpenID scopes: `openid` and any of `profile`, `email`,
    /// `offline_access` (all four by default).
    pub scopes: Option<Vec<String>>,
    /// Whether an application's hosted sign-in offers sign-up (false by default).
    pub allow_sign_up: Option<bool>,
    /// Whether an application gets tokens only for verified email addresses (false by default).
    pub require_verified_email: Option<bool>,
    /// `client_secret_basic` (the default), `client_secret_post` or `private_key_jwt`; `none`
    /// (the default and the only choice) for spa and native applications.
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
    /// An organization's client: a machine only.
    pub fn parse_machine(self) -> AppResult<NewClient> {
        if let Some(kind) = self.kind.as_deref().filter(|k| *k != "m2m") {
            let why = match kind {
                "web" | "spa" | "native" => {
                    "an organization registers machines (m2m); applications are the platform's (POST /oauth2/clients)"
                }
                _ => "must be m2m",
            };
            return Err(crate::error::AppError::Validation(vec![crate::error::FieldError::new("kind", why)]));
        }
        self.parse()
    }

    /// The checked client, or a 422 naming each invalid field.
    pub fn parse(self) -> AppResult<NewClient> {
        let mut fields = FieldErrors::default();
        let name = fields.check("name", client_name(&self.name));
        let kind = fields.check("kind", ClientKind::parse(self.kind.as_deref().unwrap_or("m2m")));
        let is_app = kind.is_some_and(ClientKind::is_app);
        let permissions = match (&self.permissions, kind) {
            (Some(names), Some(ClientKind::M2m)) => permission_set(names, &mut fields),
            (None, Some(ClientKind::M2m)) => {
                fields.push("permissions", "is required for an m2m client");
                None
            }
            (Some(names), Some(_)) if !names.is_empty() => {
                fields.push("permissions", "is for machines: an application asks for scopes");
                None
            }
            _ => Some(crate::models::PermissionSet::default()),
        };
        let app = match kind {
            Some(kind) if is_app => app_settings(kind, &self, &mut fields),
            Some(_) => {
                let app_fields = [
                    ("redirect_uris", self.redirect_uris.is_some()),
                    ("post_logout_redirect_uris", self.post_logout_redirect_uris.is_some()),
                    ("scopes", self.scopes.is_some()),
                    ("allow_sign_up", self.allow_sign_up.is_some()),
                    ("require_verified_email", self.require_verified_email.is_some()),
                ];
                for (field, given) in app_fields {
                    if given {
                        fields.push(field, "is for applications (web, spa, native), not m2m clients");
                    }
                }
                Some(AppSettings::default())
            }
            None => None,
        };
        let default_method = if kind.is_some_and(ClientKind::is_public) { "none" } else { "client_secret_basic" };
        let method = fields.check(
            "token_endpoint_auth_method",
            AuthMethod::parse(self.token_endpoint_auth_method.as_deref().unwrap_or(default_method)),
        );
        match (kind, method) {
            (Some(k), Some(m)) if k.is_public() != (m == AuthMethod::None) => {
                let why = if k.is_public() { "must be none for a public application" } else { "cannot be none" };
                fields.push("token_endpoint_auth_method", why);
            }
            _ => {}
        }
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
                kind: kind?,
                app: app?,
            })
        })
    }
}

/// An application's settings from the create body, defaults filled in.
fn app_settings(kind: ClientKind, req: &CreateClient, fields: &mut FieldErrors) -> Option<AppSettings> {
    let redirect_uris = fields.check(
        "redirect_uris",
        crate::models::redirect_uris::check(kind, req.redirect_uris.as_deref().unwrap_or_default(), true),
    );
    let post_logout = fields.check(
        "post_logout_redirect_uris",
        crate::models::redirect_uris::check(kind, req.post_logout_redirect_uris.as_deref().unwrap_or_default(), false),
    );
    let default: Vec<String> = OPENID_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    let scopes = fields.check("scopes", openid_scopes(req.scopes.as_ref().unwrap_or(&default)));
    Some(AppSettings {
        redirect_uris: redirect_uris?,
        post_logout_redirect_uris: post_logout?,
        scopes: scopes?,
        allow_sign_up: req.allow_sign_up.unwrap_or(false),
        require_verified_email: req.require_verified_email.unwrap_or(false),
    })
}

/// An application's scopes: `openid` and any of the others, in a fixed order.
fn openid_scopes(names: &[String]) -> Result<Vec<String>, String> {
    if let Some(unknown) = names.iter().find(|n| !OPENID_SCOPES.contains(&n.as_str())) {
        return Err(format!("{unknown:?} is not one of {}", OPENID_SCOPES.join(", ")));
    }
    if !names.iter().any(|n| n == "openid") {
        return Err("must include openid".into());
    }
    Ok(OPENID_SCOPES.iter().filter(|s| names.iter().any(|n| n == *s)).map(|s| (*s).to_owned()).collect())
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
    /// An application's new redirect URIs, replacing the old.
    pub redirect_uris: Option<Vec<String>>,
    /// An application's new post-logout redirect URIs, replacing the old.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// An application's new scopes, replacing the old.
    pub scopes: Option<Vec<String>>,
    /// Sign-up on the hosted sign-in, or not.
    pub allow_sign_up: Option<bool>,
    /// Tokens only for verified email addresses, or not.
    pub require_verified_email: Option<bool>,
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
        // The kind is not known here; a URI's rules are the loosest kind's (native) and the
        // service refuses what does not fit the client's kind.
        let uris = |list: &Option<Vec<String>>, field: &str, required: bool, fields: &mut FieldErrors| match list {
            Some(list) => {
                fields.check(field, crate::models::redirect_uris::check(ClientKind::Native, list, required)).map(Some)
            }
            None => Some(None),
        };
        let redirect_uris = uris(&self.redirect_uris, "redirect_uris", true, &mut fields);
        let post_logout = uris(&self.post_logout_redirect_uris, "post_logout_redirect_uris", false, &mut fields);
        let scopes = fields.optional("scopes", self.scopes.as_deref(), openid_scopes);
        let app = AppChanges {
            redirect_uris: redirect_uris.flatten(),
            post_logout_redirect_uris: post_logout.flatten(),
            scopes: scopes.flatten(),
            allow_sign_up: self.allow_sign_up,
            require_verified_email: self.require_verified_email,
        };
        if self.name.is_none()
            && self.permissions.is_none()
            && self.access_token_ttl_seconds.is_none()
            && self.jwks.is_none()
            && app.is_empty()
        {
            fields.push("", "give a field to change: name, permissions, access_token_ttl_seconds, jwks, or an application's settings");
        }
        fields.finish(|| {
            Some(ClientChanges { name: name?, permissions: permissions?, token_ttl_secs: ttl?, jwks: jwks?, app })
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
