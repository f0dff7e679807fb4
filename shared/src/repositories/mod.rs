//! SQL, and nothing else. Every function takes any client or transaction.

/// A CTE text that counts one request of each row of the CTE `$source` (its `id`) in the
/// quota `$quota`'s one-minute window when `$limit` (a parameter) is above 0, returning the
/// count and the window's end as `hit`: the per-minute limits of machines, in the statement
/// that finds them.
macro_rules! minute_hit {
    ($quota:literal, $source:literal, $limit:literal) => {
        concat!(
            "hit AS (
                 INSERT INTO quota_counters AS q (quota, subject)
                 SELECT ",
            $quota,
            ", s.id FROM ",
            $source,
            " s WHERE ",
            $limit,
            " > 0
                 ON CONFLICT (quota, subject) DO UPDATE SET
                   hits = CASE WHEN q.window_start <= now() - interval '1 minute' THEN 1 ELSE q.hits + 1 END,
                   window_start = CASE WHEN q.window_start <= now() - interval '1 minute' THEN now()
                                  ELSE q.window_start END
                 RETURNING hits, window_start + interval '1 minute' AS window_end)"
        )
    };
}

/// A CTE text `$name` that marks the row of `$table` that the CTE `$source` found as used
/// now, if it was last marked over a minute ago; a row another transaction holds is skipped,
/// never waited for.
macro_rules! touch_minutely {
    ($name:literal, $table:literal, $source:literal) => {
        concat!(
            $name,
            " AS (
                 UPDATE ",
            $table,
            " SET last_used_at = now()
                 WHERE id = (SELECT t.id FROM ",
            $table,
            " t JOIN ",
            $source,
            " s ON t.id = s.id
                             WHERE s.last_used_at IS NULL OR s.last_used_at < now() - interval '1 minute'
                             FOR NO KEY UPDATE OF t SKIP LOCKED))"
        )
    };
}

pub mod api_keys;
pub mod audit;
pub mod cached;
pub mod invitations;
pub mod ip_limits;
pub mod lockouts;
pub mod memberships;
pub mod mfa;
pub mod oauth_clients;
pub mod one_time_tokens;
pub mod organizations;
pub mod outbox;
pub mod quotas;
pub mod refresh_tokens;
pub mod revoked_tokens;
pub mod roles;
pub mod sessions;
pub mod users;

pub use deadpool_postgres::GenericClient;

const PING: &str = "SELECT 1";

/// One trivial statement: proves the connection answers.
pub async fn ping(db: &impl GenericClient) -> Result<(), crate::db::DbError> {
    cached::query_one(db, PING, &[]).await?;
    Ok(())
}
