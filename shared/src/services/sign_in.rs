//! Signing in with email and password: the lockout and per-IP checks, the password check at
//! the same cost for unknown emails, and the session it opens (or the second factor it waits
//! for).

use uuid::Uuid;

use crate::db;
use crate::error::{AppError, AppResult};
use crate::models::{ChallengePurpose, ClientInfo, Email, Password, SessionMethod, SignInAnswer, User, UserStatus};
use crate::repositories::{lockouts as lockout_rows, memberships, users};
use crate::services::ip_limits::{self, Guarded};
use crate::services::lockouts;
use crate::services::second_factor;
use crate::services::sessions::{self, Checked, PASSWORD_ONLY};
use crate::state::AppState;

/// Checked sign-in credentials.
#[derive(Debug)]
pub struct Credentials {
    /// The account's email.
    pub email: Email,
    /// The password offered.
    pub password: Password,
    /// Issue an org-scoped token for this organization.
    pub org_id: Option<Uuid>,
}

const INVALID_CREDENTIALS: &str = "Invalid email or password.";

/// Checks a password and opens a session, or, for an account with an active second factor,
/// answers `mfa_required` with the token POST /auth/mfa/verify takes. Unknown emails cost and
/// answer the same as wrong passwords; each email locks after too many failures, whether or
/// not it has an account. Nothing about a second factor shows before the password is right.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn login(state: &AppState, req: Credentials, client_info: ClientInfo) -> AppResult<SignInAnswer> {
    ip_limits::check(state, Guarded::Login, client_info.ip).await?;
    let PasswordChecked { user, has_second_factor, security_stamp } =
        check_password(state, req.email.as_str(), &req.password).await?;
    let checked = Checked { user: &user, security_stamp };
    let client = db::client(state.pool()).await?;
    if has_second_factor {
        // A non-member is told before any code is asked for, as without a second factor.
        if let Some(org_id) = req.org_id {
            memberships::token_scope(&client, org_id, user.id).await?.ok_or_else(sessions::not_a_member)?;
        }
        let purpose = ChallengePurpose::Login;
        return Ok(SignInAnswer::MfaRequired(
            second_factor::challenge(state, &client, checked, purpose, req.org_id).await?,
        ));
    }
    let scope = match req.org_id {
        Some(org_id) => Some(
            sessions::org_scope(&client, org_id, user.id, PASSWORD_ONLY).await??.ok_or_else(sessions::not_a_member)?,
        ),
        None => None,
    };
    let method = SessionMethod::Password;
    let open = sessions::open_session(state, &client, checked, req.org_id, &client_info, method, PASSWORD_ONLY).await?;
    tracing::info!(user_id = %user.id, session_id = %open.session_id(), "signed in");
    Ok(SignInAnswer::Tokens(open.into_scoped_pair(state, &user, scope)?))
}

/// An account whose password was just proven.
#[derive(Debug)]
pub struct PasswordChecked {
    /// The active account.
    pub user: User,
    /// Whether it must also give a second factor.
    pub has_second_factor: bool,
    /// The account's stamp, read before the password was hashed: a session opened on this
    /// check must still find it.
    pub security_stamp: Uuid,
}

/// The active account of `email` if `password` is its password: the lockout is checked
/// first, an unknown email costs the same hash as a wrong password and gets the same 401, a
/// failure is counted and a success clears the count. Opens no session.
pub async fn check_password(state: &AppState, email: &str, password: &Password) -> AppResult<PasswordChecked> {
    let credentials = {
        let client = db::client(state.pool()).await?;
        lockouts::reserve_attempt(
            state,
            &client,
            email,
            "Too many failed sign-in attempts for this email; try again later.",
        )
        .await?;
        users::find_credentials(&client, email).await?
    };
    // The connection went back to the pool: the check below can wait for a core.
    let dummy = state.dummy_hash().await?;
    let (account, phc) = match credentials {
        Some(c) => {
            let phc = c.password_hash.clone().unwrap_or(dummy);
            (c.password_hash.is_some().then_some((c.user, c.has_second_factor, c.security_stamp)), phc)
        }
        None => (None, dummy),
    };
    let matched = state.passwords().verify(password.secret(), phc).await?;
    let client = db::client(state.pool()).await?;
    let (user, has_second_factor, security_stamp) = match account {
        Some(found) if matched => found,
        _ => {
            lockouts::record_failure(state, &client, email).await?;
            return Err(AppError::Unauthorized(INVALID_CREDENTIALS.into()));
        }
    };
    if user.status != UserStatus::Active {
        return Err(AppError::Forbidden("This account is disabled.".into()));
    }
    // The password was right, so the failures are forgotten whether or not what follows works.
    lockout_rows::clear(&client, email).await?;
    Ok(PasswordChecked { user, has_second_factor, security_stamp })
}
