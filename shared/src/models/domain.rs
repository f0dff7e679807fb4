//! An organization's email domains: claimed, proven by a DNS TXT record, and what a verified
//! one does for people whose verified email is at it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The name under the domain where the proof is published.
pub const CHALLENGE_LABEL: &str = "_identity-challenge";
/// What the TXT record's one whole string starts with; the claim's token follows.
pub const CHALLENGE_PREFIX: &str = "identity-domain-verification=";

text_enum! {
    /// Where a claim stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum DomainState {
        /// Waiting for its TXT record (until `expires_at`).
        Pending = "pending",
        /// Proven: this organization holds the domain.
        Verified = "verified",
        /// Not proven within 30 days; delete it and claim again.
        Failed = "failed",
    }
}

text_enum! {
    /// What a verified domain does for someone whose verified email is at it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum EnrollmentMode {
        /// Nothing automatic.
        Manual = "manual",
        /// A pending invitation with the default role in their `/me/invitations` (no mail).
        Invitation = "invitation",
        /// They become a member with the default role.
        AutoJoin = "auto_join",
    }
}

/// A claimed domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct OrgDomain {
    /// UUIDv7.
    pub id: Uuid,
    /// The organization that claims it.
    pub org_id: Uuid,
    /// Lower-case ASCII (an internationalised name in its `xn--` form), no trailing dot.
    #[schema(example = "example.com")]
    pub domain: String,
    /// `pending`, `verified` or `failed`.
    pub state: DomainState,
    /// What it does once verified.
    pub enrollment_mode: EnrollmentMode,
    /// The TXT record that proves the claim.
    #[from_row(flatten)]
    pub verification: DomainChallenge,
    /// When a pending claim ends unproven.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was proven.
    pub verified_at: Option<DateTime<Utc>>,
    /// When its record was last looked up.
    pub last_checked_at: Option<DateTime<Utc>>,
    /// Why the last lookup did not prove it.
    #[schema(example = "No TXT record at _identity-challenge.example.com.")]
    pub last_error: Option<String>,
    /// The member who claimed it.
    pub created_by: Option<Uuid>,
    /// When it was claimed.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The TXT record to publish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct DomainChallenge {
    /// Always `TXT`.
    #[schema(example = "TXT")]
    pub record_type: String,
    /// Where: `_identity-challenge.` and the domain.
    #[schema(example = "_identity-challenge.example.com")]
    pub record_name: String,
    /// Its one whole string.
    #[schema(example = "identity-domain-verification=8gJ0uWZ3b7pA6Q2k1nLr4tXy9cVe5sDf0hGj3kMn7pQ")]
    pub record_value: String,
}

/// What a verified domain did for someone whose email became verified or who signed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Enrollment {
    /// The organization.
    pub org_id: Uuid,
    /// Its name.
    pub org_name: String,
    /// `auto_join`: they are a member; `invitation`: an invitation waits in `/me/invitations`.
    pub mode: EnrollmentMode,
}
