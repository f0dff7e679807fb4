//! Audit log entries.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// One recorded change.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct AuditEntry {
    /// UUIDv7; entries sort by it.
    pub id: Uuid,
    /// The org it concerns.
    pub org_id: Option<Uuid>,
    /// Who did it: a user's id, or an API key's.
    pub actor_id: Option<Uuid>,
    /// `user` or `api_key`: what `actor_id` names.
    pub actor_type: String,
    /// e.g. `member.roles_changed`.
    pub action: String,
    /// e.g. `member`, `role`, `organization`.
    pub target_type: String,
    /// The changed object's id.
    pub target_id: Option<Uuid>,
    /// Details: before/after values, names.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// The actor's address.
    #[schema(value_type = Option<String>, example = "203.0.113.10")]
    pub ip: Option<IpAddr>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// What an audit row records. Its name is the row's `action`; the kind of object it concerns
/// (`target_type`) follows from it, so the two can never disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// An organization was created.
    OrgCreated,
    /// Its name, slug, default role or policy changed (before and after).
    OrgUpdated,
    /// Whether members need a second factor changed.
    OrgMfaPolicyChanged,
    /// A platform admin changed its seat limit.
    OrgLimitsChanged,
    /// The organization was deleted; its log is kept.
    OrgDeleted,
    /// Someone joined (by creating the org or by an invitation).
    MemberAdded,
    /// A member was removed, left, or deleted their account.
    MemberRemoved,
    /// A member's roles were replaced.
    MemberRolesChanged,
    /// A custom role was created.
    RoleCreated,
    /// A custom role's name or permissions changed.
    RoleUpdated,
    /// A custom role was deleted.
    RoleDeleted,
    /// An API key was created.
    ApiKeyCreated,
    /// An API key's name or permissions changed.
    ApiKeyUpdated,
    /// An API key was rotated: a new key took its place, the old one works until its overlap ends.
    ApiKeyRotated,
    /// An API key was revoked.
    ApiKeyRevoked,
    /// An OAuth client was registered.
    ClientCreated,
    /// An OAuth client's name, permissions, token lifetime or keys changed.
    ClientUpdated,
    /// An OAuth client was deleted; its tokens stop working.
    ClientDeleted,
    /// A secret was added to an OAuth client.
    ClientSecretAdded,
    /// A secret of an OAuth client was removed.
    ClientSecretRemoved,
    /// An invitation was sent.
    InvitationCreated,
    /// An invitation was sent again with a new link.
    InvitationResent,
    /// An invitation was withdrawn.
    InvitationRevoked,
    /// The invitee joined.
    InvitationAccepted,
    /// The invitee declined.
    InvitationDeclined,
    /// An accept was refused: the inviter can no longer grant what it grants.
    InvitationRefused,
    /// Sessions were ended by their user or an admin.
    SessionRevoked,
    /// An account was made (by registering, or by accepting an invitation with a password).
    UserCreated,
    /// A platform admin changed an account.
    UserUpdated,
    /// An account was deleted.
    UserDeleted,
    /// An account's sign-in address changed.
    UserEmailChanged,
    /// A pending address change was cancelled.
    UserEmailChangeCancelled,
    /// A second factor was activated.
    UserMfaEnrolled,
    /// A second factor was removed.
    UserMfaRemoved,
    /// A platform admin removed an account's second factors.
    UserMfaReset,
    /// New recovery codes replaced the old.
    UserRecoveryCodesRegenerated,
    /// A webhook endpoint was made.
    WebhookEndpointCreated,
    /// A webhook endpoint's URL, description, event types or state changed.
    WebhookEndpointUpdated,
    /// A webhook endpoint was deleted, with its pending deliveries.
    WebhookEndpointDeleted,
    /// A webhook endpoint's signing secret was rotated; the old one signs until the overlap ends.
    WebhookEndpointSecretRotated,
    /// The sender disabled a webhook endpoint: it answered 410, or failed every attempt for five days.
    WebhookEndpointDisabled,
    /// A domain was claimed; its TXT record is to be published.
    DomainCreated,
    /// A verified domain's enrollment mode changed.
    DomainUpdated,
    /// A domain's TXT record proved it: the organization holds it.
    DomainVerified,
    /// A claim ended unproven after 30 days.
    DomainVerificationFailed,
    /// A domain was deleted; people at it join no more.
    DomainDeleted,
    /// A verified domain would have enrolled someone, but the organization's seats are taken.
    DomainEnrollmentRefused,
    /// An identity provider was connected.
    SsoConnectionCreated,
    /// A connection's settings or status changed (before and after; never its secret).
    SsoConnectionUpdated,
    /// A connection was deleted; the identities it linked with it.
    SsoConnectionDeleted,
    /// An admin tested a connection: what the provider sent, and what a sign-in would do.
    SsoConnectionTested,
    /// An account was linked to an identity at the organization's provider (an existing
    /// account with that verified email, or one the sign-in created).
    UserSsoLinked,
}

impl AuditAction {
    /// Every action, in the order above.
    pub const ALL: [AuditAction; 52] = [
        AuditAction::OrgCreated,
        AuditAction::OrgUpdated,
        AuditAction::OrgMfaPolicyChanged,
        AuditAction::OrgLimitsChanged,
        AuditAction::OrgDeleted,
        AuditAction::MemberAdded,
        AuditAction::MemberRemoved,
        AuditAction::MemberRolesChanged,
        AuditAction::RoleCreated,
        AuditAction::RoleUpdated,
        AuditAction::RoleDeleted,
        AuditAction::ApiKeyCreated,
        AuditAction::ApiKeyUpdated,
        AuditAction::ApiKeyRotated,
        AuditAction::ApiKeyRevoked,
        AuditAction::ClientCreated,
        AuditAction::ClientUpdated,
        AuditAction::ClientDeleted,
        AuditAction::ClientSecretAdded,
        AuditAction::ClientSecretRemoved,
        AuditAction::InvitationCreated,
        AuditAction::InvitationResent,
        AuditAction::InvitationRevoked,
        AuditAction::InvitationAccepted,
        AuditAction::InvitationDeclined,
        AuditAction::InvitationRefused,
        AuditAction::SessionRevoked,
        AuditAction::UserCreated,
        AuditAction::UserUpdated,
        AuditAction::UserDeleted,
        AuditAction::UserEmailChanged,
        AuditAction::UserEmailChangeCancelled,
        AuditAction::UserMfaEnrolled,
        AuditAction::UserMfaRemoved,
        AuditAction::UserMfaReset,
        AuditAction::UserRecoveryCodesRegenerated,
        AuditAction::WebhookEndpointCreated,
        AuditAction::WebhookEndpointUpdated,
        AuditAction::WebhookEndpointDeleted,
        AuditAction::WebhookEndpointSecretRotated,
        AuditAction::WebhookEndpointDisabled,
        AuditAction::DomainCreated,
        AuditAction::DomainUpdated,
        AuditAction::DomainVerified,
        AuditAction::DomainVerificationFailed,
        AuditAction::DomainDeleted,
        AuditAction::DomainEnrollmentRefused,
        AuditAction::SsoConnectionCreated,
        AuditAction::SsoConnectionUpdated,
        AuditAction::SsoConnectionDeleted,
        AuditAction::SsoConnectionTested,
        AuditAction::UserSsoLinked,
    ];

    /// The `action` column's value, e.g. `member.roles_changed`.
    pub const fn name(self) -> &'static str {
        match self {
            AuditAction::OrgCreated => "org.created",
            AuditAction::OrgUpdated => "org.updated",
            AuditAction::OrgMfaPolicyChanged => "org.mfa_policy_changed",
            AuditAction::OrgLimitsChanged => "org.limits_changed",
            AuditAction::OrgDeleted => "org.deleted",
            AuditAction::MemberAdded => "member.added",
            AuditAction::MemberRemoved => "member.removed",
            AuditAction::MemberRolesChanged => "member.roles_changed",
            AuditAction::RoleCreated => "role.created",
            AuditAction::RoleUpdated => "role.updated",
            AuditAction::RoleDeleted => "role.deleted",
            AuditAction::ApiKeyCreated => "api_key.created",
            AuditAction::ApiKeyUpdated => "api_key.updated",
            AuditAction::ApiKeyRotated => "api_key.rotated",
            AuditAction::ApiKeyRevoked => "api_key.revoked",
            AuditAction::ClientCreated => "client.created",
            AuditAction::ClientUpdated => "client.updated",
            AuditAction::ClientDeleted => "client.deleted",
            AuditAction::ClientSecretAdded => "client.secret_added",
            AuditAction::ClientSecretRemoved => "client.secret_removed",
            AuditAction::InvitationCreated => "invitation.created",
            AuditAction::InvitationResent => "invitation.resent",
            AuditAction::InvitationRevoked => "invitation.revoked",
            AuditAction::InvitationAccepted => "invitation.accepted",
            AuditAction::InvitationDeclined => "invitation.declined",
            AuditAction::InvitationRefused => "invitation.refused",
            AuditAction::SessionRevoked => "session.revoked",
            AuditAction::UserCreated => "user.created",
            AuditAction::UserUpdated => "user.updated",
            AuditAction::UserDeleted => "user.deleted",
            AuditAction::UserEmailChanged => "user.email_changed",
            AuditAction::UserEmailChangeCancelled => "user.email_change_cancelled",
            AuditAction::UserMfaEnrolled => "user.mfa_enrolled",
            AuditAction::UserMfaRemoved => "user.mfa_removed",
            AuditAction::UserMfaReset => "user.mfa_reset",
            AuditAction::UserRecoveryCodesRegenerated => "user.recovery_codes_regenerated",
            AuditAction::WebhookEndpointCreated => "webhook_endpoint.created",
            AuditAction::WebhookEndpointUpdated => "webhook_endpoint.updated",
            AuditAction::WebhookEndpointDeleted => "webhook_endpoint.deleted",
            AuditAction::WebhookEndpointSecretRotated => "webhook_endpoint.secret_rotated",
            AuditAction::WebhookEndpointDisabled => "webhook_endpoint.disabled",
            AuditAction::DomainCreated => "domain.created",
            AuditAction::DomainUpdated => "domain.updated",
            AuditAction::DomainVerified => "domain.verified",
            AuditAction::DomainVerificationFailed => "domain.verification_failed",
            AuditAction::DomainDeleted => "domain.deleted",
            AuditAction::DomainEnrollmentRefused => "domain.enrollment_refused",
            AuditAction::SsoConnectionCreated => "sso_connection.created",
            AuditAction::SsoConnectionUpdated => "sso_connection.updated",
            AuditAction::SsoConnectionDeleted => "sso_connection.deleted",
            AuditAction::SsoConnectionTested => "sso_connection.tested",
            AuditAction::UserSsoLinked => "user.sso_linked",
        }
    }

    /// The type of the event this change writes beside its audit row (the events feed and
    /// webhooks speak of organizations, memberships and M2M clients).
    pub const fn event_type(self) -> &'static str {
        match self {
            AuditAction::OrgCreated => "organization.created",
            AuditAction::OrgUpdated | AuditAction::OrgMfaPolicyChanged | AuditAction::OrgLimitsChanged => {
                "organization.updated"
            }
            AuditAction::OrgDeleted => "organization.deleted",
            AuditAction::MemberAdded => "organization_membership.created",
            AuditAction::MemberRemoved => "organization_membership.deleted",
            AuditAction::MemberRolesChanged => "organization_membership.updated",
            AuditAction::ClientCreated => "m2m_client.created",
            AuditAction::ClientUpdated => "m2m_client.updated",
            AuditAction::ClientDeleted => "m2m_client.deleted",
            AuditAction::ClientSecretAdded => "m2m_client.secret_added",
            AuditAction::ClientSecretRemoved => "m2m_client.secret_removed",
            AuditAction::UserMfaEnrolled => "mfa_factor.created",
            AuditAction::UserMfaRemoved | AuditAction::UserMfaReset => "mfa_factor.deleted",
            AuditAction::UserRecoveryCodesRegenerated => "mfa_factor.recovery_codes_regenerated",
            AuditAction::DomainCreated => "organization_domain.created",
            AuditAction::DomainUpdated => "organization_domain.updated",
            AuditAction::DomainVerified => "organization_domain.verified",
            AuditAction::DomainVerificationFailed => "organization_domain.verification_failed",
            AuditAction::DomainDeleted => "organization_domain.deleted",
            AuditAction::DomainEnrollmentRefused => "organization_domain.enrollment_refused",
            // Roles, API keys, invitations, sessions, users, webhook endpoints and SSO
            // connections: as audited.
            action => action.name(),
        }
    }

    /// The `target_type` column's value: the kind of object the action concerns.
    pub const fn target_type(self) -> &'static str {
        match self {
            AuditAction::OrgCreated
            | AuditAction::OrgUpdated
            | AuditAction::OrgMfaPolicyChanged
            | AuditAction::OrgLimitsChanged
            | AuditAction::OrgDeleted => "organization",
            AuditAction::MemberAdded | AuditAction::MemberRemoved | AuditAction::MemberRolesChanged => "member",
            AuditAction::RoleCreated | AuditAction::RoleUpdated | AuditAction::RoleDeleted => "role",
            AuditAction::ApiKeyCreated
            | AuditAction::ApiKeyUpdated
            | AuditAction::ApiKeyRotated
            | AuditAction::ApiKeyRevoked => "api_key",
            AuditAction::ClientCreated
            | AuditAction::ClientUpdated
            | AuditAction::ClientDeleted
            | AuditAction::ClientSecretAdded
            | AuditAction::ClientSecretRemoved => "client",
            AuditAction::InvitationCreated
            | AuditAction::InvitationResent
            | AuditAction::InvitationRevoked
            | AuditAction::InvitationAccepted
            | AuditAction::InvitationDeclined
            | AuditAction::InvitationRefused => "invitation",
            AuditAction::SessionRevoked => "session",
            AuditAction::UserCreated
            | AuditAction::UserUpdated
            | AuditAction::UserDeleted
            | AuditAction::UserEmailChanged
            | AuditAction::UserEmailChangeCancelled
            | AuditAction::UserMfaReset
            | AuditAction::UserRecoveryCodesRegenerated => "user",
            AuditAction::UserMfaEnrolled | AuditAction::UserMfaRemoved => "mfa_factor",
            AuditAction::WebhookEndpointCreated
            | AuditAction::WebhookEndpointUpdated
            | AuditAction::WebhookEndpointDeleted
            | AuditAction::WebhookEndpointSecretRotated
            | AuditAction::WebhookEndpointDisabled => "webhook_endpoint",
            AuditAction::DomainCreated
            | AuditAction::DomainUpdated
            | AuditAction::DomainVerified
            | AuditAction::DomainVerificationFailed
            | AuditAction::DomainDeleted
            | AuditAction::DomainEnrollmentRefused => "domain",
            AuditAction::SsoConnectionCreated
            | AuditAction::SsoConnectionUpdated
            | AuditAction::SsoConnectionDeleted
            | AuditAction::SsoConnectionTested => "sso_connection",
            AuditAction::UserSsoLinked => "user",
        }
    }
}

/// A change to record, written in the same transaction as the change.
#[derive(Clone, Debug)]
pub struct NewAuditEntry {
    /// The org it concerns; None for an account's own events (sessions, email, deletion).
    pub org_id: Option<Uuid>,
    /// Who did it; None for an anonymous caller (declining an invitation by its token).
    pub actor_id: Option<Uuid>,
    /// `user` or `api_key`.
    pub actor_type: &'static str,
    /// What happened.
    pub action: AuditAction,
    /// Its id.
    pub target_id: Uuid,
    /// Details.
    pub metadata: serde_json::Value,
    /// The actor's address.
    pub ip: Option<IpAddr>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_distinct_and_name_their_kind() {
        let names: std::collections::HashSet<_> = AuditAction::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(names.len(), AuditAction::ALL.len());
        for action in AuditAction::ALL {
            let (family, _) = action.name().split_once('.').unwrap();
            let kind = action.target_type();
            assert!(kind.starts_with(family) || family == "user" || family == "org", "{action:?}: {kind}");
        }
    }
}
