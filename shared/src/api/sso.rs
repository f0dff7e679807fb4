//! Bodies of the SSO connection routes, each parsed into what its service takes.

use secrecy::SecretString;
use serde::Deserialize;

use crate::egress::target;
use crate::error::AppResult;
use crate::models::{ConnectionChanges, ConnectionStatus, FieldErrors, NewConnection, fields};

/// Longest name.
const NAME_MAX: usize = 200;
/// Longest client id and secret a provider issues (Entra's secrets are 40 characters).
const CLIENT_ID_MAX: usize = 512;
const CLIENT_SECRET_MAX: usize = 512;
/// Most scopes asked for.
const SCOPES_MAX: usize = 10;
/// What is asked for when scopes are not given.
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "email", "profile"];

/// Body of POST /orgs/{org}/sso/connections.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateConnection {
    /// `oidc`, the only type (the default).
    #[serde(rename = "type")]
    #[schema(example = "oidc")]
    pub kind: Option<String>,
    /// What the admins call it.
    #[schema(example = "Okta", max_length = 200)]
    pub name: Option<String>,
    /// The provider's issuer, exactly as the provider states it (its discovery document is
    /// fetched and must name the same issuer).
    #[schema(example = "https://acme.okta.com")]
    pub issuer: String,
    /// Our application's client id at the provider.
    #[schema(max_length = 512)]
    pub client_id: String,
    /// Our application's client secret at the provider; stored sealed, never shown again.
    #[schema(value_type = String, max_length = 512)]
    pub client_secret: SecretString,
    /// Scopes to ask for: must include `openid`; `openid email profile` when omitted.
    pub scopes: Option<Vec<String>>,
    /// Refuse password sign-in for addresses at the organization's verified domains.
    pub sso_required: Option<bool>,
    /// The provider makes everyone prove a second factor: its sign-in meets `require_mfa`.
    pub idp_enforces_mfa: Option<bool>,
}

/// Body of PATCH /orgs/{org}/sso/connections/{connection_id}: any of the fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateConnection {
    /// A new name.
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// A new issuer (discovered and checked again).
    pub issuer: Option<String>,
    /// A new client id.
    #[schema(max_length = 512)]
    pub client_id: Option<String>,
    /// A new client secret.
    #[schema(value_type = Option<String>, max_length = 512)]
    pub client_secret: Option<SecretString>,
    /// New scopes (with `openid`).
    pub scopes: Option<Vec<String>>,
    /// Refuse password sign-in at the organization's domains.
    pub sso_required: Option<bool>,
    /// The provider's sign-in counts as MFA.
    pub idp_enforces_mfa: Option<bool>,
    /// `active` (needs a verified domain; one per organization) or `inactive`.
    #[schema(example = "active")]
    pub status: Option<String>,
}

impl CreateConnection {
    /// The checked connection, or a 422 naming each invalid field.
    pub fn parse(self, allow_local: bool) -> AppResult<NewConnection> {
        let mut fields = FieldErrors::default();
        if self.kind.as_deref().is_some_and(|k| k != "oidc") {
            fields.push("type", "must be oidc (OpenID Connect)");
        }
        let name = fields.check("name", name(self.name.as_deref().unwrap_or("OpenID Connect")));
        let issuer = fields.check("issuer", issuer(&self.issuer, allow_local));
        let client_id = fields.check("client_id", client_id(&self.client_id));
        let secret = fields.check("client_secret", client_secret(self.client_secret));
        let scopes = fields.check("scopes", scopes(self.scopes));
        fields.finish(|| {
            Some(NewConnection {
                name: name?,
                issuer: issuer?,
                client_id: client_id?,
                client_secret: secret?,
                scopes: scopes?,
                sso_required: self.sso_required.unwrap_or(false),
                idp_enforces_mfa: self.idp_enforces_mfa.unwrap_or(false),
            })
        })
    }
}

impl UpdateConnection {
    /// The checked changes, at least one, or a 422.
    pub fn parse(self, allow_local: bool) -> AppResult<ConnectionChanges> {
        let mut fields = FieldErrors::default();
        let given = self.name.is_some()
            || self.issuer.is_some()
            || self.client_id.is_some()
            || self.client_secret.is_some()
            || self.scopes.is_some()
            || self.sso_required.is_some()
            || self.idp_enforces_mfa.is_some()
            || self.status.is_some();
        if !given {
            fields.push(
                "",
                "give name, issuer, client_id, client_secret, scopes, sso_required, idp_enforces_mfa or status to change",
            );
        }
        let name = fields.optional("name", self.name.as_deref(), name);
        let issuer = fields.optional("issuer", self.issuer.as_deref(), |i| issuer(i, allow_local));
        let client_id = fields.optional("client_id", self.client_id.as_deref(), client_id);
        let secret = fields.optional("client_secret", self.client_secret, client_secret);
        let scopes = fields.optional("scopes", self.scopes, |s| scopes(Some(s)));
        let status = fields.optional("status", self.status.as_deref(), |s| {
            ConnectionStatus::parse(s).ok_or_else(|| "must be active or inactive".to_owned())
        });
        fields.finish(|| {
            Some(ConnectionChanges {
                name: name?,
                issuer: issuer?,
                client_id: client_id?,
                client_secret: secret?,
                scopes: scopes?,
                sso_required: self.sso_required,
                idp_enforces_mfa: self.idp_enforces_mfa,
                status: status?,
            })
        })
    }
}

fn name(raw: &str) -> Result<String, String> {
    let name = fields::free_text(raw.trim(), NAME_MAX)?;
    if name.is_empty() { Err("must not be empty".into()) } else { Ok(name) }
}

/// An issuer URL the outbound rules admit, with no query or fragment (OIDC Discovery §2).
fn issuer(raw: &str, allow_local: bool) -> Result<String, String> {
    let checked = target::parse(raw, allow_local)?;
    if checked.url.query().is_some() {
        return Err("must have no query".into());
    }
    Ok(raw.to_owned())
}

fn client_id(raw: &str) -> Result<String, String> {
    if raw.is_empty() || raw.len() > CLIENT_ID_MAX || raw.chars().any(char::is_control) {
        return Err(format!("must be 1 to {CLIENT_ID_MAX} characters without control characters"));
    }
    Ok(raw.to_owned())
}

fn client_secret(raw: SecretString) -> Result<SecretString, String> {
    use secrecy::ExposeSecret;
    let s = raw.expose_secret();
    if s.is_empty() || s.len() > CLIENT_SECRET_MAX || s.chars().any(char::is_control) {
        return Err(format!("must be 1 to {CLIENT_SECRET_MAX} characters without control characters"));
    }
    Ok(raw)
}

/// The scopes: `openid` among them, each a scope token (RFC 6749 §3.3), each once.
fn scopes(raw: Option<Vec<String>>) -> Result<Vec<String>, String> {
    let Some(asked) = raw else { return Ok(DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()) };
    if asked.len() > SCOPES_MAX {
        return Err(format!("must name at most {SCOPES_MAX} scopes"));
    }
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
    };
    if let Some(bad) = asked.iter().find(|s| !token(s)) {
        return Err(format!("{bad:?} is not a scope"));
    }
    let mut kept: Vec<String> = vec![];
    for s in asked {
        if !kept.contains(&s) {
            kept.push(s);
        }
    }
    if !kept.iter().any(|s| s == "openid") {
        return Err("must include openid".into());
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_need_openid_and_are_tokens() {
        assert_eq!(scopes(None).unwrap(), vec!["openid", "email", "profile"]);
        assert!(scopes(Some(vec!["email".into()])).is_err());
        assert!(scopes(Some(vec!["openid".into(), "a b".into()])).is_err());
        assert_eq!(scopes(Some(vec!["openid".into(), "openid".into()])).unwrap(), vec!["openid"]);
    }

    #[test]
    fn issuers_follow_the_outbound_rules() {
        assert!(issuer("https://acme.okta.com", false).is_ok());
        assert!(issuer("https://login.microsoftonline.com/tenant/v2.0", false).is_ok());
        for bad in ["http://acme.okta.com", "https://10.0.0.1", "https://localhost", "https://idp.example.com/?a=1"] {
            assert!(issuer(bad, false).is_err(), "{bad}");
        }
        assert!(issuer("http://127.0.0.1:9000", true).is_ok());
    }
}
