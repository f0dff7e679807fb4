//! Failed-login counters per email address (the login_lockouts table).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{GenericClient, cached};
use crate::db::DbError;

const RESERVE_ATTEMPT: &str = "INSERT INTO login_lockouts AS l (email, failures) VALUES (lower($1), 1)
             ON CONFLICT (email) DO UPDATE SET
               failures = CASE
                 WHEN l.locked_until > now() THEN l.failures
                 WHEN l.locked_until IS NOT NULL THEN 1
                 ELSE l.failures + 1 END,
               locked_until = CASE
                 WHEN l.locked_until > now() THEN l.locked_until
                 WHEN l.locked_until IS NOT NULL THEN NULL
                 WHEN l.failures + 1 > $2 THEN now() + make_interval(secs => $3)
                 ELSE NULL END,
               updated_at = now()
             RETURNING locked_until";

/// Counts a login attempt for `email` before its password is checked, in one atomic
/// statement, so concurrent attempts cannot slip past the limit. Returns the time the
/// email is locked until, if it is locked now.
///
/// An attempt counts as a failure until [`clear`] says otherwise; once more than
/// `max_failures` are counted the email locks for `lockout`. An expired lock starts over.
pub async fn reserve_attempt(
    db: &impl GenericClient,
    email: &str,
    max_failures: i32,
    lockout: Duration,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let lockout_secs = lockout.as_secs_f64();
    let locked_until: Option<DateTime<Utc>> =
        cached::value(db, RESERVE_ATTEMPT, &[&email, &max_failures, &lockout_secs]).await?;
    Ok(locked_until.filter(|until| *until > Utc::now()))
}

const RECORD_FAILURE: &str =
    "UPDATE login_lockouts SET locked_until = now() + make_interval(secs => $3), updated_at = now()
         WHERE email = lower($1) AND failures >= $2 AND locked_until IS NULL";

/// After a failed check: locks the email at once if this failure reached the limit.
pub async fn record_failure(
    db: &impl GenericClient,
    email: &str,
    max_failures: i32,
    lockout: Duration,
) -> Result<(), DbError> {
    cached::execute(db, RECORD_FAILURE, &[&email, &max_failures, &lockout.as_secs_f64()]).await?;
    Ok(())
}

const STATUS: &str = "SELECT failures, locked_until FROM login_lockouts WHERE email = lower($1)";

/// The failures counted for `key` and, if it is locked now, until when; None when nothing is
/// counted. Reads only: a caller whose check is cheap counts failures alone, after the check.
pub async fn status(db: &impl GenericClient, key: &str) -> Result<Option<(i32, Option<DateTime<Utc>>)>, DbError> {
    let row = cached::query_opt(db, STATUS, &[&key]).await?;
    Ok(row.map(|r| {
        let until: Option<DateTime<Utc>> = r.get(1);
        (r.get(0), until.filter(|u| *u > Utc::now()))
    }))
}

const CLEAR: &str = "DELETE FROM login_lockouts WHERE email = lower($1)";

/// After a successful sign-in or a password reset: forgets the failures.
pub async fn clear(db: &impl GenericClient, email: &str) -> Result<(), DbError> {
    cached::execute(db, CLEAR, &[&email]).await?;
    Ok(())
}
