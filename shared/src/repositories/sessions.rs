//! The sessions table.

use std::time::Duration;

use const_format::concatcp;
use uuid::Uuid;

use super::{GenericClient, cached, users};
use crate::db::DbError;
use crate::models::{ClientInfo, Session, SessionMethod, User, UserStatus};

/// Whether the session `s` was last marked used over a minute ago: the per-request checks
/// return it, and only then is [`mark_used`] sent, so a busy session writes once a minute and every
/// other request's check is a plain read.
pub(crate) const STALE: &str = "s.last_used_at < now() - interval '1 minute'";
/// Marks a session used now if it still was last marked over a minute ago; a session another
/// transaction holds is skipped, never waited for.
const MARK_USED: &str = "UPDATE sessions SET last_used_at = now()
     WHERE id = (SELECT id FROM sessions WHERE id = $1 AND revoked_at IS NULL
                   AND last_used_at < now() - interval '1 minute' FOR NO KEY UPDATE SKIP LOCKED)";

/// Every authenticated request runs this one.
const FIND_BY_LIVE_SESSION: &str = concatcp!(
    "SELECT ",
    users::COLUMNS,
    ", ",
    STALE,
    " AS stale FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.security_stamp = u.security_stamp
        AND u.status = $3"
);

/// A row of [`FIND_BY_LIVE_SESSION`].
#[derive(postgres_from_row::FromRow)]
struct LiveRow {
    #[from_row(flatten)]
    user: User,
    stale: bool,
}

/// A session and its first refresh token, in one statement, only while the account is active
/// and its stamp is still the one read before the password was checked ($11). The account's
/// row is share-locked: a credential change in flight is waited for and then seen, and one
/// that comes after waits for this session to exist and ends it (or its new stamp does).
/// The account's live sessions beyond the newest `$13 - 1` end as this one opens (the quota;
/// 0 keeps all): the CTE sees the sessions as they were before the insert.
const OPEN: &str = "WITH u AS (SELECT id FROM users WHERE id = $2 AND security_stamp = $11 AND status = $12 FOR SHARE),
                         oldest AS (UPDATE sessions SET revoked_at = now()
                                    WHERE $13::int8 > 0 AND id IN (SELECT o.id FROM sessions o JOIN u ON o.user_id = u.id
                                                             WHERE o.revoked_at IS NULL
                                                             ORDER BY o.id DESC OFFSET GREATEST($13::int8 - 1, 0))),
                         s AS (INSERT INTO sessions (id, user_id, user_agent, ip, org_id, method, amr, security_stamp,
                                                     client_id, browser_session_id, scopes, auth_time)
                               SELECT $1, u.id, $3, $4, $5, $9, $10, $11, $14, $15, $16, $17 FROM u RETURNING id)
                    INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at)
                    SELECT $6, s.id, $7, now() + make_interval(secs => $8) FROM s";
const REVOKE: &str = "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL";
/// Every refresh runs this one.
const TOUCH: &str = concatcp!(
    "UPDATE sessions s SET last_used_at = now() FROM users u
     WHERE s.id = $1 AND s.revoked_at IS NULL AND u.id = s.user_id AND u.status = $2
       AND s.security_stamp = u.security_stamp
     RETURNING ",
    users::COLUMNS,
    ", s.org_id AS session_org_id, s.amr AS session_amr, s.client_id AS session_client_id,
       s.browser_session_id AS session_browser_id, s.scopes AS session_scopes, s.auth_time AS session_auth_time"
);
/// Ends the live session of application $2 whose refresh token (spent or not) hashes to $1.
const REVOKE_BY_APP_REFRESH: &str = "UPDATE sessions s SET revoked_at = now()
     FROM refresh_tokens r WHERE r.token_hash = $1 AND r.session_id = s.id AND s.client_id = $2
       AND s.revoked_at IS NULL";
/// Ends application $2's live session $1.
const REVOKE_APP_SESSION: &str =
    "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND client_id = $2 AND revoked_at IS NULL";
/// Ends the sessions applications opened from a browser session at the provider.
const REVOKE_FROM_BROWSER: &str =
    "UPDATE sessions SET revoked_at = now() WHERE browser_session_id = $1 AND revoked_at IS NULL";
/// The scopes and application of a live session (`None` columns: a first-party session).
const APP_OF: &str = "SELECT client_id, scopes FROM sessions WHERE id = $1 AND revoked_at IS NULL";
const REVOKE_ALL_FOR_USER: &str = "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL";
const SET_ORG: &str = "UPDATE sessions SET org_id = $2 WHERE id = $1";
/// Carries a session over a credential change its own request made (password change, factor
/// enrolment): it takes the account's new stamp, if it held the old one.
const ADOPT_STAMP: &str = "UPDATE sessions s SET security_stamp = u.security_stamp FROM users u
                           WHERE s.id = $1 AND s.security_stamp = $2 AND s.revoked_at IS NULL AND u.id = s.user_id";
/// The stamp of a live session's active account, whose row is locked for a credential change.
const LOCK_LIVE: &str = "SELECT u.security_stamp FROM sessions s JOIN users u ON u.id = s.user_id
                         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL
                           AND s.security_stamp = u.security_stamp AND u.status = $3
                         FOR NO KEY UPDATE OF u";
const SET_AMR: &str = "UPDATE sessions SET amr = $2 WHERE id = $1 AND revoked_at IS NULL";
const REVOKE_OTHERS: &str =
    "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL RETURNING id";
const REVOKE_OWN: &str = "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";
/// A user's sessions that can still be used: not ended, and with a refresh token not yet
/// expired. Newest first, before the cursor's id.
const LIST_LIVE: &str = "SELECT s.id, s.method, s.amr, s.org_id, s.created_at, s.last_used_at, s.user_agent, s.ip,
            s.id = $2 IS TRUE AS is_current
     FROM sessions s JOIN users u ON u.id = s.user_id AND u.security_stamp = s.security_stamp
     WHERE s.user_id = $1 AND s.revoked_at IS NULL
       AND s.id < COALESCE($3::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')
       AND EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id AND r.used_at IS NULL AND r.expires_at > now())
     ORDER BY s.id DESC LIMIT $4";

/// A session to open, with its first refresh token.
pub struct NewSession<'a> {
    /// Session id.
    pub id: Uuid,
    /// Its user.
    pub user_id: Uuid,
    /// The organization it starts scoped to, if any.
    pub org_id: Option<Uuid>,
    /// Who opened it.
    pub client: &'a ClientInfo,
    /// How it began.
    pub method: SessionMethod,
    /// The factors it proved (RFC 8176 amr values).
    pub amr: &'a [&'a str],
    /// The first refresh token's id.
    pub token_id: Uuid,
    /// The first refresh token's hash.
    pub token_hash: &'a [u8],
    /// How long the first refresh token lives.
    pub token_ttl: Duration,
    /// The account's stamp when its credentials were checked.
    pub security_stamp: Uuid,
    /// Live sessions an account may have (the oldest end); 0 for no limit.
    pub most_sessions: i64,
    /// The application that opened it with a code, if one did.
    pub app: Option<AppSession<'a>>,
}

/// What an application's session records: which application, from which browser session at
/// the provider, granted what, and when the user proved who they are.
#[derive(Clone, Copy, Debug)]
pub struct AppSession<'a> {
    /// The application.
    pub client_id: Uuid,
    /// The browser session the code came from.
    pub browser_session_id: Uuid,
    /// The scopes granted.
    pub scopes: &'a [String],
    /// When the user last signed in at the provider.
    pub auth_time: chrono::DateTime<chrono::Utc>,
}

/// Opens a session and stores its first refresh token, in one statement: the two exist
/// together or not at all, without a transaction around them. False (and nothing opened) when
/// the account's stamp is no longer `security_stamp` or it is disabled.
pub async fn open(db: &impl GenericClient, new: &NewSession<'_>) -> Result<bool, DbError> {
    let opened = cached::execute(
        db,
        OPEN,
        &[
            &new.id,
            &new.user_id,
            &new.client.user_agent,
            &new.client.ip,
            &new.org_id,
            &new.token_id,
            &new.token_hash,
            &new.token_ttl.as_secs_f64(),
            &new.method,
            &new.amr,
            &new.security_stamp,
            &UserStatus::Active,
            &new.most_sessions,
            &new.app.map(|a| a.client_id),
            &new.app.map(|a| a.browser_session_id),
            &new.app.map(|a| a.scopes),
            &new.app.map(|a| a.auth_time),
        ],
    )
    .await?;
    Ok(opened == 1)
}

/// Locks the account behind a live session for a credential change and returns its stamp;
/// None when the session has ended, its stamp is stale or the account is disabled.
pub async fn lock_live(db: &impl GenericClient, id: Uuid, user_id: Uuid) -> Result<Option<Uuid>, DbError> {
    cached::value_opt(db, LOCK_LIVE, &[&id, &user_id, &UserStatus::Active]).await
}

/// Moves the session from `old` to the account's current stamp (after a change its own
/// request made); false if it did not hold `old`.
pub async fn adopt_stamp(db: &impl GenericClient, id: Uuid, old: Uuid) -> Result<bool, DbError> {
    Ok(cached::execute(db, ADOPT_STAMP, &[&id, &old]).await? == 1)
}

/// Ends a session; true if it was live.
pub async fn revoke(db: &impl GenericClient, id: Uuid) -> Result<bool, DbError> {
    Ok(cached::execute(db, REVOKE, &[&id]).await? == 1)
}

/// A live session just marked as used: its active user and its active organization.
#[derive(postgres_from_row::FromRow)]
pub struct Touched {
    /// The session's user, active.
    #[from_row(flatten)]
    pub user: User,
    /// The organization the session is scoped to, if any.
    #[from_row(rename = "session_org_id")]
    pub org_id: Option<Uuid>,
    /// The factors the session proved.
    #[from_row(rename = "session_amr")]
    pub amr: Vec<String>,
    /// The application whose session it is (None: this API's own sign-in).
    #[from_row(rename = "session_client_id")]
    pub client_id: Option<Uuid>,
    /// The provider's browser session it came from.
    #[from_row(rename = "session_browser_id")]
    pub browser_session_id: Option<Uuid>,
    /// The scopes an application was granted.
    #[from_row(rename = "session_scopes")]
    pub scopes: Option<Vec<String>>,
    /// When the user signed in at the provider.
    #[from_row(rename = "session_auth_time")]
    pub auth_time: Option<chrono::DateTime<chrono::Utc>>,
}

/// Ends application `client_id`'s session that a refresh token of it belongs to; false if it
/// is none of that application's.
pub async fn revoke_by_app_refresh(
    db: &impl GenericClient,
    token_hash: &[u8],
    client_id: Uuid,
) -> Result<bool, DbError> {
    Ok(cached::execute(db, REVOKE_BY_APP_REFRESH, &[&token_hash, &client_id]).await? > 0)
}

/// Ends application `client_id`'s session `id`; false if it is none of that application's.
pub async fn revoke_app_session(db: &impl GenericClient, id: Uuid, client_id: Uuid) -> Result<bool, DbError> {
    Ok(cached::execute(db, REVOKE_APP_SESSION, &[&id, &client_id]).await? > 0)
}

/// Ends the sessions applications opened from this browser session; how many.
pub async fn revoke_from_browser(db: &impl GenericClient, browser_session_id: Uuid) -> Result<u64, DbError> {
    cached::execute(db, REVOKE_FROM_BROWSER, &[&browser_session_id]).await
}

/// The application and scopes of a live session: `(None, None)` for this API's own.
pub async fn app_of(db: &impl GenericClient, id: Uuid) -> Result<Option<(Option<Uuid>, Option<Vec<String>>)>, DbError> {
    let row = cached::query_opt(db, APP_OF, &[&id]).await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// Marks a live session of an active user as used now and returns the user and the session's
/// organization in the same statement; `None` if the session has ended or the user is
/// disabled.
pub async fn touch(db: &impl GenericClient, id: Uuid) -> Result<Option<Touched>, DbError> {
    cached::fetch_opt(db, TOUCH, &[&id, &UserStatus::Active]).await
}

/// Ends every live session of a user; returns how many.
pub async fn revoke_all_for_user(db: &impl GenericClient, user_id: Uuid) -> Result<u64, DbError> {
    cached::execute(db, REVOKE_ALL_FOR_USER, &[&user_id]).await
}

/// Sets or clears the session's active organization.
pub async fn set_org(db: &impl GenericClient, id: Uuid, org_id: Option<Uuid>) -> Result<(), DbError> {
    cached::execute(db, SET_ORG, &[&id, &org_id]).await?;
    Ok(())
}

/// Records the factors a live session has now proved.
pub async fn set_amr(db: &impl GenericClient, id: Uuid, amr: &[&str]) -> Result<(), DbError> {
    cached::execute(db, SET_AMR, &[&id, &amr]).await?;
    Ok(())
}

/// Ends every live session of a user but `keep` (None keeps none); the ids of those it ended.
pub async fn revoke_others(db: &impl GenericClient, user_id: Uuid, keep: Option<Uuid>) -> Result<Vec<Uuid>, DbError> {
    let keep = keep.unwrap_or(Uuid::nil());
    let rows = cached::query(db, REVOKE_OTHERS, &[&user_id, &keep]).await?;
    rows.iter().map(|row| row.try_get(0).map_err(DbError::from)).collect()
}

/// Ends one live session of this user; false if it is not theirs, or already ended.
pub async fn revoke_own(db: &impl GenericClient, user_id: Uuid, id: Uuid) -> Result<bool, DbError> {
    Ok(cached::execute(db, REVOKE_OWN, &[&id, &user_id]).await? == 1)
}

/// A page of the user's live sessions, newest first; `current` is flagged.
pub async fn list_live(
    db: &impl GenericClient,
    user_id: Uuid,
    current: Option<Uuid>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Session>, DbError> {
    cached::fetch(db, LIST_LIVE, &[&user_id, &current, &before, &limit]).await
}

/// The active user behind a live session, and whether the session wants [`mark_used`]: the one
/// check every authenticated request makes.
pub async fn find_by_live_session(
    db: &impl GenericClient,
    user_id: Uuid,
    session_id: Uuid,
) -> Result<Option<(User, bool)>, DbError> {
    let row: Option<LiveRow> =
        cached::fetch_opt(db, FIND_BY_LIVE_SESSION, &[&session_id, &user_id, &UserStatus::Active]).await?;
    Ok(row.map(|r| (r.user, r.stale)))
}

/// Marks the session used now, unless it was within the last minute or another transaction
/// holds it.
pub async fn mark_used(db: &impl GenericClient, session_id: Uuid) -> Result<(), DbError> {
    cached::execute(db, MARK_USED, &[&session_id]).await?;
    Ok(())
}
