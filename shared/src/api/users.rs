//! Queries and bodies of the user administration routes, and the page parameters every list
//! takes.

use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::models::{DisplayName, Email, FieldErrors, PageRequest, Password, UserStatus, fields};
use crate::services::email_change::EmailChangeRequest;
use crate::services::users::UserChanges;

/// The query parameters of a list, as received.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// Checks the limit's range and decodes the cursor; 422 naming the field otherwise.
    pub fn check(&self) -> AppResult<PageRequest> {
        PageRequest::parse(self.limit.as_deref(), self.cursor.as_deref())
    }
}

/// Query of GET /users.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Email prefix, matched case-insensitively.
    pub email: Option<String>,
    /// Page size.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

impl UserQuery {
    /// The email prefix in stored form (None for every user) and the page, or a 422.
    pub fn parse(&self) -> AppResult<(Option<String>, PageRequest)> {
        let page = PageRequest::parse(self.limit.as_deref(), self.cursor.as_deref())?;
        let prefix = self.email.as_deref().map(fields::email_prefix).filter(|p| !p.is_empty());
        if prefix.as_ref().is_some_and(|p| p.len() > 254) {
            return Err(AppError::invalid("email", "must be at most 254 bytes"));
        }
        if prefix.as_ref().is_some_and(|p| p.chars().any(char::is_control)) {
            return Err(AppError::invalid("email", "must not contain control characters"));
        }
        Ok((prefix, page))
    }
}

/// Body of PATCH /users/{id}.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateUser {
    /// New display name.
    #[schema(value_type = Option<DisplayName>)]
    pub name: Option<String>,
    /// `active` or `disabled`; disabling ends every session at once.
    pub status: Option<String>,
    /// Grant or withdraw platform administration.
    pub is_platform_admin: Option<bool>,
}

impl UpdateUser {
    /// The checked changes, at least one, or a 422.
    pub fn parse(self) -> AppResult<UserChanges> {
        let mut fields = FieldErrors::default();
        let name = fields.optional("name", self.name.as_deref(), DisplayName::parse);
        let status = fields.optional("status", self.status.as_deref(), |s| match s {
            "active" => Ok(UserStatus::Active),
            "disabled" => Ok(UserStatus::Disabled),
            _ => Err("must be 'active' or 'disabled'".into()),
        });
        if self.name.is_none() && self.status.is_none() && self.is_platform_admin.is_none() {
            fields.push("", "give name, status or is_platform_admin to change");
        }
        let is_platform_admin = self.is_platform_admin;
        fields.finish(|| Some(UserChanges { name: name?, status: status?, is_platform_admin }))
    }
}

/// Body of PATCH /me: what a user may change of their own account.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateProfile {
    /// New display name.
    #[schema(value_type = Option<DisplayName>)]
    pub name: Option<String>,
    /// Not settable here: POST /me/email changes the address. Refused if given.
    #[schema(value_type = Option<String>, read_only)]
    #[serde(default)]
    pub email: Option<serde_json::Value>,
    /// Not settable by the user. Refused if given.
    #[schema(value_type = Option<bool>, read_only)]
    #[serde(default)]
    pub is_platform_admin: Option<serde_json::Value>,
    /// Not settable by the user. Refused if given.
    #[schema(value_type = Option<String>, read_only)]
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

impl UpdateProfile {
    /// The new name, or a 422 naming each field that is missing or may not be set here.
    pub fn parse(self) -> AppResult<DisplayName> {
        let mut fields = FieldErrors::default();
        if self.email.is_some() {
            fields.push("email", "cannot be set here; POST /me/email changes it by a mailed link");
        }
        if self.is_platform_admin.is_some() {
            fields.push("is_platform_admin", "is granted by a platform administrator, not by the user");
        }
        if self.status.is_some() {
            fields.push("status", "is set by a platform administrator; DELETE /me deletes the account");
        }
        let name = match self.name.as_deref() {
            Some(raw) => fields.check("name", DisplayName::parse(raw)),
            None => {
                fields.push("name", "give a name to change");
                None
            }
        };
        fields.finish(|| name)
    }
}

/// Body of POST /me/email.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChangeEmailRequest {
    /// The address to sign in with from now on; a confirmation link is mailed there.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub new_email: String,
    /// The account's current password.
    #[schema(value_type = String, format = Password, min_length = 1, max_length = 1024)]
    pub password: SecretString,
}

impl ChangeEmailRequest {
    /// The checked request, or a 422 naming each invalid field.
    pub fn parse(self) -> AppResult<EmailChangeRequest> {
        let mut fields = FieldErrors::default();
        let new_email = fields.check("new_email", Email::parse(&self.new_email));
        let password = fields.check("password", Password::parse(self.password));
        fields.finish(|| Some(EmailChangeRequest { new_email: new_email?, password: password? }))
    }
}

/// Body of DELETE /me.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DeleteAccountRequest {
    /// The account's current password.
    #[schema(value_type = String, format = Password, min_length = 1, max_length = 1024)]
    pub password: SecretString,
}

impl DeleteAccountRequest {
    /// The checked password, or a 422.
    pub fn parse(self) -> AppResult<Password> {
        let mut fields = FieldErrors::default();
        let password = fields.check("password", Password::parse(self.password));
        fields.finish(|| password)
    }
}
