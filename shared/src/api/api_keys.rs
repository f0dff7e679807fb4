//! Bodies of the API key routes, each parsed into what its service takes.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::api::orgs::permission_set;
use crate::error::AppResult;
use crate::models::{FieldErrors, fields};
use crate::services::api_keys::{KeyChanges, NewKey, Rotation};

/// Longest key name, in characters.
const NAME_MAX: usize = 100;
/// Longest overlap a rotation may leave the old key: seven days.
pub const MAX_OVERLAP_SECS: i64 = 7 * 24 * 3600;
/// The overlap when the body names none: a day.
const DEFAULT_OVERLAP_SECS: i64 = 24 * 3600;

/// Body of POST /orgs/{org}/api-keys.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateApiKey {
    /// What you call it (1 to 100 characters).
    #[schema(min_length = 1, max_length = 100, example = "billing-sync")]
    pub name: String,
    /// Permission names from GET /permissions; none beyond what you hold.
    pub permissions: Vec<String>,
    /// When it stops working; in the future. Omit for a key that works until revoked.
    pub expires_at: Option<DateTime<Utc>>,
}

impl CreateApiKey {
    /// The checked key, or a 422 naming each invalid field.
    pub fn parse(self) -> AppResult<NewKey> {
        let mut fields = FieldErrors::default();
        let name = fields.check("name", key_name(&self.name));
        let permissions = permission_set(&self.permissions, &mut fields);
        let expires_at = fields.optional("expires_at", self.expires_at, future);
        fields.finish(|| Some(NewKey { name: name?, permissions: permissions?, expires_at: expires_at? }))
    }
}

/// Body of PATCH /orgs/{org}/api-keys/{id}.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateApiKey {
    /// New name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// New permissions, replacing the old; none beyond what you hold.
    pub permissions: Option<Vec<String>>,
}

impl UpdateApiKey {
    /// The checked changes, at least one, or a 422.
    pub fn parse(self) -> AppResult<KeyChanges> {
        let mut fields = FieldErrors::default();
        let name = fields.optional("name", self.name.as_deref(), key_name);
        let permissions = match &self.permissions {
            Some(names) => permission_set(names, &mut fields).map(Some),
            None => Some(None),
        };
        if self.name.is_none() && self.permissions.is_none() {
            fields.push("", "give name or permissions to change");
        }
        fields.finish(|| Some(KeyChanges { name: name?, permissions: permissions? }))
    }
}

/// Body of POST /orgs/{org}/api-keys/{id}/rotate; may be empty.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RotateApiKey {
    /// How long the old key keeps working, in seconds: 0 (at once) to 604800 (seven days);
    /// a day when omitted.
    #[schema(minimum = 0, maximum = 604800)]
    pub overlap_seconds: Option<i64>,
}

impl RotateApiKey {
    /// The checked rotation, or a 422.
    pub fn parse(self) -> AppResult<Rotation> {
        let mut fields = FieldErrors::default();
        let overlap = self.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_SECS);
        if !(0..=MAX_OVERLAP_SECS).contains(&overlap) {
            fields.push("overlap_seconds", format!("must be 0 to {MAX_OVERLAP_SECS} seconds (seven days)"));
        }
        fields.finish(|| Some(Rotation { overlap_secs: overlap }))
    }
}

fn key_name(raw: &str) -> Result<String, String> {
    let name = fields::free_text(raw.trim(), NAME_MAX)?;
    if name.is_empty() { Err("is required".into()) } else { Ok(name) }
}

fn future(at: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if at > Utc::now() { Ok(at) } else { Err("must be in the future".into()) }
}
