//! Bodies of the second-factor routes: the sign-in's second step, enrolment's proof, and the
//! fresh password or code that changing factors asks for.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::auth::tokens::Opaque;
use crate::error::{AppError, AppResult};
use crate::models::{FieldErrors, Password};
use crate::services::factors::StepUp;
use crate::services::second_factor::{self, Proof};

const CODE_SHAPE: &str = "must be the 6 digits the authenticator app shows";
const RECOVERY_SHAPE: &str = "must be one of your recovery codes, xxxxx-xxxxx";
const ONE_PROOF: &str = "give either code or recovery_code, not both";

/// `code` or `recovery_code`, exactly one, each of its shape.
fn proof(fields: &mut FieldErrors, code: Option<&SecretString>, recovery_code: Option<&SecretString>) -> Option<Proof> {
    match (code, recovery_code) {
        (Some(_), Some(_)) => {
            fields.push("recovery_code", ONE_PROOF);
            None
        }
        (Some(code), None) => fields.check("code", Proof::code(code.expose_secret()).ok_or_else(|| CODE_SHAPE.into())),
        (None, Some(code)) => fields
            .check("recovery_code", Proof::recovery_code(code.expose_secret()).ok_or_else(|| RECOVERY_SHAPE.into())),
        (None, None) => {
            fields.push("code", "give code (from the authenticator app) or recovery_code");
            None
        }
    }
}

/// Body of POST /auth/mfa/verify.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MfaVerifyRequest {
    /// The `mfa_token` login answered with.
    #[schema(value_type = String, format = Password, pattern = "^[A-Za-z0-9_-]{43}$")]
    pub mfa_token: SecretString,
    /// The authenticator app's current code.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^[0-9]{6}$", example = "123456")]
    pub code: Option<SecretString>,
    /// One unused recovery code, instead of `code`.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "abcde-fgh23")]
    pub recovery_code: Option<SecretString>,
}

impl MfaVerifyRequest {
    /// The token and the proof, or a 422 naming each invalid field; a token of a shape we
    /// never issue is the 401 of a spent one.
    pub fn parse(self) -> AppResult<(Opaque, Proof)> {
        let mut fields = FieldErrors::default();
        let proof = proof(&mut fields, self.code.as_ref(), self.recovery_code.as_ref());
        let token = Opaque::parse(self.mfa_token);
        let checked = fields.finish(|| proof)?;
        let token = token.ok_or_else(second_factor::invalid_mfa_token)?;
        Ok((token, checked))
    }
}

/// Body of POST /me/mfa/totp/{id}/verify.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VerifyTotpRequest {
    /// The authenticator app's current code for the new factor.
    #[schema(value_type = String, pattern = "^[0-9]{6}$", example = "123456")]
    pub code: SecretString,
}

impl VerifyTotpRequest {
    /// The six digits, or a 422.
    pub fn parse(self) -> AppResult<String> {
        match Proof::code(self.code.expose_secret()) {
            Some(Proof::Code(code)) => Ok(code),
            _ => Err(AppError::invalid("code", CODE_SHAPE)),
        }
    }
}

/// Body of the routes that change factors: a fresh proof that the caller is the account's
/// owner, the password or a code of the active factor.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StepUpRequest {
    /// The account's password.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password, min_length = 1, max_length = 1024)]
    pub password: Option<SecretString>,
    /// A code of the active authenticator, instead of the password.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^[0-9]{6}$")]
    pub code: Option<SecretString>,
    /// A recovery code, instead of the password.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub recovery_code: Option<SecretString>,
}

impl StepUpRequest {
    /// The step-up, or a 422: exactly one of password, code and recovery_code.
    pub fn parse(self) -> AppResult<StepUp> {
        let mut fields = FieldErrors::default();
        match self.password {
            Some(password) if self.code.is_none() && self.recovery_code.is_none() => {
                let password = fields.check("password", Password::parse(password));
                fields.finish(|| password.map(StepUp::Password))
            }
            Some(_) => {
                fields.push("password", "give the password, or a code, not both");
                fields.finish(|| None::<StepUp>)
            }
            None if self.code.is_none() && self.recovery_code.is_none() => {
                fields.push("password", "confirm it is you: give the password, or a code of your authenticator");
                fields.finish(|| None::<StepUp>)
            }
            None => {
                let proof = proof(&mut fields, self.code.as_ref(), self.recovery_code.as_ref());
                fields.finish(|| proof.map(StepUp::Proof))
            }
        }
    }
}
