//! Plain data types, free of SQL and HTTP.

pub mod audit;
pub mod fields;
pub mod invitation;
pub mod organization;
pub mod page;
pub mod permission;
pub mod session;
pub mod user;

pub use audit::{AuditEntry, NewAuditEntry};
pub use fields::{DisplayName, Email, FieldErrors, NewPassword, Password, RoleName, Slug};
pub use invitation::{Accepted, Invitation, InvitationPreview, MyInvitation};
pub use organization::{Member, MyOrganization, Organization, Role};
pub use page::{Page, PageRequest};
pub use permission::{Permission, PermissionSet};
pub use session::{ClientInfo, Session, TokenPair};
pub use user::{User, UserCredentials, UserStatus};
