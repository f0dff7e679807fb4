//! Plain data types, free of SQL and HTTP.

pub mod audit;
pub mod invitation;
pub mod organization;
pub mod permission;
pub mod session;
pub mod user;

pub use audit::{AuditEntry, NewAuditEntry};
pub use invitation::{Invitation, InvitationPreview};
pub use organization::{Member, MyOrganization, Organization, Role};
pub use permission::{Permission, PermissionSet};
pub use session::{ClientInfo, Session};
pub use user::{User, UserCredentials, UserStatus};
