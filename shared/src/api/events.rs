//! The events feed's query, parsed into what its service takes.

use serde::Deserialize;

use crate::error::AppResult;
use crate::models::FieldErrors;
use crate::models::event::is_event_type;
use crate::services::events::FeedQuery;

/// Most events a page holds, and how many when `limit` is not given.
const MAX_LIMIT: i64 = 100;
const DEFAULT_LIMIT: i64 = 50;

/// Query of GET /orgs/{org}/events and GET /events, as received.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// The id of the last event you have (the previous page's `after`); from the oldest when
    /// absent.
    pub after: Option<String>,
    /// Event types, comma-separated (e.g. `organization_membership.created,role.updated`); all
    /// when absent.
    pub types: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

impl EventParams {
    /// The checked query, or a 422 naming each invalid parameter.
    pub fn parse(self) -> AppResult<FeedQuery> {
        let mut fields = FieldErrors::default();
        let limit = match self.limit.as_deref().map(str::parse::<i64>) {
            None => Some(DEFAULT_LIMIT),
            Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => Some(n),
            Some(_) => {
                fields.push("limit", format!("must be a whole number from 1 to {MAX_LIMIT}"));
                None
            }
        };
        let after = match self.after {
            Some(id) if !id.starts_with("evt_") || id.len() > 64 => {
                fields.push("after", "must be an event id (evt_...)");
                None
            }
            other => Some(other),
        };
        let types = match self.types.as_deref() {
            None => Some(None),
            Some(raw) => {
                let asked: Vec<String> =
                    raw.split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
                match asked.iter().find(|t| !is_event_type(t)) {
                    Some(unknown) => {
                        fields.push("types", format!("'{unknown}' is not an event type"));
                        None
                    }
                    None if asked.is_empty() => {
                        fields.push("types", "name at least one event type, or leave it out");
                        None
                    }
                    None => Some(Some(asked)),
                }
            }
        };
        fields.finish(|| Some(FeedQuery { after: after?, types: types?, limit: limit? }))
    }
}
