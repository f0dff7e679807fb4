//! A person who can sign in.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

text_enum! {
    /// Whether a user may sign in.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum UserStatus {
        /// May sign in.
        Active = "active",
        /// Every session ended; may not sign in.
        Disabled = "disabled",
    }
}

/// A user as the API shows it. The password hash lives elsewhere and is never serialized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema, postgres_from_row::FromRow)]
pub struct User {
    /// UUIDv7.
    pub id: Uuid,
    /// In canonical form (NFKC, lower case, punycode domain): one spelling per mailbox.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Whether the email address was proven.
    pub email_verified: bool,
    /// When the email address was proven.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// active or disabled.
    pub status: UserStatus,
    /// May manage every user.
    pub is_platform_admin: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A user with the stored password hash, for sign-in only. Its Debug output hides the hash.
#[derive(Clone, postgres_from_row::FromRow)]
pub struct UserCredentials {
    /// The account, hash aside.
    #[from_row(flatten)]
    pub user: User,
    /// argon2id PHC string, if the user has a password.
    pub password_hash: Option<String>,
    /// The account's security stamp as read with the hash: what a session opened on this
    /// check must still find.
    pub security_stamp: Uuid,
    /// Whether sign-in asks for a second factor after the password.
    pub has_second_factor: bool,
}

impl std::fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredentials").field("user", &self.user).finish_non_exhaustive()
    }
}

/// A live email change as its confirmation page shows it: whose account, from and to where.
#[derive(Debug, postgres_from_row::FromRow)]
pub struct PendingEmailChange {
    /// The account holder's name.
    pub name: String,
    /// The account's address now.
    pub email: String,
    /// The address it would move to.
    pub new_email: String,
}
