//! Statements through each connection's prepared-statement cache.
//!
//! tokio-postgres prepares a statement given as text before it runs it: two round trips. The
//! cache (kept per pooled connection by deadpool-postgres) prepares each text once per
//! connection, so every later run is one round trip and PostgreSQL skips the parse.
//!
//! Each function names, in the errors it returns, the repository line that called it and the
//! statement's start, so a 500's log line says which operation failed.

use std::panic::Location;

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::GenericClient;
use crate::db::DbError;

/// Parameters as tokio-postgres takes them.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

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
