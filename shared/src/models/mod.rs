//! Plain data types: what services take and give back. Rows map onto them by column name
//! (`FromRow`), with no SQL here.

#[macro_use]
pub mod text_enum;

pub mod api_key;
pub mod audit;
pub mod domain;
pub mod event;
pub mod fields;
pub mod invitation;
pub mod mfa;
pub mod oauth_client;
pub mod organization;
pub mod page;
pub mod permission;
pub mod redirect_uris;
pub mod reply;
pub mod session;
pub mod sso;
pub mod user;
pub mod webhook;

pub use api_key::{ApiKey, CreatedApiKey, KeyCaller};
pub use audit::{AuditAction, AuditEntry, NewAuditEntry};
pub use domain::{DomainChallenge, DomainState, Enrollment, EnrollmentMode, OrgDomain};
pub use event::{Event, EventActor, EventPage};
pub use fields::{DisplayName, Email, FieldErrors, NewPassword, Password, RoleName, Slug};
pub use invitation::{Accepted, Invitation, InvitationPreview, InvitationStatus, MyInvitation};
pub use mfa::{
    ChallengePurpose, Factor, FactorActivated, FactorKind, FactorStatus, MfaFactors, MfaRequired, RecoveryCodes,
    SignInAnswer, TotpEnrolment,
};
pub use oauth_client::{ClientSecret, CreatedClient, CreatedSecret, Grantee, OAuthClient};
pub use organization::{Member, MyOrganization, Organization, Role};
pub use page::{Page, PageRequest};
pub use permission::{Permission, PermissionSet};
pub use reply::{Message, SessionsRevoked};
pub use session::{ClientInfo, Session, SessionMethod, TokenPair};
pub use sso::{
    ConnectionChanges, ConnectionStatus, ConnectionTest, NewConnection, ProviderMetadata, SsoConnection, TestReport,
};
pub use user::{PendingEmailChange, User, UserCredentials, UserStatus};
pub use webhook::{CreatedWebhookEndpoint, RotatedWebhookSecret, WebhookDelivery, WebhookEndpoint};
