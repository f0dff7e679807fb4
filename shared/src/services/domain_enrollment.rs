//! Enrollment by verified domain: when an account's email becomes verified, and when it signs
//! in, each verified domain of its email in `invitation` or `auto_join` mode gives it a pending
//! invitation with the organization's default role (no mail: it waits in `/me/invitations`) or
//! the membership, within the organization's seats. Each happens once: a member, someone who
//! left or was removed, and someone holding (or having declined) such an invitation are left
//! as they are. Audit rows and events say `"source": "domain"`.

use std::net::IpAddr;

use deadpool_postgres::Object;
use serde_json::json;
use uuid::Uuid;

use crate::auth::tokens;
use crate::error::AppResult;
use crate::models::{AuditAction, Enrollment, EnrollmentMode, Role};
use crate::repositories::domains::{self, Candidate};
use crate::repositories::invitations::{self, Inviter, NewInvitation};
use crate::repositories::{GenericClient, memberships, organizations, roles, users};
use crate::services::audit::{self, Attribution};
use crate::state::AppState;

/// Applies the account's verified domains on the caller's connection (never a second one from
/// the pool), in a transaction of its own after the change that verified its email (or the
/// sign-in) committed; what it did, for the pages to say. Nothing, in one statement, for an
/// account no verified domain enrolls.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn enroll(
    state: &AppState,
    client: &mut Object,
    user_id: Uuid,
    ip: Option<IpAddr>,
) -> AppResult<Vec<Enrollment>> {
    if domains::candidates(&*client, user_id).await?.is_empty() {
        return Ok(vec![]);
    }
    let mut tx = client.transaction().await?;
    // The account first, then each organization in id order: the order every write takes.
    // Read again under the account's lock, so an email change or a join meanwhile counts.
    if !users::lock_for_deletion(&tx, user_id).await? {
        return Ok(vec![]);
    }
    let mut done = vec![];
    for candidate in domains::candidates(&tx, user_id).await? {
        let by = Attribution { org_id: candidate.org_id, actor_id: Some(user_id), actor_type: "user", ip };
        if let Some(enrolled) = enroll_in(state, &mut tx, &candidate, user_id, by).await? {
            done.push(enrolled);
        }
    }
    tx.commit().await?;
    if !done.is_empty() {
        tracing::info!(user_id = %user_id, enrollments = done.len(), "enrolled by verified domain");
    }
    Ok(done)
}

/// One organization's enrollment under its lock; None when it did nothing (the organization
/// is gone, full, or an invitation to the email appeared meanwhile).
async fn enroll_in(
    state: &AppState,
    tx: &mut deadpool_postgres::Transaction<'_>,
    candidate: &Candidate,
    user_id: Uuid,
    by: Attribution,
) -> AppResult<Option<Enrollment>> {
    let org_id = candidate.org_id;
    if organizations::lock_seats(&*tx, org_id).await?.is_none() {
        return Ok(None);
    }
    let Some(role) = roles::default_for_org(&*tx, org_id).await? else { return Ok(None) };
    let Some(seats) = organizations::seats(&*tx, org_id).await? else { return Ok(None) };
    let taken = match candidate.mode {
        // A join takes a seat; an invitation promises one, as an admin's does.
        EnrollmentMode::AutoJoin => seats.members,
        _ => seats.members + seats.invited,
    };
    if seats.max_members.is_some_and(|max| taken >= i64::from(max)) {
        refuse(&*tx, candidate, by).await?;
        return Ok(None);
    }
    let enrolled = match candidate.mode {
        EnrollmentMode::AutoJoin => join(&*tx, candidate, &role, user_id, by).await?,
        EnrollmentMode::Invitation => invite(state, tx, candidate, &role, by).await?,
        EnrollmentMode::Manual => false,
    };
    Ok(enrolled.then(|| Enrollment { org_id, org_name: candidate.org_name.clone(), mode: candidate.mode }))
}

/// Makes the account a member with the default role; false if it already is one.
async fn join(
    tx: &impl GenericClient,
    candidate: &Candidate,
    role: &Role,
    user_id: Uuid,
    by: Attribution,
) -> AppResult<bool> {
    if !memberships::insert(tx, candidate.org_id, user_id).await? {
        return Ok(false);
    }
    let metadata = json!({"roles": [role.name], "source": "domain", "domain": candidate.domain});
    let role_ids = [role.id];
    tokio::try_join!(
        memberships::set_roles_and_find(tx, candidate.org_id, user_id, &role_ids),
        audit::record(tx, by, AuditAction::MemberAdded, user_id, metadata),
    )?;
    Ok(true)
}

/// Leaves a pending invitation with the default role for the account's email, never mailed;
/// false if one to that email appeared meanwhile (an admin's, made before this lock).
async fn invite(
    state: &AppState,
    tx: &mut deadpool_postgres::Transaction<'_>,
    candidate: &Candidate,
    role: &Role,
    by: Attribution,
) -> AppResult<bool> {
    invitations::expire_stale(&*tx, candidate.org_id, &candidate.email).await?;
    let new = NewInvitation {
        id: Uuid::now_v7(),
        org_id: candidate.org_id,
        email: &candidate.email,
        role_ids: &[role.id],
        inviter: Inviter::Domain(candidate.domain_id),
        // Taken from /me/invitations by the signed-in account: its token is never sent.
        token_hash: &tokens::hash(&tokens::generate()),
        ttl_days: state.config().mail.invitation_ttl_days,
    };
    // A savepoint, so that meeting another pending invitation leaves the rest standing.
    let savepoint = tx.savepoint("domain_invitation").await?;
    let invitation = match invitations::insert(&savepoint, &new).await {
        Ok(invitation) => invitation,
        Err(err) if err.is_unique(invitations::ONE_PENDING) => {
            savepoint.rollback().await?;
            return Ok(false);
        }
        Err(err) => return Err(err.into()),
    };
    savepoint.commit().await?;
    let metadata = json!({"email": candidate.email, "roles": invitation.roles, "expires_at": invitation.expires_at,
                          "source": "domain", "domain": candidate.domain});
    audit::record(&*tx, by, AuditAction::InvitationCreated, invitation.id, metadata).await?;
    Ok(true)
}

/// Says in the organization's log, once a day per email, that its seats kept someone out.
async fn refuse(tx: &impl GenericClient, candidate: &Candidate, by: Attribution) -> AppResult<()> {
    if domains::refused_today(tx, candidate.org_id, candidate.domain_id, &candidate.email).await? {
        return Ok(());
    }
    let metadata = json!({"domain": candidate.domain, "email": candidate.email,
                          "enrollment_mode": candidate.mode, "reason": "seat_limit"});
    audit::record(tx, by, AuditAction::DomainEnrollmentRefused, candidate.domain_id, metadata).await?;
    tracing::info!(org_id = %candidate.org_id, "domain enrollment refused: the organization's seats are taken");
    Ok(())
}

/// [`enroll`] after a change that has committed (an email verified, a sign-in): it never
/// undoes or fails that change. An error is logged, and the next sign-in tries again.
pub async fn enroll_after(state: &AppState, client: &mut Object, user_id: Uuid, ip: Option<IpAddr>) -> Vec<Enrollment> {
    enroll(state, client, user_id, ip).await.unwrap_or_else(|err| {
        tracing::warn!(user_id = %user_id, error = %err, "enrollment by verified domain failed; the next sign-in tries again");
        vec![]
    })
}
