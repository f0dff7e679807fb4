//! The audit_log table.

use const_format::concatcp;
use uuid::Uuid;

use super::cached::Param;
use super::reads::Read;
use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{AuditEntry, NewAuditEntry};

/// The events a change's audit rows (the CTE `a`) write beside them, one each: the event's id
/// is the audit row's (`evt_` and its UUIDv7, so ids sort by time), its type $10, its actor as
/// the feed names it, and thin data (the target's id and the audit metadata, which never holds
/// a secret or an address; a user event adds the account's email while it exists). Each event is queued for every enabled webhook endpoint that
/// takes it (the organization's and the platform's), in the same transaction; the statement's
/// row count is the number queued.
const EVENTS_OF_AUDIT_ROWS: &str = ", e AS (
     INSERT INTO events (id, type, org_id, actor_type, actor_id, data)
     SELECT 'evt_' || replace(a.id::text, '-', ''), $10, a.org_id,
            CASE WHEN a.actor_id IS NULL THEN 'system' WHEN a.actor_type = 'client' THEN 'm2m_client'
                 ELSE a.actor_type END,
            a.actor_id,
            jsonb_build_object('id', a.target_id) || a.metadata
              || CASE WHEN a.target_type = 'user' THEN COALESCE(
                     (SELECT jsonb_build_object('email', u.email) FROM users u WHERE u.id = a.target_id), '{}')
                 ELSE '{}' END
     FROM a
     RETURNING id, type, org_id)
 INSERT INTO webhook_deliveries (endpoint_id, event_id, next_attempt_at)
 SELECT w.id, e.id, now() FROM e JOIN webhook_endpoints w
     ON w.enabled AND (w.org_id IS NULL OR w.org_id = e.org_id)
    AND (w.event_types = '{}' OR e.type = ANY (w.event_types))";
const INSERT: &str = concatcp!(
    "WITH a AS (
         INSERT INTO audit_log (id, org_id, actor_id, action, target_type, target_id, metadata, ip, actor_type)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING id, org_id, actor_id, actor_type, target_type, target_id, metadata)",
    EVENTS_OF_AUDIT_ROWS
);

/// Records a change; call it in the transaction that makes the change. Answers how many
/// webhook deliveries it queued.
pub async fn insert(db: &impl GenericClient, entry: &NewAuditEntry) -> Result<u64, DbError> {
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
            &entry.action.event_type(),
        ],
    )
    .await
}

const INSERT_EACH: &str = concatcp!(
    "WITH a AS (
         INSERT INTO audit_log (id, org_id, actor_id, action, target_type, target_id, metadata, ip, actor_type)
         SELECT unnest($1::uuid[]), $2, $3, $4, $5, unnest($6::uuid[]), $7, $8, $9
         RETURNING id, org_id, actor_id, actor_type, target_type, target_id, metadata)",
    EVENTS_OF_AUDIT_ROWS
);

/// Records one change per target, all alike but for the target, in one statement. Answers how
/// many webhook deliveries it queued.
pub async fn insert_each(db: &impl GenericClient, entry: &NewAuditEntry, target_ids: &[Uuid]) -> Result<u64, DbError> {
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
            &entry.action.event_type(),
        ],
    )
    .await
}

const FORGET_ADDRESSES_OF_ACTOR: &str = "UPDATE audit_log SET ip = NULL WHERE actor_id = $1 AND ip IS NOT NULL";

const FORGET_EMAIL_IN_METADATA: &str =
    "UPDATE audit_log SET metadata = metadata - 'email' WHERE metadata ? 'email' AND metadata ->> 'email' = $1";
const FORGET_EMAIL_IN_EVENTS: &str =
    "UPDATE events SET data = data - 'email' WHERE data ? 'email' AND data ->> 'email' = $1";

/// Takes a deleted account's personal data out of the log and the events: the addresses it
/// acted from and its email where they name it (invitations, user events). Ids stay, and name
/// no one once the account is gone. Returns how many rows changed.
pub async fn erase_personal_data(db: &impl GenericClient, user_id: Uuid, email: &str) -> Result<u64, DbError> {
    let (by_actor, by_email): ([Param; 1], [Param; 1]) = ([&user_id], [&email]);
    let (from_ip, named, in_events) = tokio::try_join!(
        cached::execute(db, FORGET_ADDRESSES_OF_ACTOR, &by_actor),
        cached::execute(db, FORGET_EMAIL_IN_METADATA, &by_email),
        cached::execute(db, FORGET_EMAIL_IN_EVENTS, &by_email),
    )?;
    Ok(from_ip + named + in_events)
}

const LIST: &str = "SELECT id, org_id, actor_id, actor_type, action, target_type, target_id, metadata, ip, created_at FROM audit_log
             WHERE org_id = $1 AND id < COALESCE($2::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff') ORDER BY id DESC LIMIT $3";

/// The org's entries, newest first, older than `before` if given.
#[track_caller]
pub fn list<C: GenericClient>(db: &C, org_id: Uuid, before: Option<Uuid>, limit: i64) -> Read<'_, C, Vec<AuditEntry>> {
    Read::new(db, LIST, vec![Box::new(org_id), Box::new(before), Box::new(limit)])
}
