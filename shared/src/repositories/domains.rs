//! The org_domains table: claims, their proof's outcome, and the verified domains enrollment
//! finds for an account.

use const_format::concatcp;
use uuid::Uuid;

use super::reads::Read;
use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::domain::{CHALLENGE_LABEL, CHALLENGE_PREFIX};
use crate::models::{EnrollmentMode, InvitationStatus, OrgDomain};

/// The index that lets one organization only hold a verified domain.
pub const ONE_VERIFIED: &str = "org_domains_verified_idx";
/// The index that lets an organization claim a domain once.
pub const ONE_CLAIM: &str = "org_domains_claim_idx";

/// The columns [`OrgDomain`] maps from, on the alias `d`; a pending claim past its end reads
/// as failed before the scheduled re-check marks it.
const COLUMNS: &str = concatcp!(
    "d.id, d.org_id, d.domain,
     CASE WHEN d.state = 'pending' AND d.expires_at <= now() THEN 'failed' ELSE d.state END AS state,
     d.enrollment_mode, 'TXT' AS record_type, '",
    CHALLENGE_LABEL,
    ".' || d.domain AS record_name, '",
    CHALLENGE_PREFIX,
    "' || d.verification_token AS record_value,
     d.expires_at, d.verified_at, d.last_checked_at, d.last_error, d.created_by, d.created_at, d.updated_at"
);
/// What a claim's pending life is.
const CLAIM_DAYS: &str = "30";

const INSERT: &str = concatcp!(
    "INSERT INTO org_domains AS d (id, org_id, domain, verification_token, expires_at, created_by)
     VALUES ($1, $2, $3, $4, now() + interval '",
    CLAIM_DAYS,
    " days', $5) RETURNING ",
    COLUMNS
);
const COUNT: &str = "SELECT count(*) FROM org_domains WHERE org_id = $1";
const VERIFIED_ELSEWHERE: &str =
    "SELECT EXISTS (SELECT 1 FROM org_domains WHERE domain = $1 AND state = 'verified' AND org_id <> $2)";
const FIND: &str = concatcp!("SELECT ", COLUMNS, " FROM org_domains d WHERE d.org_id = $1 AND d.id = $2");
/// A page, newest first.
const LIST: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    " FROM org_domains d WHERE d.org_id = $1
        AND d.id < COALESCE($2::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')
      ORDER BY d.id DESC LIMIT $3"
);
const SET_MODE: &str = concatcp!(
    "UPDATE org_domains d SET enrollment_mode = $3, updated_at = now() WHERE d.org_id = $1 AND d.id = $2 RETURNING ",
    COLUMNS
);
const DELETE: &str = concatcp!("DELETE FROM org_domains d WHERE d.org_id = $1 AND d.id = $2 RETURNING ", COLUMNS);
/// A lookup that did not prove a live pending claim: when, and why.
const CHECKED: &str = concatcp!(
    "UPDATE org_domains d SET last_checked_at = now(), last_error = $2, updated_at = now()
     WHERE d.id = $1 AND d.state = 'pending' AND d.expires_at > now() RETURNING ",
    COLUMNS
);
/// The proof of a live pending claim; a second organization's meets [`ONE_VERIFIED`].
const VERIFY: &str = concatcp!(
    "UPDATE org_domains d SET state = 'verified', verified_at = now(), expires_at = NULL, last_checked_at = now(),
            last_error = NULL, updated_at = now()
     WHERE d.id = $1 AND d.state = 'pending' AND d.expires_at > now() RETURNING ",
    COLUMNS
);
/// Whether the same refusal was written for this domain and email within the day: a full
/// organization's log says so once a day, not at each sign-in.
const REFUSED_TODAY: &str = "SELECT EXISTS (SELECT 1 FROM audit_log
     WHERE org_id = $1 AND action = 'domain.enrollment_refused' AND target_id = $2
       AND metadata ? 'email' AND metadata ->> 'email' = $3 AND created_at > now() - interval '1 day')";
/// Live pending claims due a look: each is looked at again after a tenth of its age, at least
/// a minute and at most an hour, so a record published just after the claim is found quickly
/// and a claim left for weeks costs a lookup an hour.
const DUE: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    " FROM org_domains d WHERE d.state = 'pending' AND d.expires_at > now()
        AND (d.last_checked_at IS NULL OR d.last_checked_at < now()
             - LEAST(interval '1 hour', GREATEST(interval '1 minute', (now() - d.created_at) / 10)))
      ORDER BY d.last_checked_at NULLS FIRST LIMIT $1"
);
/// Pending claims past their end become failed.
const EXPIRE: &str = concatcp!(
    "UPDATE org_domains d SET state = 'failed', last_error = $1, updated_at = now()
     WHERE d.state = 'pending' AND d.expires_at <= now() RETURNING ",
    COLUMNS
);

/// The verified domains that enroll an account now: its verified email's, of organizations
/// it is not a member of, has never left (or been removed from), and (for invitations) holds
/// no live invitation from and has declined none that the domain made. Empty unless the
/// account is active and its email verified.
const CANDIDATES: &str = "SELECT d.id AS domain_id, d.org_id, o.name AS org_name, d.enrollment_mode AS mode, d.domain,
            u.email
     FROM users u
     JOIN org_domains d ON d.domain = lower(substring(u.email FROM '@([^@]*)$')) AND d.state = 'verified'
                       AND d.enrollment_mode <> 'manual'
     JOIN organizations o ON o.id = d.org_id
     WHERE u.id = $1 AND u.email_verified_at IS NOT NULL AND u.status = 'active'
       AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.org_id = d.org_id AND m.user_id = u.id)
       AND NOT EXISTS (SELECT 1 FROM audit_log a
                       WHERE a.target_id = u.id AND a.org_id = d.org_id AND a.action = 'member.removed')
       AND NOT EXISTS (SELECT 1 FROM invitations i WHERE i.org_id = d.org_id AND lower(i.email) = lower(u.email)
                       AND ((i.status = $2 AND i.expires_at > now())
                            OR (i.status = $3 AND i.invited_by_domain IS NOT NULL)))
     ORDER BY d.org_id";
/// A checked claim to store.
#[derive(Debug)]
pub struct NewClaim<'a> {
    /// UUIDv7.
    pub id: Uuid,
    /// The claiming organization.
    pub org_id: Uuid,
    /// The normalised domain.
    pub domain: &'a str,
    /// The random token its record carries.
    pub token: &'a str,
    /// The member who claimed it.
    pub created_by: Option<Uuid>,
}

/// A verified domain that enrolls an account.
#[derive(Clone, Debug, PartialEq, Eq, postgres_from_row::FromRow)]
pub struct Candidate {
    /// The domain's row.
    pub domain_id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// The organization's name.
    pub org_name: String,
    /// Join or invitation.
    pub mode: EnrollmentMode,
    /// The domain.
    pub domain: String,
    /// The account's email, at it.
    pub email: String,
}

/// Stores a claim.
pub async fn insert(db: &impl GenericClient, new: &NewClaim<'_>) -> Result<OrgDomain, DbError> {
    cached::fetch_one(db, INSERT, &[&new.id, &new.org_id, &new.domain, &new.token, &new.created_by]).await
}

/// How many domains the organization has claimed.
pub async fn count(db: &impl GenericClient, org_id: Uuid) -> Result<i64, DbError> {
    cached::value(db, COUNT, &[&org_id]).await
}

/// Whether another organization than `org_id` holds `domain` verified.
pub async fn verified_elsewhere(db: &impl GenericClient, domain: &str, org_id: Uuid) -> Result<bool, DbError> {
    cached::value(db, VERIFIED_ELSEWHERE, &[&domain, &org_id]).await
}

/// The organization's domain.
#[track_caller]
pub fn find<C: GenericClient>(db: &C, org_id: Uuid, id: Uuid) -> Read<'_, C, Option<OrgDomain>> {
    Read::new(db, FIND, vec![Box::new(org_id), Box::new(id)])
}

/// The organization's domains, newest first, older than `before` if given.
#[track_caller]
pub fn list<C: GenericClient>(db: &C, org_id: Uuid, before: Option<Uuid>, limit: i64) -> Read<'_, C, Vec<OrgDomain>> {
    Read::new(db, LIST, vec![Box::new(org_id), Box::new(before), Box::new(limit)])
}

/// Sets what the domain does once verified.
pub async fn set_mode(
    db: &impl GenericClient,
    org_id: Uuid,
    id: Uuid,
    mode: EnrollmentMode,
) -> Result<Option<OrgDomain>, DbError> {
    cached::fetch_opt(db, SET_MODE, &[&org_id, &id, &mode]).await
}

/// Deletes the domain; what it was.
pub async fn delete(db: &impl GenericClient, org_id: Uuid, id: Uuid) -> Result<Option<OrgDomain>, DbError> {
    cached::fetch_opt(db, DELETE, &[&org_id, &id]).await
}

/// Notes a lookup that did not prove the live pending claim `id`, with why.
pub async fn checked(db: &impl GenericClient, id: Uuid, why: &str) -> Result<Option<OrgDomain>, DbError> {
    cached::fetch_opt(db, CHECKED, &[&id, &why]).await
}

/// Marks the live pending claim `id` verified; a unique violation on [`ONE_VERIFIED`] when
/// another organization holds the domain.
pub async fn verify(db: &impl GenericClient, id: Uuid) -> Result<Option<OrgDomain>, DbError> {
    cached::fetch_opt(db, VERIFY, &[&id]).await
}

/// Up to `limit` live pending claims due a look, least recently looked at first.
pub async fn due(db: &impl GenericClient, limit: i64) -> Result<Vec<OrgDomain>, DbError> {
    cached::fetch(db, DUE, &[&limit]).await
}

/// Marks the pending claims past their end failed, saying `why`; the claims.
pub async fn expire(db: &impl GenericClient, why: &str) -> Result<Vec<OrgDomain>, DbError> {
    cached::fetch(db, EXPIRE, &[&why]).await
}

/// The verified domains that enroll the account `user_id` now, by organization.
pub async fn candidates(db: &impl GenericClient, user_id: Uuid) -> Result<Vec<Candidate>, DbError> {
    let params: [cached::Param; 3] = [&user_id, &InvitationStatus::Pending, &InvitationStatus::Declined];
    cached::fetch(db, CANDIDATES, &params).await
}

/// Whether a refusal to enroll `email` by the domain `domain_id` was written within the day.
pub async fn refused_today(
    db: &impl GenericClient,
    org_id: Uuid,
    domain_id: Uuid,
    email: &str,
) -> Result<bool, DbError> {
    cached::value(db, REFUSED_TODAY, &[&org_id, &domain_id, &email]).await
}
