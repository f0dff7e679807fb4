//! The invitations table, read through the `invitation_details` view.

use const_format::concatcp;
use uuid::Uuid;

use super::cached::Param;
use super::reads::Read;
use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::{Invitation, InvitationPreview, InvitationStatus, MyInvitation};

/// Name of the partial unique index: one pending invitation per org and email.
pub const ONE_PENDING: &str = "invitations_one_pending_key";

/// The columns [`Invitation`] maps from, on the alias `i`.
const COLUMNS: &str = "i.id, i.org_id, i.email, i.roles, i.invited_by, i.status, i.expires_at, i.accepted_by, i.accepted_at, \
     i.created_at, i.updated_at";

const EXPIRE_STALE: &str = "UPDATE invitations SET status = $3, updated_at = now()
     WHERE org_id = $1 AND lower(email) = lower($2) AND status = $4 AND expires_at <= now()";
const INSERT: &str =
    "INSERT INTO invitations (id, org_id, email, role_ids, invited_by, token_hash, ttl_days, expires_at, invited_by_key,
                              invited_by_client, invited_by_domain)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(days => $8), $9, $10, $11)";
const FIND: &str = concatcp!("SELECT ", COLUMNS, " FROM invitation_details i WHERE i.org_id = $1 AND i.id = $2");
const LIST: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    " FROM invitation_details i
      WHERE i.org_id = $1 AND ($2::text IS NULL OR i.status = $2) AND i.id < COALESCE($3::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')
      ORDER BY i.id DESC LIMIT $4"
);
/// A rotated invitation is pending again with a fresh expiry, whether it was pending or expired.
const ROTATE: &str = "UPDATE invitations SET token_hash = $3, invited_by = $5, invited_by_key = $6,
            invited_by_client = $7, invited_by_domain = $8, updated_at = now(),
            expires_at = now() + ttl_days * interval '1 day'
     WHERE org_id = $1 AND id = $2 AND status = $4 AND expires_at > now()";
const REVOKE: &str = "UPDATE invitations SET status = $3, updated_at = now()
     WHERE org_id = $1 AND id = $2 AND status = $4 AND expires_at > now()";
const PREVIEW: &str =
    "SELECT i.id, i.org_id, o.name AS org_name, o.logo_url AS org_logo_url, u.name AS inviter_name, i.email, i.roles,
            i.expires_at, i.status, EXISTS (SELECT 1 FROM users a WHERE lower(a.email) = lower(i.email)) AS account_exists
     FROM invitation_details i JOIN organizations o ON o.id = i.org_id LEFT JOIN users u ON u.id = i.invited_by
     WHERE i.token_hash = $1";
/// One atomic statement: of concurrent takers, exactly one gets the row.
const TAKE: &str = "UPDATE invitations SET status = $4, accepted_by = $5,
            accepted_at = CASE WHEN $4 = $6 THEN now() END, updated_at = now()
     WHERE (($1::bytea IS NOT NULL AND token_hash = $1) OR ($2::uuid IS NOT NULL AND id = $2 AND lower(email) = lower($3)))
       AND status = $7 AND expires_at > now()
     RETURNING id, org_id, email, role_ids, invited_by, invited_by_key, invited_by_client, invited_by_domain";
/// Whether the inviter could still grant the invitation's roles: an active member of its org
/// holding every permission those roles carry. No row when the inviter is gone or left.
const INVITER_CAN_GRANT: &str = "SELECT u.status = $4 AND m.permissions @> COALESCE(
         (SELECT array_agg(DISTINCT rp.permission) FROM role_permissions rp WHERE rp.role_id = ANY ($3)), '{}')
     FROM users u JOIN memberships m ON m.user_id = u.id AND m.org_id = $2 WHERE u.id = $1";
/// The same for a key: live, of the org, holding every permission the roles carry.
/// The same for a machine that sent it: a live API key, or an OAuth client, of the org.
const KEY_CAN_GRANT: &str = "SELECT m.permissions @> COALESCE(
         (SELECT array_agg(DISTINCT rp.permission) FROM role_permissions rp WHERE rp.role_id = ANY ($3)), '{}')
     FROM (SELECT k.permissions FROM api_keys k WHERE k.id = $1 AND k.org_id = $2 AND k.revoked_at IS NULL
             AND (k.expires_at IS NULL OR k.expires_at > now())
           UNION ALL
           SELECT c.permissions FROM oauth_clients c WHERE c.id = $1 AND c.org_id = $2) m";
/// The same for a verified domain that made it: still verified and enrolling people.
const DOMAIN_CAN_GRANT: &str = "SELECT EXISTS (SELECT 1 FROM org_domains
     WHERE id = $1 AND org_id = $2 AND state = 'verified' AND enrollment_mode <> 'manual')";
const STATUS_BY_TOKEN: &str = "SELECT status FROM invitation_details WHERE token_hash = $1";
const STATUS_FOR_EMAIL: &str = "SELECT status FROM invitation_details WHERE id = $1 AND lower(email) = lower($2)";
const PENDING_FOR_EMAIL: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    ", o.name AS org_name FROM invitation_details i JOIN organizations o ON o.id = i.org_id
      WHERE lower(i.email) = lower($1) AND i.status = $2 ORDER BY i.id DESC LIMIT 100"
);

/// Marks the org's pending invitations for this email that have expired as expired, so a
/// new one may be made.
pub async fn expire_stale(db: &impl GenericClient, org_id: Uuid, email: &str) -> Result<(), DbError> {
    let params = [&org_id as _, &email as _, &InvitationStatus::Expired as _, &InvitationStatus::Pending as _];
    cached::execute(db, EXPIRE_STALE, &params).await?;
    Ok(())
}

/// Who sends an invitation, and answers for it when it is accepted.
#[derive(Clone, Copy, Debug)]
pub enum Inviter {
    /// A member of the org.
    User(Uuid),
    /// One of its API keys.
    ApiKey(Uuid),
    /// One of its OAuth clients, through a token.
    Client(Uuid),
    /// One of its verified domains, for someone whose verified email is at it.
    Domain(Uuid),
}

impl Inviter {
    /// The `invited_by`, `invited_by_key`, `invited_by_client` and `invited_by_domain` columns.
    fn columns(self) -> [Option<Uuid>; 4] {
        match self {
            Inviter::User(id) => [Some(id), None, None, None],
            Inviter::ApiKey(id) => [None, Some(id), None, None],
            Inviter::Client(id) => [None, None, Some(id), None],
            Inviter::Domain(id) => [None, None, None, Some(id)],
        }
    }
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
    /// Who invites: a member, or an API key.
    pub inviter: Inviter,
    /// SHA-256 of the token.
    pub token_hash: &'a [u8],
    /// Lifetime in days.
    pub ttl_days: i16,
}

/// Stores an invitation; a second pending one for the same org and email fails on [`ONE_PENDING`].
pub async fn insert(db: &impl GenericClient, new: &NewInvitation<'_>) -> Result<Invitation, DbError> {
    let ttl_days = i32::from(new.ttl_days);
    let [by_user, by_key, by_client, by_domain] = new.inviter.columns();
    let params: [cached::Param; 11] = [
        &new.id,
        &new.org_id,
        &new.email,
        &new.role_ids,
        &by_user,
        &new.token_hash,
        &new.ttl_days,
        &ttl_days,
        &by_key,
        &by_client,
        &by_domain,
    ];
    // The insert and its read back through the view leave together and run in this order:
    // both prepared first, then sent in order (biased polling).
    cached::warm(db, &[INSERT, FIND]).await?;
    let (_, found) = tokio::try_join!(biased; cached::execute(db, INSERT, &params), find(db, new.org_id, new.id))?;
    found.ok_or_else(|| DbError::other("reading back an inserted invitation", "the row vanished"))
}

/// One of the org's invitations.
#[track_caller]
pub fn find<C: GenericClient>(db: &C, org_id: Uuid, id: Uuid) -> Read<'_, C, Option<Invitation>> {
    Read::new(db, FIND, vec![Box::new(org_id), Box::new(id)])
}

/// The org's invitations, newest first, optionally of one status, older than `before`.
#[track_caller]
pub fn list<C: GenericClient>(
    db: &C,
    org_id: Uuid,
    status: Option<InvitationStatus>,
    before: Option<Uuid>,
    limit: i64,
) -> Read<'_, C, Vec<Invitation>> {
    Read::new(db, LIST, vec![Box::new(org_id), Box::new(status), Box::new(before), Box::new(limit)])
}

/// Gives a live pending invitation a new token, a fresh expiry and its resender as inviter, so
/// older links stop working. None if it expired (an expired one is not revived: invite
/// again), or was accepted, declined or revoked.
pub async fn rotate(
    db: &impl GenericClient,
    org_id: Uuid,
    id: Uuid,
    token_hash: &[u8],
    resent_by: Inviter,
) -> Result<Option<Invitation>, DbError> {
    let pending = InvitationStatus::Pending;
    let [by_user, by_key, by_client, by_domain] = resent_by.columns();
    let params: [cached::Param; 8] = [&org_id, &id, &token_hash, &pending, &by_user, &by_key, &by_client, &by_domain];
    let n = cached::execute(db, ROTATE, &params).await?;
    if n == 0 { Ok(None) } else { find(db, org_id, id).await }
}

/// Revokes a live pending invitation; None if it was not one.
pub async fn revoke(db: &impl GenericClient, org_id: Uuid, id: Uuid) -> Result<Option<Invitation>, DbError> {
    let params = [&org_id as _, &id as _, &InvitationStatus::Revoked as _, &InvitationStatus::Pending as _];
    let n = cached::execute(db, REVOKE, &params).await?;
    if n == 0 { Ok(None) } else { find(db, org_id, id).await }
}

/// What the token's holder may see, with whether an account has the invited email.
pub async fn preview(db: &impl GenericClient, token_hash: &[u8]) -> Result<Option<InvitationPreview>, DbError> {
    cached::fetch_opt(db, PREVIEW, &[&token_hash]).await
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
#[derive(Clone, Debug, postgres_from_row::FromRow)]
pub struct Taken {
    /// The invitation.
    pub id: Uuid,
    /// Its org.
    pub org_id: Uuid,
    /// The invited email.
    pub email: String,
    /// Roles to grant.
    pub role_ids: Vec<Uuid>,
    /// Who sent it (None once their account is deleted, or when a key did).
    pub invited_by: Option<Uuid>,
    /// The API key that sent it (None once the key is deleted with its org, or when a member did).
    pub invited_by_key: Option<Uuid>,
    /// The OAuth client that sent it (None once the client is deleted, or when another did).
    pub invited_by_client: Option<Uuid>,
    /// The verified domain that made it (None once the domain is deleted, or when another did).
    pub invited_by_domain: Option<Uuid>,
}

/// Whether the inviter of `taken` could still grant its roles in its org now (false when
/// they are disabled, gone from the org, or lost a permission the roles carry).
pub async fn inviter_can_grant(db: &impl GenericClient, taken: &Taken) -> Result<bool, DbError> {
    let found: Option<bool> = match (taken.invited_by, taken.invited_by_key.or(taken.invited_by_client)) {
        (Some(inviter), _) => {
            let params: [Param; 4] = [&inviter, &taken.org_id, &taken.role_ids, &crate::models::UserStatus::Active];
            cached::value_opt(db, INVITER_CAN_GRANT, &params).await?
        }
        (None, Some(key)) => cached::value_opt(db, KEY_CAN_GRANT, &[&key, &taken.org_id, &taken.role_ids]).await?,
        (None, None) => match taken.invited_by_domain {
            Some(domain) => cached::value_opt(db, DOMAIN_CAN_GRANT, &[&domain, &taken.org_id]).await?,
            None => return Ok(false),
        },
    };
    Ok(found.unwrap_or(false))
}

/// Moves a live pending invitation to `accepted` (with `accepted_by`) or `declined` in one
/// atomic statement: of concurrent calls, exactly one gets the row.
pub async fn take(
    db: &impl GenericClient,
    pick: Pick<'_>,
    outcome: InvitationStatus,
    accepted_by: Option<Uuid>,
) -> Result<Option<Taken>, DbError> {
    let (hash, id, email): (Option<&[u8]>, Option<Uuid>, Option<&str>) = match pick {
        Pick::Token(hash) => (Some(hash), None, None),
        Pick::ForEmail(id, email) => (None, Some(id), Some(email)),
    };
    let (accepted, pending) = (InvitationStatus::Accepted, InvitationStatus::Pending);
    cached::fetch_opt(db, TAKE, &[&hash, &id, &email, &outcome, &accepted_by, &accepted, &pending]).await
}

/// The current status of an invitation picked the same way (None if there is none).
pub async fn status_of(db: &impl GenericClient, pick: Pick<'_>) -> Result<Option<InvitationStatus>, DbError> {
    match pick {
        Pick::Token(hash) => cached::value_opt(db, STATUS_BY_TOKEN, &[&hash]).await,
        Pick::ForEmail(id, email) => cached::value_opt(db, STATUS_FOR_EMAIL, &[&id, &email]).await,
    }
}

/// Live pending invitations to this email, across orgs, with the org's name.
pub async fn pending_for_email(db: &impl GenericClient, email: &str) -> Result<Vec<MyInvitation>, DbError> {
    cached::fetch(db, PENDING_FOR_EMAIL, &[&email, &InvitationStatus::Pending]).await
}

const ORG_OF: &str = "SELECT org_id FROM invitations WHERE id = $1";

/// The organization of an invitation, if it exists.
pub async fn org_of(db: &impl GenericClient, id: Uuid) -> Result<Option<Uuid>, DbError> {
    cached::value_opt(db, ORG_OF, &[&id]).await
}
