//! Invitations to join an organization.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

text_enum! {
    /// Where an invitation stands. A pending one past its expiry reads as expired.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum InvitationStatus {
        /// Waiting for its invitee.
        Pending = "pending",
        /// Its invitee joined.
        Accepted = "accepted",
        /// Its invitee said no.
        Declined = "declined",
        /// The org withdrew it.
        Revoked = "revoked",
        /// Its time ran out.
        Expired = "expired",
    }
}

/// An invitation as its organization's admins see it. The token is never part of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct Invitation {
    /// UUIDv7.
    pub id: Uuid,
    /// The inviting organization.
    pub org_id: Uuid,
    /// Who is invited.
    pub email: String,
    /// Role names the invitee gets on accepting.
    pub roles: Vec<String>,
    /// Who invited.
    pub invited_by: Option<Uuid>,
    /// Where it stands.
    pub status: InvitationStatus,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Who accepted it.
    pub accepted_by: Option<Uuid>,
    /// When.
    pub accepted_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What the holder of an invitation token may see before accepting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct InvitationPreview {
    /// The invitation's id.
    pub id: Uuid,
    /// The organization.
    pub org_id: Uuid,
    /// Its name.
    pub org_name: String,
    /// Its logo, if it set one.
    pub org_logo_url: Option<String>,
    /// Who invited.
    pub inviter_name: Option<String>,
    /// Who is invited.
    pub email: String,
    /// Role names granted on accepting.
    pub roles: Vec<String>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Where it stands.
    pub status: InvitationStatus,
    /// Whether an account with the invited email exists (then accept needs a sign-in).
    pub account_exists: bool,
}

/// What accepting produced.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Accepted {
    /// The accepted invitation.
    pub invitation: Invitation,
    /// The new membership.
    pub member: crate::models::Member,
    /// The user who joined.
    pub user: crate::models::User,
    /// Tokens, when accepting created the account (sign-in is part of sign-up).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<crate::models::TokenPair>,
}

/// A pending invitation as its invitee sees it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct MyInvitation {
    /// The invitation.
    #[serde(flatten)]
    #[from_row(flatten)]
    pub invitation: Invitation,
    /// The inviting org's name.
    pub org_name: String,
}
