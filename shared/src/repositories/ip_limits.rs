//! Request counters per client address and action (the ip_limits table).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{GenericClient, cached};
use crate::db::DbError;

/// A counter after a hit.
#[derive(postgres_from_row::FromRow)]
struct Hit {
    hits: i32,
    window_end: DateTime<Utc>,
}

const HIT: &str = "INSERT INTO ip_limits AS l (action, client) VALUES ($1, $2)
             ON CONFLICT (action, client) DO UPDATE SET
               hits = CASE WHEN l.window_start <= now() - make_interval(secs => $3) THEN 1 ELSE l.hits + 1 END,
               window_start = CASE WHEN l.window_start <= now() - make_interval(secs => $3)
                              THEN now() ELSE l.window_start END
             RETURNING hits, window_start + make_interval(secs => $3) AS window_end";

/// Counts one request by `client` for `action` in one atomic upsert and returns the count in
/// the current window with the window's end. A window older than `window` starts over at 1.
pub async fn hit(
    db: &impl GenericClient,
    action: &str,
    client: &str,
    window: Duration,
) -> Result<(i32, DateTime<Utc>), DbError> {
    let hit: Hit = cached::fetch_one(db, HIT, &[&action, &client, &window.as_secs_f64()]).await?;
    Ok((hit.hits, hit.window_end))
}

const PRUNE: &str = "DELETE FROM ip_limits WHERE window_start < $1";

/// Deletes counters whose window ended before `before`; returns how many.
pub async fn prune(db: &impl GenericClient, before: DateTime<Utc>) -> Result<u64, DbError> {
    cached::execute(db, PRUNE, &[&before]).await
}
