//! The audit_log table.

use uuid::Uuid;

use super::cached::Param;
use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{AuditEntry, NewAuditEntry};

const INSERT: &str =
    "INSERT INTO audit_log (id, org_id, actor_id, action, target_type, target_id, metadata, ip, actor_type)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Records a change; call it in the transaction that makes the change.
pub async fn insert(db: &impl GenericClient, entry: &NewAuditEntry) -> Result<(), DbError> {
    cached::execute(
        db,
        INSERT,
        &[
            &Uuid::now_v7(),
            &entry.org_id,
            &entry.actor_id,
            &entry.action.name(),
            &entry.action.target_type(),
            &entry.target_id,
            &entry.metadata,
            &entry.ip,
            &entry.actor_type,
        ],
    )
    .await?;
    Ok(())
}

const INSERT_EACH: &str =
    "INSERT INTO audit_log (id, org_id, actor_id, action, target_type, target_id, metadata, ip, actor_type)
         SELECT unnest($1::uuid[]), $2, $3, $4, $5, unnest($6::uuid[]), $7, $8, $9";

/// Records one change per target, all alike but for the target, in one statement.
pub async fn insert_each(db: &impl GenericClient, entry: &NewAuditEntry, target_ids: &[Uuid]) -> Result<(), DbError> {
    let ids: Vec<Uuid> = target_ids.iter().map(|_| Uuid::now_v7()).collect();
    cached::execute(
        db,
        INSERT_EACH,
        &[
            &ids,
            &entry.org_id,
            &entry.actor_id,
            &entry.action.name(),
            &entry.action.target_type(),
            &target_ids,
            &entry.metadata,
            &entry.ip,
            &entry.actor_type,
        ],
    )
    .await?;
    Ok(())
}

const FORGET_ADDRESSES_OF_ACTOR: &str = "UPDATE audit_log SET ip = NULL WHERE actor_id = $1 AND ip IS NOT NULL";

const FORGET_EMAIL_IN_METADATA: &str =
    "UPDATE audit_log SET metadata = metadata - 'email' WHERE metadata ? 'email' AND metadata ->> 'email' = $1";

/// Takes a deleted account's personal data out of the log: the addresses it acted from and
/// its email in the metadata that names it (invitations). Ids stay, and name no one once the
/// account is gone. Returns how many rows changed.
pub async fn erase_personal_data(db: &impl GenericClient, user_id: Uuid, email: &str) -> Result<u64, DbError> {
    let (by_actor, by_email): ([Param; 1], [Param; 1]) = ([&user_id], [&email]);
    let (from_ip, named) = tokio::try_join!(
        cached::execute(db, FORGET_ADDRESSES_OF_ACTOR, &by_actor),
        cached::execute(db, FORGET_EMAIL_IN_METADATA, &by_email,),
    )?;
    Ok(from_ip + named)
}

const LIST: &str = "SELECT id, org_id, actor_id, actor_type, action, target_type, target_id, metadata, ip, created_at FROM audit_log
             WHERE org_id = $1 AND id < COALESCE($2::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff') ORDER BY id DESC LIMIT $3";

/// The org's entries, newest first, older than `before` if given.
pub async fn list(
    db: &impl GenericClient,
    org_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<AuditEntry>, DbError> {
    cached::fetch(db, LIST, &[&org_id, &before, &limit]).await
}
