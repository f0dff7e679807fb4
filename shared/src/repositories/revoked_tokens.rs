//! The revoked_tokens table: machine tokens revoked before they expired.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{GenericClient, cached};
use crate::db::DbError;

const INSERT: &str = "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING";
const PRUNE: &str = "DELETE FROM revoked_tokens WHERE expires_at < now()";

/// Records a revoked token until it would have expired.
pub async fn insert(db: &impl GenericClient, jti: Uuid, expires_at: DateTime<Utc>) -> Result<(), DbError> {
    cached::execute(db, INSERT, &[&jti, &expires_at]).await?;
    Ok(())
}

/// Forgets revocations of tokens that have expired anyway; returns how many.
pub async fn prune(db: &impl GenericClient) -> Result<u64, DbError> {
    cached::execute(db, PRUNE, &[]).await
}
