//! SQL, and nothing else. Every function takes any client or transaction.

/// CTE texts that count one request of each row of the CTE `$source` (its `id`) toward the
/// quota `$quota` (an expression over `s`) when `$limit` (a parameter) is above 0, ending in
/// `hit`: the machine's requests in the last minute, this one included, and when the oldest
/// of them leaves the window. The count is spread over eight rows of the unlogged
/// `request_counters` (see migration V14), so a busy machine has no hot row.
macro_rules! minute_hit {
    ($quota:literal, $source:literal, $limit:literal) => {
        concat!(
            "counted AS (
                 INSERT INTO request_counters AS q (quota, subject, shard)
                 SELECT ",
            $quota,
            ", s.id, floor(random() * 8)::int2 FROM ",
            $source,
            " s WHERE ",
            $limit,
            " > 0
                 ON CONFLICT (quota, subject, shard) DO UPDATE SET
                   hits = CASE WHEN q.window_start <= now() - interval '1 minute' THEN 1 ELSE q.hits + 1 END,
                   window_start = CASE WHEN q.window_start <= now() - interval '1 minute' THEN now()
                                  ELSE q.window_start END
                 RETURNING q.quota, q.subject, q.shard, q.hits, q.window_start),
             others AS (
                 SELECT o.hits, o.window_start FROM counted c JOIN request_counters o
                   ON o.quota = c.quota AND o.subject = c.subject AND o.shard <> c.shard
                  AND o.window_start > now() - interval '1 minute'),
             hit AS (
                 SELECT (c.hits + COALESCE((SELECT sum(o.hits) FROM others o), 0))::int4 AS hits,
                        LEAST(c.window_start, (SELECT min(o.window_start) FROM others o)) + interval '1 minute'
                          AS window_end
                 FROM counted c)"
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
pub mod domains;
pub mod events;
pub mod invitations;
pub mod ip_limits;
pub mod lockouts;
pub mod memberships;
pub mod mfa;
pub mod oauth_clients;
pub mod one_time_tokens;
pub mod organizations;
pub mod outbox;
pub mod provider;
pub mod quotas;
pub mod reads;
pub mod refresh_tokens;
pub mod revoked_tokens;
pub mod roles;
pub mod sessions;
pub mod sso;
pub mod users;
pub mod webhook_deliveries;
pub mod webhooks;

pub use deadpool_postgres::GenericClient;

const PING: &str = "SELECT 1";

/// One trivial statement: proves the connection answers.
pub async fn ping(db: &impl GenericClient) -> Result<(), crate::db::DbError> {
    cached::query_one(db, PING, &[]).await?;
    Ok(())
}
