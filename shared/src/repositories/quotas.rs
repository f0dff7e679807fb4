//! Counters of the per-subject quotas (the quota_counters table).

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{GenericClient, cached};
use crate::db::DbError;

/// A counter after a hit.
#[derive(postgres_from_row::FromRow)]
struct Hit {
    hits: i32,
    window_end: DateTime<Utc>,
}

const HIT: &str = "INSERT INTO quota_counters AS q (quota, subject) VALUES ($1, $2)
             ON CONFLICT (quota, subject) DO UPDATE SET
               hits = CASE WHEN q.window_start <= now() - make_interval(secs => $3) THEN 1 ELSE q.hits + 1 END,
               window_start = CASE WHEN q.window_start <= now() - make_interval(secs => $3)
                              THEN now() ELSE q.window_start END
             RETURNING hits, window_start + make_interval(secs => $3) AS window_end";

/// Counts one use of `quota` by `subject` in one atomic upsert and returns the count in the
/// current window with the window's end. A window older than `window` starts over at 1.
pub async fn hit(
    db: &impl GenericClient,
    quota: &str,
    subject: Uuid,
    window: Duration,
) -> Result<(i32, DateTime<Utc>), DbError> {
    let hit: Hit = cached::fetch_one(db, HIT, &[&quota, &subject, &window.as_secs_f64()]).await?;
    Ok((hit.hits, hit.window_end))
}

const PRUNE: &str = "DELETE FROM quota_counters WHERE window_start < $1";
const PRUNE_REQUESTS: &str = "DELETE FROM request_counters WHERE window_start < $1";

/// Deletes counters (the quotas' and the machines' per-minute ones) whose window began before
/// `before`; returns how many.
pub async fn prune(db: &impl GenericClient, before: DateTime<Utc>) -> Result<u64, DbError> {
    Ok(cached::execute(db, PRUNE, &[&before]).await? + cached::execute(db, PRUNE_REQUESTS, &[&before]).await?)
}

const ORGS_CREATED_BY: &str = "SELECT count(*) FROM organizations WHERE created_by = $1";

/// Organizations this account created that still exist.
pub async fn orgs_created_by(db: &impl GenericClient, user_id: Uuid) -> Result<i64, DbError> {
    cached::value(db, ORGS_CREATED_BY, &[&user_id]).await
}

const CUSTOM_ROLES_OF: &str = "SELECT count(*) FROM roles WHERE org_id = $1";

/// The organization's own roles.
pub async fn custom_roles_of(db: &impl GenericClient, org_id: Uuid) -> Result<i64, DbError> {
    cached::value(db, CUSTOM_ROLES_OF, &[&org_id]).await
}
