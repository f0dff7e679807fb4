//! The events feed: an organization's (for those holding `events:read`) or the platform's
//! (for platform admins), oldest first, never skipping an event whose transaction commits late.

use crate::db;
use crate::error::{AppError, AppResult};
use crate::models::EventPage;
use crate::repositories::{GenericClient, events};
use crate::services::access::OrgRead;
use crate::state::AppState;

/// A checked feed query.
#[derive(Debug)]
pub struct FeedQuery {
    /// The last event the reader has.
    pub after: Option<String>,
    /// Only these types.
    pub types: Option<Vec<String>>,
    /// Page size.
    pub limit: i64,
}

/// Whose feed: an organization's, its caller resolved with the read, or the platform's.
#[derive(Clone, Copy, Debug)]
pub enum Feed<'a> {
    /// One organization's events.
    Org(&'a OrgRead),
    /// Every event.
    Platform,
}

fn unknown_after() -> AppError {
    AppError::invalid("after", "is not an event of this feed (events are kept 30 days)")
}

/// A page of the feed after `query.after`.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn page(state: &AppState, feed: Feed<'_>, query: &FeedQuery) -> AppResult<EventPage> {
    let client = db::client(state.pool()).await?;
    let org = match feed {
        Feed::Org(access) => Some(access.org_id()),
        Feed::Platform => None,
    };
    let types = query.types.as_deref();
    let position = match (&query.after, feed) {
        (None, _) => None,
        (Some(after), Feed::Org(access)) => {
            Some(access.with(events::position(&client, org, after)).await?.ok_or_else(unknown_after)?)
        }
        (Some(after), Feed::Platform) => Some(events::position(&client, org, after).await?.ok_or_else(unknown_after)?),
    };
    let items = match (feed, &position) {
        (Feed::Org(access), None) => access.with(events::page(&client, org, None, types, query.limit)).await?,
        (_, position) => events::page(&client, org, position.as_ref(), types, query.limit).await?,
    };
    let after = items.last().map(|e| e.id.clone()).or_else(|| query.after.clone());
    Ok(EventPage { items, after })
}

/// Forgets events older than 30 days (the mailer's schedule runs this); how many.
pub async fn prune(db: &impl GenericClient) -> Result<u64, crate::db::DbError> {
    events::prune(db).await
}
