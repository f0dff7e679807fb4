//! Statements through each connection's prepared-statement cache.
//!
//! tokio-postgres prepares a statement given as text before it runs it: two round trips. The
//! cache (kept per pooled connection by deadpool-postgres) prepares each text once per
//! connection, so every later run is one round trip and PostgreSQL skips the parse.
//!
//! `fetch*` map rows onto a type deriving `FromRow`, by column name: a column missing or of
//! the wrong type is an error naming it, not a panic.
//!
//! Each function names, in the errors it returns, the repository line that called it and the
//! statement's start, so a 500's log line says which operation failed.

use std::panic::Location;

use postgres_from_row::FromRow;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, ToSql};

use super::GenericClient;
use crate::db::DbError;

/// Parameters as tokio-postgres takes them.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];
/// One of them.
pub type Param<'a> = &'a (dyn ToSql + Sync);

/// Every row the statement returns.
#[track_caller]
pub fn query<'a>(
    db: &'a impl GenericClient,
    sql: &'a str,
    params: Params<'a>,
) -> impl Future<Output = Result<Vec<Row>, DbError>> + 'a {
    located(Location::caller(), sql, async move { db.query(&db.prepare_cached(sql).await?, params).await })
}

/// Exactly one row, or an error.
#[track_caller]
pub fn query_one<'a>(
    db: &'a impl GenericClient,
    sql: &'a str,
    params: Params<'a>,
) -> impl Future<Output = Result<Row, DbError>> + 'a {
    located(Location::caller(), sql, async move { db.query_one(&db.prepare_cached(sql).await?, params).await })
}

/// At most one row.
#[track_caller]
pub fn query_opt<'a>(
    db: &'a impl GenericClient,
    sql: &'a str,
    params: Params<'a>,
) -> impl Future<Output = Result<Option<Row>, DbError>> + 'a {
    located(Location::caller(), sql, async move { db.query_opt(&db.prepare_cached(sql).await?, params).await })
}

/// The number of rows the statement changed.
#[track_caller]
pub fn execute<'a>(
    db: &'a impl GenericClient,
    sql: &'a str,
    params: Params<'a>,
) -> impl Future<Output = Result<u64, DbError>> + 'a {
    located(Location::caller(), sql, async move { db.execute(&db.prepare_cached(sql).await?, params).await })
}

/// Every row the statement returns, each mapped by column name onto a `T`.
#[track_caller]
pub fn fetch<'a, T: FromRow + 'a>(
    db: &'a impl GenericClient,
    sql: &'a str,
    params: Params<'a>,
) -> impl Future<Output = Result<Vec<T>, DbError>> + 'a {
    located(Location::caller(), sql, async move {
        db.query(&db.prepare_cached(sql).await?, params).await?.iter().map(T::try_from_row).collect()
    })
}

/// At most one row, mapped by column name onto a `T`.
#[track_caller]
pub fn fetch_opt<'a, T: FromRow + 'a>(
    db: &'a impl GenericClient,
    sql: &'a str,
    params: Params<'a>,
) -> impl Future<Output = Result<Option<T>, DbError>> + 'a {
    located(Location::caller(), sql, async move {
        db.query_opt(&db.prepare_cached(sql).await?, params).await?.as_ref().map(T::try_from_row).transpose()
    })
}

/// Exactly one row, mapped by column name onto a `T`.
#[track_caller]
pub fn fetch_one<'a, T: FromRow + 'a>(
    db: &'a impl GenericClient,
    sql: &'a str,
    params: Params<'a>,
) -> impl Future<Output = Result<T, DbError>> + 'a {
    located(Location::caller(), sql, async move {
        T::try_from_row(&db.query_one(&db.prepare_cached(sql).await?, params).await?)
    })
}

/// The first column of the one row the statement returns (a count, an EXISTS).
#[track_caller]
pub fn value<'a, T: for<'r> FromSql<'r> + 'a>(
    db: &'a impl GenericClient,
    sql: &'a str,
    params: Params<'a>,
) -> impl Future<Output = Result<T, DbError>> + 'a {
    located(
        Location::caller(),
        sql,
        async move { db.query_one(&db.prepare_cached(sql).await?, params).await?.try_get(0) },
    )
}

/// The first column of the row the statement returns, if it returns one.
#[track_caller]
pub fn value_opt<'a, T: for<'r> FromSql<'r> + 'a>(
    db: &'a impl GenericClient,
    sql: &'a str,
    params: Params<'a>,
) -> impl Future<Output = Result<Option<T>, DbError>> + 'a {
    located(Location::caller(), sql, async move {
        db.query_opt(&db.prepare_cached(sql).await?, params).await?.map(|row| row.try_get(0)).transpose()
    })
}

/// Every row the statement returns, its errors naming `at` (a read made elsewhere).
pub(super) async fn query_at(
    at: &'static Location<'static>,
    db: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<Row>, DbError> {
    located(at, sql, async move { db.query(&db.prepare_cached(sql).await?, params).await }).await
}

/// Prepares the statements the connection's cache lacks, for statements sent together that
/// must run in order: one still to prepare would wait for its parse while those after it,
/// prepared already, ran ahead. Once warm this sends nothing.
#[track_caller]
pub fn warm<'a>(db: &'a impl GenericClient, sqls: &'a [&'a str]) -> impl Future<Output = Result<(), DbError>> + 'a {
    let at = Location::caller();
    async move {
        for sql in sqls {
            located(at, sql, db.prepare_cached(sql)).await?;
        }
        Ok(())
    }
}

/// Runs a statement, naming its call site and text in the error it may fail with.
async fn located<T>(
    at: &'static Location<'static>,
    sql: &str,
    run: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, DbError> {
    run.await.map_err(|e| DbError::from_pg(e, || operation(at, sql)))
}

/// `file:line` of the caller and the statement's first words, white space folded. The text
/// holds placeholders, never values.
fn operation(at: &Location<'_>, sql: &str) -> String {
    let mut statement: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if statement.len() > 80 {
        let cut = (0..=80).rev().find(|&i| statement.is_char_boundary(i)).unwrap_or(0);
        statement.truncate(cut);
        statement.push_str("...");
    }
    format!("{}:{} ({statement})", at.file(), at.line())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_the_call_site_and_the_statement_start() {
        let at = Location::caller();
        let long = format!("SELECT a,\n       b FROM t WHERE {}", "x = 1 AND ".repeat(20));
        let op = operation(at, &long);
        assert!(op.starts_with(&format!("{}:{} (SELECT a, b FROM t WHERE x = 1", at.file(), at.line())), "{op}");
        assert!(op.ends_with("...)") && op.len() < 80 + at.file().len() + 16, "{op}");
        assert_eq!(operation(at, "SELECT 1"), format!("{}:{} (SELECT 1)", at.file(), at.line()));
    }
}
