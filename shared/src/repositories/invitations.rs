//! The invitations table.

use tokio_postgres::Row;
use uuid::Uuid;

use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{Invitation, InvitationPreview};

/// Name of the partial unique index: one pending invitation per org and email.
pub const ONE_PENDING: &str = "invitations_one_pending_key";

/// Columns of [`Invitation`]; a pending invitation past its expiry reads as expired.
const SELECT: &str = "SELECT i.id, i.org_id, i.email, i.invited_by, i.expires_at, i.accepted_by, i.accepted_at,
        i.created_at, i.updated_at,
        CASE WHEN i.status = 'pending' AND i.expires_at <= now() THEN 'expired' ELSE i.status END AS status,
        COALESCE((SELECT array_agg(r.name ORDER BY r.name) FROM roles r WHERE r.id = ANY(i.role_ids)), '{}') AS roles
     FROM invitations i";

fn invitation(row: &Row) -> Invitation {
    Invitation {
        id: row.get("id"),
        org_id: row.get("org_id"),
        email: row.get("email"),
        roles: row.get("roles"),
        invited_by: row.get("invited_by"),
        status: row.get("status"),
        expires_at: row.get("expires_at"),
        accepted_by: row.get("accepted_by"),
        accepted_at: row.get("accepted_at"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// Marks the org's pending invitations for this email that have expired as expired, so a
/// new one may be made.
pub async fn expire_stale(db: &impl GenericClient, org_id: Uuid, email: &str) -> Result<(), DbError> {
    cached::execute(
        db,
        "UPDATE invitations SET status = 'expired', updated_at = now()
         WHERE org_id = $1 AND lower(email) = lower($2) AND status = 'pending' AND expires_at <= now()",
        &[&org_id, &email],
    )
    .await?;
    Ok(())
}

/// A new invitation.
pub struct NewInvitation<'a> {
    /// UUIDv7.
    pub id: Uuid,
    /// The organization invited to.
    pub org_id: Uuid,
    /// The invitee's canonical email.
    pub email: &'a str,
    /// Roles granted on accepting.
    pub role_ids: &'a [Uuid],
    /// Who invites.
    pub invited_by: Uuid,
    /// SHA-256 of the token.
    pub token_hash: &'a [u8],
    /// Lifetime in days.
    pub ttl_days: i16,
}

/// Stores an invitation; a second pending one for the same org and email fails on [`ONE_PENDING`].
pub async fn insert(db: &impl GenericClient, new: &NewInvitation<'_>) -> Result<Invitation, DbError> {
    cached::execute(
        db,
        "INSERT INTO invitations (id, org_id, email, role_ids, invited_by, token_hash, ttl_days, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(days => $8))",
        &[
            &new.id,
            &new.org_id,
            &new.email,
            &new.role_ids,
            &new.invited_by,
            &new.token_hash,
            &new.ttl_days,
            &i32::from(new.ttl_days),
        ],
    )
    .await?;
    find(db, new.org_id, new.id)
        .await?
        .ok_or_else(|| DbError::other("reading back an inserted invitation", "the row vanished"))
}

/// One of the org's invitations.
pub async fn find(db: &impl GenericClient, org_id: Uuid, id: Uuid) -> Result<Option<Invitation>, DbError> {
    let sql = format!("{SELECT} WHERE i.org_id = $1 AND i.id = $2");
    Ok(cached::query_opt(db, &sql, &[&org_id, &id]).await?.as_ref().map(invitation))
}

/// The org's invitations, newest first, optionally of one status, older than `before`.
pub async fn list(
    db: &impl GenericClient,
    org_id: Uuid,
    status: Option<&str>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Invitation>, DbError> {
    let sql = format!(
        "SELECT * FROM ({SELECT} WHERE i.org_id = $1 AND ($3::uuid IS NULL OR i.id < $3)) v
         WHERE ($2::text IS NULL OR v.status = $2) ORDER BY v.id DESC LIMIT $4"
    );
    Ok(cached::query(db, &sql, &[&org_id, &status, &before, &limit]).await?.iter().map(invitation).collect())
}

/// Gives a pending (or expired) invitation a new token and a fresh expiry, so older links
/// stop working. None if it was accepted, declined or revoked.
pub async fn rotate(
    db: &impl GenericClient,
    org_id: Uuid,
    id: Uuid,
    token_hash: &[u8],
) -> Result<Option<Invitation>, DbError> {
    let n = cached::execute(
        db,
        "UPDATE invitations SET token_hash = $3, status = 'pending', updated_at = now(),
                    expires_at = now() + ttl_days * interval '1 day'
             WHERE org_id = $1 AND id = $2 AND status IN ('pending', 'expired')",
        &[&org_id, &id, &token_hash],
    )
    .await?;
    if n == 0 { Ok(None) } else { find(db, org_id, id).await }
}

/// Revokes a live pending invitation; None if it was not one.
pub async fn revoke(db: &impl GenericClient, org_id: Uuid, id: Uuid) -> Result<Option<Invitation>, DbError> {
    let n = cached::execute(
        db,
        "UPDATE invitations SET status = 'revoked', updated_at = now()
             WHERE org_id = $1 AND id = $2 AND status = 'pending' AND expires_at > now()",
        &[&org_id, &id],
    )
    .await?;
    if n == 0 { Ok(None) } else { find(db, org_id, id).await }
}

/// What the token's holder may see, with whether an account has the invited email.
pub async fn preview(db: &impl GenericClient, token_hash: &[u8]) -> Result<Option<InvitationPreview>, DbError> {
    let sql = format!(
        "SELECT v.*, o.name AS org_name, u.name AS inviter_name,
                EXISTS (SELECT 1 FROM users a WHERE lower(a.email) = lower(v.email)) AS account_exists
         FROM ({SELECT} WHERE i.token_hash = $1) v
         JOIN organizations o ON o.id = v.org_id LEFT JOIN users u ON u.id = v.invited_by"
    );
    let row = cached::query_opt(db, &sql, &[&token_hash]).await?;
    Ok(row.map(|r| InvitationPreview {
        id: r.get("id"),
        org_id: r.get("org_id"),
        org_name: r.get("org_name"),
        inviter_name: r.get("inviter_name"),
        email: r.get("email"),
        roles: r.get("roles"),
        expires_at: r.get("expires_at"),
        status: r.get("status"),
        account_exists: r.get("account_exists"),
    }))
}

/// Which invitation to take, and for whom.
#[derive(Clone, Copy, Debug)]
pub enum Pick<'a> {
    /// By the token mailed to the invitee.
    Token(&'a [u8]),
    /// By id, for a signed-in user whose verified email it was sent to.
    ForEmail(Uuid, &'a str),
}

/// A consumed invitation.
#[derive(Clone, Debug)]
pub struct Taken {
    /// The invitation.
    pub id: Uuid,
    /// Its org.
    pub org_id: Uuid,
    /// The invited email.
    pub email: String,
    /// Roles to grant.
    pub role_ids: Vec<Uuid>,
}

/// Moves a live pending invitation to `accepted` (with `accepted_by`) or `declined` in one
/// atomic statement: of concurrent calls, exactly one gets the row.
pub async fn take(
    db: &impl GenericClient,
    pick: Pick<'_>,
    outcome: &str,
    accepted_by: Option<Uuid>,
) -> Result<Option<Taken>, DbError> {
    let (hash, id, email): (Option<&[u8]>, Option<Uuid>, Option<&str>) = match pick {
        Pick::Token(hash) => (Some(hash), None, None),
        Pick::ForEmail(id, email) => (None, Some(id), Some(email)),
    };
    let row = cached::query_opt(
        db,
        "UPDATE invitations SET status = $4, accepted_by = $5,
                accepted_at = CASE WHEN $4 = 'accepted' THEN now() END, updated_at = now()
         WHERE (($1::bytea IS NOT NULL AND token_hash = $1) OR ($2::uuid IS NOT NULL AND id = $2 AND lower(email) = lower($3)))
           AND status = 'pending' AND expires_at > now()
         RETURNING id, org_id, email, role_ids",
        &[&hash, &id, &email, &outcome, &accepted_by],
    )
    .await?;
    Ok(row.map(|r| Taken { id: r.get(0), org_id: r.get(1), email: r.get(2), role_ids: r.get(3) }))
}

/// The current status of an invitation picked the same way (None if there is none).
pub async fn status_of(db: &impl GenericClient, pick: Pick<'_>) -> Result<Option<String>, DbError> {
    let row = match pick {
        Pick::Token(hash) => cached::query_opt(db, &format!("{SELECT} WHERE i.token_hash = $1"), &[&hash]).await?,
        Pick::ForEmail(id, email) => {
            cached::query_opt(db, &format!("{SELECT} WHERE i.id = $1 AND lower(i.email) = lower($2)"), &[&id, &email])
                .await?
        }
    };
    Ok(row.map(|r| r.get("status")))
}

/// Live pending invitations to this email, across orgs, with the org's name.
pub async fn pending_for_email(db: &impl GenericClient, email: &str) -> Result<Vec<(Invitation, String)>, DbError> {
    let sql = format!(
        "SELECT v.*, o.name AS org_name FROM ({SELECT} WHERE lower(i.email) = lower($1)) v
         JOIN organizations o ON o.id = v.org_id WHERE v.status = 'pending' ORDER BY v.id DESC LIMIT 100"
    );
    Ok(cached::query(db, &sql, &[&email]).await?.iter().map(|r| (invitation(r), r.get("org_name"))).collect())
}
