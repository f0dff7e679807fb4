//! Reads as values: awaited alone they run as they are; given to [`checked`] they run inside the
//! caller's check, so an org read is one statement that yields the caller's verdict beside the
//! object.
//!
//! The combined statement is the check's `WITH` list (ending in a CTE `caller` of
//! [`CallerColumns`]' columns), then the read as a lateral subquery that runs only when the
//! check found the caller allowed: `caller LEFT JOIN LATERAL (read WHERE caller_allowed)`. The
//! read's parameters follow the check's, renumbered; each pair's text is built once per process.

use std::collections::HashMap;
use std::future::IntoFuture;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::sync::{LazyLock, RwLock};

use chrono::{DateTime, Utc};
use postgres_from_row::FromRow;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::{GenericClient, cached};
use crate::db::DbError;

/// A parameter a read owns (it outlives the repository function that made it).
pub type Owned<'a> = Box<dyn ToSql + Sync + Send + 'a>;

/// How a read's rows become its answer.
pub trait Answer: Sized {
    /// The answer from the rows that are the read's.
    fn from_rows<'r>(rows: impl Iterator<Item = &'r Row>) -> Result<Self, DbError>;
}

impl<T: FromRow> Answer for Vec<T> {
    fn from_rows<'r>(rows: impl Iterator<Item = &'r Row>) -> Result<Self, DbError> {
        rows.map(|row| T::try_from_row(row).map_err(DbError::from)).collect()
    }
}

impl<T: FromRow> Answer for Option<T> {
    fn from_rows<'r>(mut rows: impl Iterator<Item = &'r Row>) -> Result<Self, DbError> {
        Ok(rows.next().map(T::try_from_row).transpose()?)
    }
}

/// A read statement with its parameters, not yet sent.
#[must_use = "a read does nothing until it is awaited or checked"]
pub struct Read<'a, C, T> {
    db: &'a C,
    sql: &'static str,
    params: Vec<Owned<'a>>,
    at: &'static Location<'static>,
    answer: PhantomData<fn() -> T>,
}

impl<'a, C: GenericClient, T: Answer> Read<'a, C, T> {
    /// The read of `sql` with `params` on `db`; its errors name the caller's line.
    #[track_caller]
    pub fn new(db: &'a C, sql: &'static str, params: Vec<Owned<'a>>) -> Self {
        Read { db, sql, params, at: Location::caller(), answer: PhantomData }
    }

    /// The connection it will run on.
    pub fn db(&self) -> &'a C {
        self.db
    }

    async fn run(self) -> Result<T, DbError> {
        let params: Vec<&(dyn ToSql + Sync)> = self.params.iter().map(|p| &**p as _).collect();
        let rows = cached::query_at(self.at, self.db, self.sql, &params).await?;
        T::from_rows(rows.iter())
    }
}

impl<'a, C, T> IntoFuture for Read<'a, C, T>
where
    C: GenericClient + Sync,
    T: Answer + Send + 'a,
{
    type Output = Result<T, DbError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<T, DbError>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// The caller's check that heads a combined statement: a `WITH` list whose last CTE, `caller`,
/// yields at most one row of [`CallerColumns`]' columns, and its parameters ($1 on).
pub struct Check<'a> {
    /// The `WITH` list.
    pub head: &'static str,
    /// Its parameters.
    pub params: Vec<Param<'a>>,
}

/// One of a check's parameters.
pub type Param<'a> = &'a (dyn ToSql + Sync);

/// The caller as a check finds them, the same columns for a session, a key and a token.
#[derive(Clone, Debug, FromRow)]
pub struct CallerColumns {
    /// The org the caller acts in: the path's org for a member, the key's or client's own org
    /// (None: not a member; a platform client).
    pub caller_org_id: Option<Uuid>,
    /// The key or client (None for a session).
    pub caller_key_id: Option<Uuid>,
    /// Its name.
    pub caller_name: Option<String>,
    /// An OAuth client rather than an API key.
    pub caller_is_client: bool,
    /// A key's stored hash, compared again in constant time.
    pub caller_secret_hash: Option<Vec<u8>>,
    /// Requests in the machine's current minute, this one included (None: not counted).
    pub caller_hits: Option<i32>,
    /// When that minute ends.
    pub caller_window_end: Option<DateTime<Utc>>,
    /// The caller holds the permission the read needs (a token: and was granted it). A bool,
    /// not the permissions: these columns repeat on every row of a page.
    pub caller_holds: bool,
    /// The org requires a second factor this session has not proved.
    pub caller_needs_mfa: bool,
    /// The session was last marked used over a minute ago (see `sessions::mark_used`).
    pub caller_stale: bool,
}

/// `read` run inside `check`, in one statement: the caller as the check found them (None: no
/// live caller) and the read's answer, which is empty unless the check allowed the caller.
#[track_caller]
pub fn checked<'a, C, T>(
    check: Check<'a>,
    read: Read<'a, C, T>,
) -> impl Future<Output = Result<(Option<CallerColumns>, T), DbError>> + Send + 'a
where
    C: GenericClient + Sync,
    T: Answer + Send + 'a,
{
    let at = Location::caller();
    async move {
        let sql = combined(check.head, check.params.len(), read.sql);
        let mut params: Vec<&(dyn ToSql + Sync)> = check.params;
        params.extend(read.params.iter().map(|p| &**p as &(dyn ToSql + Sync)));
        let rows = cached::query_at(at, read.db, sql, &params).await?;
        let Some(first) = rows.first() else {
            return Ok((None, T::from_rows(std::iter::empty())?));
        };
        let caller = CallerColumns::try_from_row(first)?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.try_get::<_, Option<bool>>("read_found")?.unwrap_or(false) {
                found.push(row);
            }
        }
        Ok((Some(caller), T::from_rows(found.into_iter())?))
    }
}

/// The combined text of `head` (with `shift` parameters) and `read`, made once per pair.
fn combined(head: &'static str, shift: usize, read: &'static str) -> &'static str {
    static MADE: LazyLock<RwLock<HashMap<(&'static str, &'static str), &'static str>>> =
        LazyLock::new(Default::default);
    if let Some(sql) = MADE.read().unwrap_or_else(|e| e.into_inner()).get(&(head, read)) {
        return sql;
    }
    let text = format!(
        "{head} SELECT c.*, r.* FROM caller c LEFT JOIN LATERAL (SELECT true AS read_found, x.* FROM ({}) x \
         WHERE c.caller_allowed) r ON true",
        renumbered(read, shift)
    );
    // The pairs are the program's own constants, a few dozen: leaking each once is bounded.
    let sql: &'static str = Box::leak(text.into_boxed_str());
    let mut made = MADE.write().unwrap_or_else(|e| e.into_inner());
    let first: &&'static str = made.entry((head, read)).or_insert(sql);
    first
}

/// `sql` with every parameter `$n` made `$(n + shift)`; quoted text is left as it is.
fn renumbered(sql: &str, shift: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.char_indices().peekable();
    let mut quoted = false;
    while let Some((_, ch)) = chars.next() {
        match ch {
            '\'' => {
                quoted = !quoted;
                out.push(ch);
            }
            '$' if !quoted && chars.peek().is_some_and(|(_, d)| d.is_ascii_digit()) => {
                let mut n = 0usize;
                while let Some((_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()).copied() {
                    n = n * 10 + (d as usize - '0' as usize);
                    chars.next();
                }
                out.push('$');
                out.push_str(&(n + shift).to_string());
            }
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::renumbered;

    #[test]
    fn parameters_are_shifted_and_quoted_text_is_not() {
        assert_eq!(
            renumbered("SELECT $1, $10 FROM t WHERE a = '$2' AND b = $2::int4", 5),
            "SELECT $6, $15 FROM t WHERE a = '$2' AND b = $7::int4"
        );
        assert_eq!(renumbered("SELECT 1", 3), "SELECT 1");
    }
}
