//! Statements through each connection's prepared-statement cache.
//!
//! tokio-postgres prepares a statement given as text before it runs it: two round trips. The
//! cache (kept per pooled connection by deadpool-postgres) prepares each text once per
//! connection, so every later run is one round trip and PostgreSQL skips the parse.

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::GenericClient;

/// Parameters as tokio-postgres takes them.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Every row the statement returns.
pub async fn query(db: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<Vec<Row>, tokio_postgres::Error> {
    db.query(&db.prepare_cached(sql).await?, params).await
}

/// Exactly one row, or an error.
pub async fn query_one(db: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<Row, tokio_postgres::Error> {
    db.query_one(&db.prepare_cached(sql).await?, params).await
}

/// At most one row.
pub async fn query_opt(
    db: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<Row>, tokio_postgres::Error> {
    db.query_opt(&db.prepare_cached(sql).await?, params).await
}

/// The number of rows the statement changed.
pub async fn execute(db: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<u64, tokio_postgres::Error> {
    db.execute(&db.prepare_cached(sql).await?, params).await
}
