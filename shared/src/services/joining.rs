//! Taking up an invitation: the token's holder previews it, then accepts (signed in, signing up
//! on the spot, or signing in on the hosted page, with a code when the account has a factor)
//! or declines; a verified user does the same from their own list.

use serde_json::json;
use uuid::Uuid;

use crate::auth::tokens::Opaque;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::models::AuditAction;
use crate::models::{Accepted, ClientInfo, DisplayName, Invitation, InvitationPreview, InvitationStatus};
use crate::models::{ChallengePurpose, MfaRequired, MyInvitation};
use crate::models::{Member, NewPassword, Page, Password, SessionMethod, User};
use crate::repositories::invitations::{self, Pick, Taken};
use crate::repositories::{GenericClient, memberships, organizations, roles, users};
use crate::services::access::Caller;
use crate::services::account;
use crate::services::audit::{self, Attribution};
use crate::services::invitations::{no_invitation, refusal};
use crate::services::ip_limits::{self, Guarded};
use crate::services::second_factor::{self, Proof};
use crate::services::sessions;
use crate::services::sign_in::{self, SignInProof};
use crate::state::AppState;

/// Who accepts an invitation by its mailed token.
#[derive(Debug)]
pub enum Accepting {
    /// The signed-in caller, whose email must be the invited one.
    Member(Box<Caller>),
    /// A new account for the invited email, made in the same transaction; signed in (a
    /// session and tokens) when `sign_in`, as the API does. The hosted page sends the new user
    /// on to the app instead.
    SignUp {
        /// The new account's name.
        name: DisplayName,
        /// Its password.
        password: NewPassword,
        /// Whether to open a session and answer with tokens.
        sign_in: bool,
    },
}

/// 409 for joining an org whose seats are all taken.
fn org_full(max: i32) -> AppError {
    AppError::Conflict(format!(
        "The organization is full: all {max} of its seats are taken. Ask its administrators to free one."
    ))
}

/// The 422 for a string that cannot be an invitation token.
pub fn malformed_token() -> AppError {
    AppError::invalid("token", "is not an invitation token; copy the whole link from the email")
}

/// What the token's holder may see before deciding.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn preview(state: &AppState, token: &Opaque, ip: Option<std::net::IpAddr>) -> AppResult<InvitationPreview> {
    let hash = token.hash();
    ip_limits::check(state, Guarded::Invitation, ip).await?;
    let client = db::client(state.pool()).await?;
    invitations::preview(&client, &hash).await?.ok_or_else(|| refusal(None))
}

/// Accepts with the mailed token: as the signed-in caller (whose email must match), or by
/// creating the account. One transaction: the invitation is consumed, the account (if new)
/// made, the membership and roles added, all or nothing.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn accept(state: &AppState, token: &Opaque, by: Accepting, client_info: ClientInfo) -> AppResult<Accepted> {
    let hash = token.hash();
    ip_limits::check(state, Guarded::Invitation, client_info.ip).await?;
    // A password is hashed before the transaction (it is slow and holds no locks), but only
    // for a token that could be accepted, so a forged one costs no hash.
    let joiner = match by {
        Accepting::Member(caller) => Joiner::Member(caller),
        Accepting::SignUp { name, password, sign_in } => {
            let preview = pending_preview(state, &hash).await?;
            acceptable_by_sign_up(&preview)?;
            // A password account is not made where the organization's provider must sign in.
            let db = db::client(state.pool()).await?;
            sign_in::refuse_password_if_sso_required(&db, &preview.email).await?;
            Joiner::SignUp { name, hash: state.passwords().hash(password.secret()).await?, sign_in }
        }
    };
    join_as(state, &hash, joiner, client_info).await
}

/// What "sign in and join" led to.
#[derive(Debug)]
pub enum Joining {
    /// Joined.
    Joined(Box<Accepted>),
    /// The password was right and the account has a second factor: the code comes next,
    /// with this token ([`accept_with_code`]).
    NeedsCode(MfaRequired),
}

/// The hosted page's "sign in and join": the invited email's account, proven by its password
/// (the login's lockout applies); no session is opened. An account with a second factor joins
/// only once its code is given too.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn accept_with_password(
    state: &AppState,
    token: &Opaque,
    password: &Password,
    client_info: ClientInfo,
) -> AppResult<Joining> {
    let hash = token.hash();
    ip_limits::check(state, Guarded::Invitation, client_info.ip).await?;
    let preview = pending_preview(state, &hash).await?;
    let checked = sign_in::check_password(state, &preview.email, password).await?;
    let proof = match checked.complete() {
        Ok(proof) => proof,
        Err(waiting) => {
            let client = db::client(state.pool()).await?;
            let purpose = ChallengePurpose::Invitation;
            let waiting = second_factor::challenge(state, &client, waiting, purpose, Some(preview.org_id)).await?;
            return Ok(Joining::NeedsCode(waiting));
        }
    };
    let joiner = Joiner::Known(Box::new(proof));
    Ok(Joining::Joined(Box::new(join_as(state, &hash, joiner, client_info).await?)))
}

/// The second step of "sign in and join": the code for the `mfa_token` that step one gave,
/// for an invitation to the same org.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn accept_with_code(
    state: &AppState,
    token: &Opaque,
    mfa_token: &Opaque,
    proof: &Proof,
    client_info: ClientInfo,
) -> AppResult<Accepted> {
    let hash = token.hash();
    ip_limits::check(state, Guarded::Invitation, client_info.ip).await?;
    // A closed invitation is refused before the code is spent.
    let preview = pending_preview(state, &hash).await?;
    let redeemed = second_factor::redeem(state, mfa_token, proof, ChallengePurpose::Invitation).await?;
    if redeemed.org_id() != Some(preview.org_id) {
        return Err(AppError::Unauthorized("The mfa_token belongs to another invitation; sign in again.".into()));
    }
    let (proof, _) = SignInProof::from_code(redeemed);
    let joiner = Joiner::Known(Box::new(proof));
    join_as(state, &hash, joiner, client_info).await
}

/// Who joins once their credentials are checked.
enum Joiner {
    /// The signed-in caller; their session survives the address proof the link makes.
    Member(Box<Caller>),
    /// An existing account proven by its password, and its code when it has a factor.
    Known(Box<SignInProof>),
    /// A new account with this password hash.
    SignUp { name: DisplayName, hash: String, sign_in: bool },
}

/// The accept's transaction: consumes the invitation, makes the account (if new), adds the
/// membership and roles, and opens a session for a sign-up that asked for one.
async fn join_as(state: &AppState, hash: &[u8], joiner: Joiner, client_info: ClientInfo) -> AppResult<Accepted> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let preview = invitations::preview(&tx, hash).await?.ok_or_else(|| refusal(None))?;
    if preview.status != InvitationStatus::Pending {
        return Err(refusal(Some(preview.status)));
    }
    // A session to keep across the join, with the stamp it holds.
    let mut keep = None;
    // A new account that asked to be signed in, with the proof its session needs.
    let mut signing_in = None;
    let user = match joiner {
        Joiner::Member(caller) => {
            same_address(&caller.user, &preview)?;
            keep = Some((caller.session_id, account::lock_caller(&tx, &caller).await?));
            caller.user
        }
        Joiner::Known(proof) => {
            same_address(proof.user(), &preview)?;
            // The password (and code) were checked under this stamp; a change since voids them.
            if !users::lock_under_stamp(&tx, proof.user().id, proof.security_stamp()).await? {
                return Err(sessions::credentials_changed());
            }
            proof.user().clone()
        }
        Joiner::SignUp { name, hash, sign_in } => {
            acceptable_by_sign_up(&preview)?;
            let new = users::NewUser {
                id: Uuid::now_v7(),
                email: &preview.email,
                name: name.as_str(),
                password_hash: Some(&hash),
                email_verified: true,
            };
            let proof = sign_in::create_account(&tx, &new).await?;
            let user = proof.user().clone();
            signing_in = sign_in.then_some(proof);
            user
        }
    };
    // Locks in one order everywhere: the account (above), then the organization, then its
    // invitation (deleting the organization takes it and then its invitations).
    organizations::lock(&tx, preview.org_id).await?;
    let taken = take(&tx, Pick::Token(hash), InvitationStatus::Accepted, Some(user.id)).await?;
    if !invitations::inviter_can_grant(&tx, &taken).await? {
        drop(tx);
        return Err(refuse_ungrantable(&client, &taken, client_info.ip).await);
    }
    let (member, user) = join(&tx, &taken, &user, client_info.ip).await?;
    // The link proved the address: on an account never proven before that replaced its stamp.
    if let Some((session_id, stamp)) = keep {
        crate::repositories::sessions::adopt_stamp(&tx, session_id, stamp).await?;
    }
    let (tokens, invitation) = tokio::try_join!(
        async {
            let Some(proof) = &signing_in else { return Ok(None) };
            Ok(Some(sign_in::open_session(state, &tx, proof, None, &client_info, SessionMethod::Invitation).await?))
        },
        async { invitations::find(&tx, taken.org_id, taken.id).await?.ok_or_else(no_invitation) },
    )?;
    tx.commit().await?;
    // The link proved the address: its verified domains (of other organizations) apply.
    crate::services::domain_enrollment::enroll_after(state, &mut client, user.id, client_info.ip).await;
    let tokens = tokens.map(|open| open.into_pair(state, &user)).transpose()?;
    Ok(Accepted { invitation, member, user, tokens })
}

/// 403 unless the account's address is the invited one (both are stored canonical: NFKC,
/// lower case, punycode domain).
fn same_address(user: &User, preview: &InvitationPreview) -> AppResult<()> {
    if user.email == preview.email {
        Ok(())
    } else {
        Err(AppError::Forbidden("This invitation was sent to another email address than your account's.".into()))
    }
}

/// The token's invitation, read outside any transaction; refused unless pending.
async fn pending_preview(state: &AppState, hash: &[u8]) -> AppResult<InvitationPreview> {
    let client = db::client(state.pool()).await?;
    let preview = invitations::preview(&client, hash).await?.ok_or_else(|| refusal(None))?;
    if preview.status != InvitationStatus::Pending {
        return Err(refusal(Some(preview.status)));
    }
    Ok(preview)
}

/// Refuses a sign-up on an invitation that is not pending or whose email has an account.
fn acceptable_by_sign_up(preview: &InvitationPreview) -> AppResult<()> {
    if preview.status != InvitationStatus::Pending {
        return Err(refusal(Some(preview.status)));
    }
    if preview.account_exists {
        return Err(AppError::Conflict(
            "An account with this email exists: sign in, then accept with your access token.".into(),
        ));
    }
    Ok(())
}

/// Takes a live pending invitation for `outcome`, or says why it cannot be taken.
async fn take(
    tx: &impl GenericClient,
    pick: Pick<'_>,
    outcome: InvitationStatus,
    by: Option<Uuid>,
) -> AppResult<Taken> {
    if let Some(taken) = invitations::take(tx, pick, outcome, by).await? {
        return Ok(taken);
    }
    Err(match (invitations::status_of(tx, pick).await?, pick) {
        (None, Pick::ForEmail(..)) => no_invitation(),
        (status, _) => refusal(status),
    })
}

/// An invitation grants nothing its inviter could not grant when it is accepted: one sent by
/// a member who has since left, lost a permission its roles carry, or been disabled or
/// deleted is refused (409), stays pending, and the refusal is written to the org's audit log
/// (`invitation.refused`) for its admins to see. The accept's own transaction has rolled back;
/// the audit row is its own.
async fn refuse_ungrantable(db: &deadpool_postgres::Object, taken: &Taken, ip: Option<std::net::IpAddr>) -> AppError {
    let actor = Attribution { org_id: taken.org_id, actor_id: None, actor_type: "user", ip };
    let metadata = json!({"email": taken.email, "reason": "inviter_cannot_grant"});
    if let Err(err) = audit::record(db, actor, AuditAction::InvitationRefused, taken.id, metadata).await {
        return err.into();
    }
    tracing::info!(invitation_id = %taken.id, org_id = %taken.org_id, "invitation refused: its inviter can no longer grant it");
    AppError::Conflict(
        "The member who sent this invitation can no longer grant it (they left the organization, lost a \
         permission its roles need, or their account is disabled); ask the organization for a new one."
            .into(),
    )
}

/// Adds the membership with the invitation's roles (those still existing), proves the email
/// (the invitee used a link mailed to it) and audits both.
async fn join(
    tx: &impl GenericClient,
    taken: &Taken,
    user: &User,
    ip: Option<std::net::IpAddr>,
) -> AppResult<(Member, User)> {
    // The org's row is locked before its members are counted, so of many joining at once for
    // the last seat each counts the one before it: exactly one joins.
    if let Some(Some(max)) = organizations::lock_seats(tx, taken.org_id).await?
        && organizations::member_count(tx, taken.org_id).await? >= i64::from(max)
    {
        return Err(org_full(max));
    }
    let (joined, roles) =
        tokio::try_join!(memberships::insert(tx, taken.org_id, user.id), roles::find_by_ids(tx, &taken.role_ids),)?;
    if !joined {
        return Err(AppError::Conflict("You are already a member of this organization.".into()));
    }
    let role_ids: Vec<Uuid> = roles.iter().map(|r| r.id).collect();
    let actor = Attribution { org_id: taken.org_id, actor_id: Some(user.id), actor_type: "user", ip };
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    // None of these depends on another but the member read on their new roles, which
    // set_roles_and_find keeps in order: one round trip for all.
    let (member, verified, (), ()) = tokio::try_join!(
        memberships::set_roles_and_find(tx, taken.org_id, user.id, &role_ids),
        users::mark_email_verified(tx, user.id),
        audit::record(tx, actor, AuditAction::InvitationAccepted, taken.id, json!({"email": taken.email})),
        audit::record(tx, actor, AuditAction::MemberAdded, user.id, json!({"roles": names, "invitation_id": taken.id})),
    )?;
    let member = member.ok_or_else(no_invitation)?;
    let user = verified.unwrap_or_else(|| user.clone());
    Ok((member, user))
}

/// Declines with the mailed token; no sign-in needed.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn decline(state: &AppState, token: &Opaque, ip: Option<std::net::IpAddr>) -> AppResult<Invitation> {
    let hash = token.hash();
    ip_limits::check(state, Guarded::Invitation, ip).await?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let taken = take(&tx, Pick::Token(&hash), InvitationStatus::Declined, None).await?;
    let actor = Attribution { org_id: taken.org_id, actor_id: None, actor_type: "user", ip };
    audit::record(&tx, actor, AuditAction::InvitationDeclined, taken.id, json!({"email": taken.email})).await?;
    let invitation = invitations::find(&tx, taken.org_id, taken.id).await?.ok_or_else(no_invitation)?;
    tx.commit().await?;
    Ok(invitation)
}

fn require_verified(caller: &Caller) -> AppResult<()> {
    if caller.user.email_verified {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Verify your email address first: invitations to it are shown once it is proven yours.".into(),
        ))
    }
}

/// Live invitations to the caller's verified email.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn list_mine(state: &AppState, caller: &Caller) -> AppResult<Page<MyInvitation>> {
    require_verified(caller)?;
    let client = db::client(state.pool()).await?;
    let rows = invitations::pending_for_email(&client, &caller.user.email).await?;
    Ok(Page::all(rows))
}

/// Accepts one of the caller's invitations by id.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn accept_mine(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    ip: Option<std::net::IpAddr>,
) -> AppResult<Accepted> {
    require_verified(caller)?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let pick = Pick::ForEmail(id, &caller.user.email);
    // The organization before its invitation, as everywhere (see join_as).
    if let Some(org_id) = invitations::org_of(&tx, id).await? {
        organizations::lock(&tx, org_id).await?;
    }
    let taken = take(&tx, pick, InvitationStatus::Accepted, Some(caller.user.id)).await?;
    if !invitations::inviter_can_grant(&tx, &taken).await? {
        drop(tx);
        return Err(refuse_ungrantable(&client, &taken, ip).await);
    }
    let (member, user) = join(&tx, &taken, &caller.user, ip).await?;
    let invitation = invitations::find(&tx, taken.org_id, taken.id).await?.ok_or_else(no_invitation)?;
    tx.commit().await?;
    Ok(Accepted { invitation, member, user, tokens: None })
}

/// Declines one of the caller's invitations by id.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn decline_mine(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    ip: Option<std::net::IpAddr>,
) -> AppResult<Invitation> {
    require_verified(caller)?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let pick = Pick::ForEmail(id, &caller.user.email);
    let taken = take(&tx, pick, InvitationStatus::Declined, None).await?;
    let actor = Attribution { org_id: taken.org_id, actor_id: Some(caller.user.id), actor_type: "user", ip };
    audit::record(&tx, actor, AuditAction::InvitationDeclined, taken.id, json!({"email": taken.email})).await?;
    let invitation = invitations::find(&tx, taken.org_id, taken.id).await?.ok_or_else(no_invitation)?;
    tx.commit().await?;
    Ok(invitation)
}
