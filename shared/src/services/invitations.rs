//! Invitations as an org sends them: invite an email with roles, list, read, resend, revoke.
//! Taking one up (preview, accept, decline) is `joining`.

use serde_json::json;
use uuid::Uuid;

use crate::auth::tokens::{self};
use crate::db;
use crate::error::{AppError, AppResult, on_constraint};
use crate::mail::templates::Mail;
use crate::models::AuditAction;
use crate::models::{Email, Invitation, InvitationStatus};
use crate::models::{Organization, Page, PageRequest, Permission};
use crate::repositories::invitations::{self, Inviter, NewInvitation};
use crate::repositories::{GenericClient, memberships, organizations, roles};
use crate::services::access::{OrgActor, OrgRead, Principal};
use crate::services::audit::{self};
use crate::services::outbox;
use crate::services::quotas::{self, Hourly};
use crate::state::AppState;

/// A checked invitation to make.
#[derive(Debug)]
pub struct Invite {
    /// Who to invite.
    pub email: Email,
    /// Role names to grant; None for the org's default role.
    pub roles: Option<Vec<String>>,
    /// Lifetime in days, 1 to 30; None for the configured default.
    pub expires_in_days: Option<i64>,
}

/// 404 for an invitation id the org does not have.
pub(crate) fn no_invitation() -> AppError {
    AppError::NotFound("No such invitation.".into())
}

/// Why an invitation could not be taken, from its current status.
pub(crate) fn refusal(status: Option<InvitationStatus>) -> AppError {
    match status {
        None => AppError::NotFound("No invitation has this token; it may have been resent with a new link.".into()),
        Some(InvitationStatus::Expired) => AppError::Gone("This invitation has expired; ask for a new one.".into()),
        Some(InvitationStatus::Revoked) => AppError::Gone("This invitation was revoked.".into()),
        Some(InvitationStatus::Accepted) => AppError::Conflict("This invitation was already accepted.".into()),
        Some(InvitationStatus::Declined) => AppError::Conflict("This invitation was declined.".into()),
        Some(InvitationStatus::Pending) => AppError::Conflict("This invitation cannot be used now.".into()),
    }
}

/// Invites an email with roles the inviter may grant, and queues the mail.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn create(state: &AppState, actor: &OrgActor, req: Invite) -> AppResult<Invitation> {
    let email = req.email.as_str();
    let ttl = req.expires_in_days.unwrap_or(i64::from(state.config().mail.invitation_ttl_days));
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    // Under the organization's lock: the inviter's rights as they are now, and seats counted
    // with no other invitation being written beside this one.
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::InvitationsCreate)?;
    // The checks, the quota's count, the org's name for the mail and retiring stale
    // invitations to this email leave together: one round trip. A refusal rolls the
    // transaction back, the count with it.
    let (found, is_member, org, (), seats, ()) = tokio::try_join!(
        async {
            match &req.roles {
                Some(names) => crate::services::roles::grantable(&tx, actor, names, "Inviting with these roles").await,
                None => Ok(vec![crate::services::roles::default_grantable(&tx, actor).await?]),
            }
        },
        async { Ok(memberships::has_member_with_email(&tx, actor.org_id, email).await?) },
        async { organizations::find(&tx, actor.org_id).await?.ok_or_else(no_invitation) },
        async { Ok(invitations::expire_stale(&tx, actor.org_id, email).await?) },
        async { organizations::seats(&tx, actor.org_id).await?.ok_or_else(no_invitation) },
        quotas::spend(state, &tx, Hourly::InvitationsPerOrg, actor.org_id),
    )?;
    if is_member {
        return Err(AppError::Conflict("This email already belongs to a member of the organization.".into()));
    }
    if let Some(max) = seats.max_members {
        // Seats promised count as taken; accepting checks again, atomically.
        if seats.members + seats.invited >= i64::from(max) {
            return Err(AppError::Conflict(format!(
                "The organization has {} members and {} pending invitations of its {max} seats; \
                 revoke an invitation or ask a platform administrator for more seats.",
                seats.members, seats.invited
            )));
        }
    }
    let token = tokens::generate();
    let role_ids: Vec<Uuid> = found.iter().map(|r| r.id).collect();
    let new = NewInvitation {
        id: Uuid::now_v7(),
        org_id: actor.org_id,
        email,
        role_ids: &role_ids,
        inviter: inviter(actor),
        token_hash: &tokens::hash(&token),
        ttl_days: ttl as i16,
    };
    let invitation = invitations::insert(&tx, &new).await.map_err(on_constraint(
        invitations::ONE_PENDING,
        "This email already has a pending invitation; resend or revoke it.",
    ))?;
    let metadata = json!({"email": email, "roles": invitation.roles, "expires_at": invitation.expires_at});
    let (mail, ()) = tokio::try_join!(queue_mail(state, &tx, &org, actor, &invitation, &token), async {
        Ok(audit::record(&tx, actor, AuditAction::InvitationCreated, invitation.id, metadata).await?)
    },)?;
    tx.commit().await?;
    outbox::send_now(state.into(), &client, mail).await;
    Ok(invitation)
}

/// Who answers for an invitation the actor sends.
fn inviter(actor: &OrgActor) -> Inviter {
    match &actor.principal {
        Principal::Member { user, .. } => Inviter::User(user.id),
        Principal::ApiKey { id, .. } => Inviter::ApiKey(*id),
        Principal::Client { id, .. } => Inviter::Client(*id),
    }
}

async fn queue_mail(
    state: &AppState,
    db: &impl GenericClient,
    org: &Organization,
    actor: &OrgActor,
    invitation: &Invitation,
    token: &str,
) -> AppResult<Uuid> {
    // A key's invitation comes from the organization itself.
    let (inviter_name, inviter_email) = match actor.member() {
        Some(user) => (user.name.clone(), Some(user.email.clone())),
        None => (org.name.clone(), None),
    };
    let mail = Mail::Invitation {
        org_name: org.name.clone(),
        inviter_name,
        inviter_email,
        roles: invitation.roles.clone(),
        expires_at: invitation.expires_at,
        link: format!("{}/invitations/accept?token={token}", state.config().mail.app_base_url),
        org_logo_url: org.logo_url.clone(),
    };
    Ok(outbox::enqueue(db, &invitation.email, &mail).await?)
}

/// The org's invitations, newest first.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn list(
    state: &AppState,
    access: &OrgRead,
    status: Option<InvitationStatus>,
    page: &PageRequest,
) -> AppResult<Page<Invitation>> {
    let after = access.checked(state, page.key::<Uuid>(0)).await?;
    let client = db::client(state.pool()).await?;
    let read = invitations::list(&client, access.org_id(), status, after, page.fetch());
    let rows = access.with(read).await?;
    Ok(Page::from_rows(rows, page, |i| vec![i.id.to_string()]))
}

/// One of the org's invitations.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn get(state: &AppState, access: &OrgRead, id: Uuid) -> AppResult<Invitation> {
    let client = db::client(state.pool()).await?;
    let invitation = access.with(invitations::find(&client, access.org_id(), id)).await?;
    invitation.ok_or_else(no_invitation)
}

/// Sends the invitation again with a new token (older links stop working) and a fresh expiry.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn resend(state: &AppState, actor: &OrgActor, id: Uuid) -> AppResult<Invitation> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::InvitationsCreate)?;
    let (before, org) =
        tokio::try_join!(async { invitations::find(&tx, actor.org_id, id).await?.ok_or_else(no_invitation) }, async {
            organizations::find(&tx, actor.org_id).await?.ok_or_else(no_invitation)
        },)?;
    // Resending is inviting again: the same grant rule as creating, and the resender becomes
    // the inviter the mail names (and whose rights accepting checks).
    let granted: crate::models::PermissionSet = roles::find_by_names(&tx, actor.org_id, &before.roles)
        .await?
        .iter()
        .flat_map(|r| r.permissions.iter())
        .collect();
    actor.require_all(&granted, "Resending an invitation with these roles")?;
    quotas::spend(state, &tx, Hourly::ResendsPerInvitation, id).await?;
    quotas::spend(state, &tx, Hourly::InvitationsPerOrg, actor.org_id).await?;
    let token = tokens::generate();
    let invitation = invitations::rotate(&tx, actor.org_id, id, &tokens::hash(&token), inviter(actor))
        .await
        .map_err(on_constraint(
            invitations::ONE_PENDING,
            "A newer invitation to this email is pending; resend that one.",
        ))?
        .ok_or_else(|| refusal(Some(before.status)))?;
    let metadata = json!({"email": invitation.email, "expires_at": invitation.expires_at});
    let (mail, ()) = tokio::try_join!(queue_mail(state, &tx, &org, actor, &invitation, &token), async {
        Ok(audit::record(&tx, actor, AuditAction::InvitationResent, id, metadata).await?)
    },)?;
    tx.commit().await?;
    outbox::send_now(state.into(), &client, mail).await;
    Ok(invitation)
}

/// Revokes a pending invitation; its link stops working.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn revoke(state: &AppState, actor: &OrgActor, id: Uuid) -> AppResult<Invitation> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::InvitationsRevoke)?;
    let before = invitations::find(&tx, actor.org_id, id).await?.ok_or_else(no_invitation)?;
    let invitation = invitations::revoke(&tx, actor.org_id, id).await?.ok_or_else(|| refusal(Some(before.status)))?;
    audit::record(&tx, actor, AuditAction::InvitationRevoked, id, json!({"email": invitation.email})).await?;
    tx.commit().await?;
    Ok(invitation)
}
