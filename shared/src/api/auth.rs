//! Bodies of the auth routes and of the caller's password change, each parsed into what its
//! service takes.

use secrecy::SecretString;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::tokens::Opaque;
use crate::error::AppResult;
use crate::models::{DisplayName, Email, FieldErrors, NewPassword, Password};
use crate::services::account::{self, PasswordChange, PasswordReset, Registration};
use crate::services::sessions::{self, Refresh};
use crate::services::sign_in::Credentials;

/// Body of POST /auth/register. Fields not named here (is_platform_admin, ...) are ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegisterRequest {
    /// Email address.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
    /// New password, 8 to 1024 characters.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 1024)]
    pub password: SecretString,
    /// Display name.
    #[schema(value_type = DisplayName)]
    pub name: String,
}

impl RegisterRequest {
    /// The checked sign-up, or a 422 naming each invalid field.
    pub fn parse(self) -> AppResult<Registration> {
        let mut fields = FieldErrors::default();
        let email = fields.check("email", Email::parse(&self.email));
        let password = fields.check("password", NewPassword::parse(self.password));
        let name = fields.check("name", DisplayName::parse(&self.name));
        fields.finish(|| Some(Registration { email: email?, password: password?, name: name? }))
    }
}

/// Body of POST /auth/login.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// Email address.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
    /// Password.
    #[schema(value_type = String, format = Password, min_length = 1, max_length = 1024)]
    pub password: SecretString,
    /// Issue an org-scoped token for this organization (the caller must be a member).
    #[serde(default)]
    #[schema(pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub org_id: Option<Uuid>,
}

impl LoginRequest {
    /// The checked credentials, or a 422 naming each invalid field.
    pub fn parse(self) -> AppResult<Credentials> {
        let mut fields = FieldErrors::default();
        let email = fields.check("email", Email::parse(&self.email));
        let password = fields.check("password", Password::parse(self.password));
        fields.finish(|| Some(Credentials { email: email?, password: password?, org_id: self.org_id }))
    }
}

/// Body of POST /auth/refresh.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    #[schema(value_type = String, format = Password, pattern = "^[A-Za-z0-9_-]{43}$")]
    pub refresh_token: SecretString,
    /// Switch the session's active organization (the caller must be a member).
    #[serde(default)]
    #[schema(pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub org_id: Option<Uuid>,
}

impl RefreshRequest {
    /// The refresh to make; a token of a shape we never issue is a 401 like a spent one.
    pub fn parse(self) -> AppResult<Refresh> {
        let token = Opaque::parse(self.refresh_token).ok_or_else(sessions::invalid_refresh)?;
        Ok(Refresh { token, org_id: self.org_id })
    }
}

/// Body carrying a mailed token.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// The token from the link.
    #[schema(value_type = String, format = Password, pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: SecretString,
}

impl TokenRequest {
    /// The token, or `refusal` (the route's own 422) when it has a shape we never mail.
    pub fn parse(self, refusal: fn() -> crate::AppError) -> AppResult<Opaque> {
        Opaque::parse(self.token).ok_or_else(refusal)
    }
}

/// Body of POST /auth/password/forgot.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ForgotRequest {
    /// The account's email.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
}

impl ForgotRequest {
    /// The checked email, or a 422.
    pub fn parse(self) -> AppResult<Email> {
        let mut fields = FieldErrors::default();
        let email = fields.check("email", Email::parse(&self.email));
        fields.finish(|| email)
    }
}

/// Body of POST /auth/password/reset.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ResetRequest {
    /// The token from the reset link.
    #[schema(value_type = String, format = Password, pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: SecretString,
    /// The new password.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 1024)]
    pub new_password: SecretString,
}

impl ResetRequest {
    /// The checked reset, or a 422 naming the password and the token as each is wrong.
    pub fn parse(self) -> AppResult<PasswordReset> {
        let mut fields = FieldErrors::default();
        let new_password = fields.check("new_password", NewPassword::parse(self.new_password));
        let token = Opaque::parse(self.token);
        if token.is_none() {
            fields.push("token", account::BAD_TOKEN);
        }
        fields.finish(|| Some(PasswordReset { token: token?, new_password: new_password? }))
    }
}

/// Body of POST /me/password.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChangePasswordRequest {
    /// The password now.
    #[schema(value_type = String, format = Password, min_length = 1, max_length = 1024)]
    pub current_password: SecretString,
    /// The new one.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 1024)]
    pub new_password: SecretString,
}

impl ChangePasswordRequest {
    /// The checked change, or a 422 naming each invalid field.
    pub fn parse(self) -> AppResult<PasswordChange> {
        let mut fields = FieldErrors::default();
        let current = fields.check("current_password", Password::parse(self.current_password));
        let new = fields.check("new_password", NewPassword::parse(self.new_password));
        fields.finish(|| Some(PasswordChange { current: current?, new: new? }))
    }
}
