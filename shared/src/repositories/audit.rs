//! The audit_log table.

use uuid::Uuid;

use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{AuditEntry, NewAuditEntry};

/// Records a change; call it in the transaction that makes the change.
pub async fn insert(db: &impl GenericClient, entry: &NewAuditEntry<'_>) -> Result<(), DbError> {
    cached::execute(
        db,
        "INSERT INTO audit_log (id, org_id, actor_id, action, target_type, target_id, metadata, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &Uuid::now_v7(),
            &entry.org_id,
            &entry.actor_id,
            &entry.action,
            &entry.target_type,
            &entry.target_id,
            &entry.metadata,
            &entry.ip,
        ],
    )
    .await?;
    Ok(())
}

/// The org's entries, newest first, older than `before` if given.
pub async fn list(
    db: &impl GenericClient,
    org_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<AuditEntry>, DbError> {
    cached::fetch(
        db,
        "SELECT id, org_id, actor_id, action, target_type, target_id, metadata, ip, created_at FROM audit_log
             WHERE org_id = $1 AND id < COALESCE($2::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff') ORDER BY id DESC LIMIT $3",
        &[&org_id, &before, &limit],
    )
    .await
}
