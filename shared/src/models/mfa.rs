//! Second factors as their owner sees them, and the answers of enrolment and of a sign-in that
//! waits for a code. A factor's secret never leaves the service that seals it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::models::TokenPair;

crate::models::text_enum::text_enum! {
    /// What kind of second factor.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum FactorKind {
        /// An RFC 6238 authenticator app (SHA-1, 6 digits, 30 s).
        Totp = "totp",
    }
}

crate::models::text_enum::text_enum! {
    /// Whether a factor has been proven.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum FactorStatus {
        /// Enrolled, waiting for its first code; not asked for at sign-in.
        Pending = "pending",
        /// Proven by a code; asked for at every sign-in.
        Active = "active",
    }
}

crate::models::text_enum::text_enum! {
    /// What a sign-in waiting for its code will do once the code is right.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum ChallengePurpose {
        /// Issue tokens (POST /auth/login, then POST /auth/mfa/verify).
        Login = "login",
        /// Accept an invitation (the hosted page's "sign in and join").
        Invitation = "invitation",
        /// Finish a sign-in at an organization's identity provider with the account's own
        /// factor (the hosted sign-in's code step).
        SsoLogin = "sso_login",
    }
}

/// A second factor, without its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct Factor {
    /// UUIDv7.
    pub id: Uuid,
    /// Its kind.
    #[serde(rename = "type")]
    pub kind: FactorKind,
    /// Pending until its first code is verified.
    pub status: FactorStatus,
    /// Enrolment time.
    pub created_at: DateTime<Utc>,
    /// When its first code was verified.
    pub activated_at: Option<DateTime<Utc>>,
    /// When a code of it was last accepted.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Answer of POST /me/mfa/totp: the new pending factor and what an authenticator app needs.
/// Shown once; the secret is stored only sealed.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct TotpEnrolment {
    /// The pending factor (its fields at the top level).
    #[serde(flatten)]
    pub factor: Factor,
    /// The shared secret in base32, for typing into an app.
    pub secret: String,
    /// `otpauth://totp/...` URI, what the QR code holds.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrolment").field("factor", &self.factor).finish_non_exhaustive()
    }
}

/// A new set of recovery codes, each good for one sign-in; shown once, stored hashed.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Ten codes, `xxxxx-xxxxx`.
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCodes([REDACTED])")
    }
}

/// Answer of POST /me/mfa/totp/{id}/verify: the factor, now active, and the recovery codes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FactorActivated {
    /// The factor, active (its fields at the top level).
    #[serde(flatten)]
    pub factor: Factor,
    /// Ten single-use recovery codes, shown this once.
    #[serde(flatten)]
    pub codes: RecoveryCodes,
    /// Other sessions ended: they began with the password alone.
    pub sessions_ended: usize,
}

/// Answer of GET /me/mfa.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MfaFactors {
    /// The caller's factors, oldest first.
    pub items: Vec<Factor>,
    /// Always null: a user has few factors.
    pub next_cursor: Option<String>,
    /// Unused recovery codes.
    pub recovery_codes_remaining: i64,
}

/// Login's answer for an account with an active factor: the password was right, and tokens
/// come from POST /auth/mfa/verify with this token and a code.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct MfaRequired {
    /// Always true.
    pub mfa_required: bool,
    /// Opaque, single-use; good for a few codes within `expires_in` seconds.
    pub mfa_token: String,
    /// Seconds the token stays usable.
    pub expires_in: u64,
    /// The kinds of factor that may answer (`totp`; a recovery code always may).
    pub factors: Vec<FactorKind>,
}

impl std::fmt::Debug for MfaRequired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaRequired").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// Answer of POST /auth/login: tokens, or the second step for an account with a factor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum SignInAnswer {
    /// Signed in.
    Tokens(TokenPair),
    /// The password was right; a code is needed.
    MfaRequired(MfaRequired),
}
