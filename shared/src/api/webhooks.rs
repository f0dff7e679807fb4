//! Bodies of the webhook endpoint routes, each parsed into what its service takes.

use serde::Deserialize;

use crate::egress::target;
use crate::error::AppResult;
use crate::models::event::is_event_type;
use crate::models::{FieldErrors, fields};
use crate::services::webhooks::{NewWebhook, SecretRotation, WebhookChanges};

/// Longest description, in characters.
const DESCRIPTION_MAX: usize = 500;
/// Most event types one endpoint names.
const TYPES_MAX: usize = 100;
/// Longest overlap a rotation may leave the old secret signing: seven days.
pub const MAX_OVERLAP_SECS: i64 = 7 * 24 * 3600;
/// The overlap when the body names none: a day.
const DEFAULT_OVERLAP_SECS: i64 = 24 * 3600;

/// Body of POST /orgs/{org}/webhooks and POST /webhooks.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateWebhook {
    /// Where events are POSTed: an https URL whose host is a public DNS name (no IP address,
    /// `localhost`, internal name or user info).
    #[schema(example = "https://hooks.example.com/identity", max_length = 2048)]
    pub url: String,
    /// What it is for (up to 500 characters).
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// Event types it receives (e.g. `organization_membership.created`); empty or omitted: every
    /// type, including types added later.
    pub event_types: Option<Vec<String>>,
}

/// Body of PATCH /orgs/{org}/webhooks/{webhook_id} and PATCH /webhooks/{webhook_id}.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateWebhook {
    /// A new receiver URL.
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    /// A new description.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// New event types, replacing the old; empty: every type.
    pub event_types: Option<Vec<String>>,
    /// `false` stops deliveries (pending ones fail); `true` starts them again.
    pub enabled: Option<bool>,
}

/// Body of POST .../webhooks/{webhook_id}/rotate-secret; may be empty.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RotateWebhookSecret {
    /// How long the old secret keeps signing beside the new, in seconds: 0 (at once) to 604800
    /// (seven days); a day when omitted.
    #[schema(minimum = 0, maximum = 604800)]
    pub overlap_seconds: Option<i64>,
}

impl CreateWebhook {
    /// The checked endpoint, or a 422 naming each invalid field.
    pub fn parse(self, allow_local: bool) -> AppResult<NewWebhook> {
        let mut fields = FieldErrors::default();
        let target = fields.check("url", target::parse(&self.url, allow_local));
        let description = fields.check("description", description(self.description.as_deref().unwrap_or("")));
        let event_types = fields.check("event_types", event_types(self.event_types.unwrap_or_default()));
        fields.finish(|| Some(NewWebhook { target: target?, description: description?, event_types: event_types? }))
    }
}

impl UpdateWebhook {
    /// The checked changes, at least one, or a 422.
    pub fn parse(self, allow_local: bool) -> AppResult<WebhookChanges> {
        let mut fields = FieldErrors::default();
        let target = fields.optional("url", self.url.as_deref(), |url| target::parse(url, allow_local));
        let description = fields.optional("description", self.description.as_deref(), description);
        let event_types = fields.optional("event_types", self.event_types.clone(), event_types);
        if self.url.is_none() && self.description.is_none() && self.event_types.is_none() && self.enabled.is_none() {
            fields.push("", "give url, description, event_types or enabled to change");
        }
        fields.finish(|| {
            Some(WebhookChanges {
                target: target?,
                description: description?,
                event_types: event_types?,
                enabled: self.enabled,
            })
        })
    }
}

impl RotateWebhookSecret {
    /// The checked rotation, or a 422.
    pub fn parse(self) -> AppResult<SecretRotation> {
        let mut fields = FieldErrors::default();
        let overlap = self.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_SECS);
        if !(0..=MAX_OVERLAP_SECS).contains(&overlap) {
            fields.push("overlap_seconds", format!("must be 0 to {MAX_OVERLAP_SECS} seconds (seven days)"));
        }
        fields.finish(|| Some(SecretRotation { overlap_secs: overlap }))
    }
}

fn description(raw: &str) -> Result<String, String> {
    fields::free_text(raw.trim(), DESCRIPTION_MAX)
}

/// Known event types, each once, in the order given.
fn event_types(asked: Vec<String>) -> Result<Vec<String>, String> {
    if asked.len() > TYPES_MAX {
        return Err(format!("must name at most {TYPES_MAX} types"));
    }
    let mut kept: Vec<String> = Vec::with_capacity(asked.len());
    for name in asked {
        let name = name.trim().to_owned();
        if !is_event_type(&name) {
            return Err(format!("'{}' is not an event type", name.chars().take(80).collect::<String>()));
        }
        if !kept.contains(&name) {
            kept.push(name);
        }
    }
    Ok(kept)
}
