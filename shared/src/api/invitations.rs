//! Bodies and queries of the invitation routes, each parsed into what its service takes.

use secrecy::SecretString;
use serde::Deserialize;

use crate::auth::tokens::Opaque;
use crate::error::{AppError, AppResult};
use crate::models::{DisplayName, Email, FieldErrors, InvitationStatus, NewPassword, PageRequest};
use crate::services::access::Caller;
use crate::services::invitations::Invite;
use crate::services::joining::{self, Accepting};

/// Body of POST /orgs/{org}/invitations.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateInvitation {
    /// Who to invite.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
    /// Role names granted on accepting; without it, the org's default role. An empty list
    /// is refused.
    #[schema(min_items = 1)]
    pub roles: Option<Vec<String>>,
    /// Lifetime, 1 to 30 days (default 7).
    #[schema(minimum = 1, maximum = 30)]
    pub expires_in_days: Option<i64>,
}

impl CreateInvitation {
    /// The checked invitation, or a 422 naming each invalid field.
    pub fn parse(self) -> AppResult<Invite> {
        let mut fields = FieldErrors::default();
        let email = fields.check("email", Email::parse(&self.email));
        if self.expires_in_days.is_some_and(|days| !(1..=30).contains(&days)) {
            fields.push("expires_in_days", "must be from 1 to 30");
        }
        if self.roles.as_ref().is_some_and(Vec::is_empty) {
            // A member with no role could not even read the org.
            fields.push("roles", "must name at least one role; leave it out to grant the default role");
        }
        let (roles, expires_in_days) = (self.roles, self.expires_in_days);
        fields.finish(|| Some(Invite { email: email?, roles, expires_in_days }))
    }
}

/// Query of GET /orgs/{org}/invitations.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvitationQuery {
    /// Only this status.
    #[param(value_type = Option<InvitationStatus>)]
    pub status: Option<String>,
    /// Page size.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Cursor.
    pub cursor: Option<String>,
}

impl InvitationQuery {
    /// The status to filter by (None for all) and the page, or a 422.
    pub fn parse(&self) -> AppResult<(Option<InvitationStatus>, PageRequest)> {
        let page = PageRequest::parse(self.limit.as_deref(), self.cursor.as_deref())?;
        // An empty `status=` is no status the schema allows: refused like any other.
        let status = match self.status.as_deref() {
            None => None,
            Some(raw) => Some(InvitationStatus::parse(raw).ok_or_else(|| {
                AppError::invalid("status", "must be pending, accepted, declined, revoked or expired")
            })?),
        };
        Ok((status, page))
    }
}

/// Body of POST /invitations/accept.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AcceptRequest {
    /// The token from the invitation link.
    #[schema(value_type = String, format = Password, pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: SecretString,
    /// For a new account: its display name.
    #[schema(value_type = Option<DisplayName>)]
    pub name: Option<String>,
    /// For a new account: its password.
    #[schema(value_type = Option<String>, format = Password, min_length = 8, max_length = 1024)]
    pub password: Option<SecretString>,
}

/// What a sign-up on accept is told of a missing field.
const SIGN_UP_NEEDS: &str = "is required to create your account (or sign in and send your access token)";

impl AcceptRequest {
    /// The token and who accepts: the signed-in `caller`, whose name and password fields are
    /// ignored, or a sign-up, which needs both. A malformed token is refused first.
    pub fn parse(self, caller: Option<Caller>) -> AppResult<(Opaque, Accepting)> {
        let token = Opaque::parse(self.token).ok_or_else(joining::malformed_token)?;
        if let Some(caller) = caller {
            return Ok((token, Accepting::Member(Box::new(caller))));
        }
        let mut fields = FieldErrors::default();
        let name = match self.name {
            Some(name) => fields.check("name", DisplayName::parse(&name)),
            None => fields.check("name", Err(SIGN_UP_NEEDS.into())),
        };
        let password = match self.password {
            Some(password) => fields.check("password", NewPassword::parse(password)),
            None => fields.check("password", Err(SIGN_UP_NEEDS.into())),
        };
        fields.finish(|| Some((token, Accepting::SignUp { name: name?, password: password?, sign_in: true })))
    }
}
