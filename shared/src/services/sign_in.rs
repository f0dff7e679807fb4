//! Signing in: the lockout and per-IP checks, the password check at the same cost for unknown
//! emails, the second factor when the account has one, and the session all of that earns.
//! A session opens only here, and only on a [`SignInProof`], which only this module makes
//! and only from evidence the controls produce: a right password for an account without a
//! second factor, a redeemed code, or an account created in the caller's transaction.

use uuid::Uuid;

use crate::auth::tokens::{self, Opaque};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::models::{
    ChallengePurpose, ClientInfo, Email, Password, SessionMethod, SignInAnswer, TokenPair, User, UserStatus,
};
use crate::repositories::{GenericClient, lockouts as lockout_rows, memberships, sessions as session_rows, users};
use crate::services::account;
use crate::services::ip_limits::{self, Guarded};
use crate::services::lockouts;
use crate::services::second_factor::{self, Proof, Redeemed};
use crate::services::sessions::{
    self, Checked, OpenSession, PASSWORD_AND_CODE, PASSWORD_ONLY, SSO_AND_CODE, SSO_AND_PROVIDER_MFA, SSO_ONLY,
};
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

/// An account that passed every control its sign-in has: its password (under the lockout),
/// and its second factor when it has one; or an account just created, which has none. The
/// fields are private: only this module makes one, and opening a session takes one.
#[derive(Debug)]
pub struct SignInProof {
    user: User,
    security_stamp: Uuid,
    amr: &'static [&'static str],
}

impl SignInProof {
    /// The account.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// The account's stamp when its credentials were checked; a change since voids the proof.
    pub fn security_stamp(&self) -> Uuid {
        self.security_stamp
    }

    /// The factors it proved (RFC 8176).
    pub fn amr(&self) -> &'static [&'static str] {
        self.amr
    }

    /// The proof a live browser session at the provider still holds: it was opened from a
    /// proof, and lives only while the account is active and keeps the stamp it was opened
    /// under, so it proves what that proof did. `amr` is what it recorded.
    pub(crate) fn from_browser_session(user: User, security_stamp: Uuid, amr: &[String]) -> SignInProof {
        let has = |m: &str| amr.iter().any(|a| a == m);
        let amr = match (has("sso"), has("otp"), has("mfa")) {
            (true, true, _) => SSO_AND_CODE,
            (true, false, true) => SSO_AND_PROVIDER_MFA,
            (true, false, false) => SSO_ONLY,
            (false, true, _) => PASSWORD_AND_CODE,
            (false, false, _) => PASSWORD_ONLY,
        };
        SignInProof { user, security_stamp, amr }
    }

    /// The proof of a sign-in whose code was right, after its password or its provider.
    pub fn from_code(redeemed: Redeemed) -> (SignInProof, second_factor::Proven) {
        let amr = match redeemed.purpose() {
            ChallengePurpose::SsoLogin => SSO_AND_CODE,
            ChallengePurpose::Login | ChallengePurpose::Invitation => PASSWORD_AND_CODE,
        };
        let (user, security_stamp, proven) = redeemed.into_parts();
        (SignInProof { user, security_stamp, amr }, proven)
    }

    /// The proof of a sign-in at an organization's identity provider, whose ID token was
    /// verified and whose identity is linked to `user` (read under `security_stamp` in the
    /// transaction that linked it), for an account without a second factor of its own.
    /// `provider_mfa`: the connection vouches that its provider enforces MFA.
    #[cfg(feature = "egress")]
    pub(crate) fn from_identity_provider(user: User, security_stamp: Uuid, provider_mfa: bool) -> SignInProof {
        let amr = if provider_mfa { SSO_AND_PROVIDER_MFA } else { SSO_ONLY };
        SignInProof { user, security_stamp, amr }
    }
}

/// A right password: the whole proof for an account without a second factor, or the start
/// of a challenge for one with it. Only [`check_password`] makes one.
#[derive(Debug)]
pub struct PasswordChecked {
    user: User,
    has_second_factor: bool,
    security_stamp: Uuid,
}

impl PasswordChecked {
    /// The account whose password it was.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// The proof, when the password is all the account needs; otherwise the account as
    /// checked, for a second-factor challenge.
    pub fn complete(&self) -> Result<SignInProof, Checked<'_>> {
        if self.has_second_factor {
            return Err(Checked { user: &self.user, security_stamp: self.security_stamp });
        }
        Ok(SignInProof { user: self.user.clone(), security_stamp: self.security_stamp, amr: PASSWORD_ONLY })
    }
}

/// Checks a password and opens a session, or, for an account with an active second factor,
/// answers `mfa_required` with the token POST /auth/mfa/verify takes. Unknown emails cost and
/// answer the same as wrong passwords; each email locks after too many failures, whether or
/// not it has an account. Nothing about a second factor shows before the password is right.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn login(state: &AppState, req: Credentials, client_info: ClientInfo) -> AppResult<SignInAnswer> {
    ip_limits::check(state, Guarded::Login, client_info.ip).await?;
    let checked = check_password(state, req.email.as_str(), &req.password).await?;
    let mut client = db::client(state.pool()).await?;
    let proof = match checked.complete() {
        Ok(proof) => proof,
        Err(waiting) => {
            // A non-member is told before any code is asked for, as without a second factor.
            if let Some(org_id) = req.org_id {
                memberships::token_scope(&client, org_id, waiting.user.id).await?.ok_or_else(sessions::not_a_member)?;
            }
            let purpose = ChallengePurpose::Login;
            return Ok(SignInAnswer::MfaRequired(
                second_factor::challenge(state, &client, waiting, purpose, req.org_id).await?,
            ));
        }
    };
    let pair = open_scoped(state, &mut client, &proof, req.org_id, &client_info).await?;
    Ok(SignInAnswer::Tokens(pair))
}

/// POST /auth/mfa/verify: the second step of a login, which issues the tokens.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn verify_login(
    state: &AppState,
    token: &Opaque,
    proof: &Proof,
    client_info: ClientInfo,
) -> AppResult<TokenPair> {
    ip_limits::check(state, Guarded::Login, client_info.ip).await?;
    let redeemed = second_factor::redeem(state, token, proof, ChallengePurpose::Login).await?;
    let org_id = redeemed.org_id();
    let (proof, proven) = SignInProof::from_code(redeemed);
    let mut client = db::client(state.pool()).await?;
    let mut pair = open_scoped(state, &mut client, &proof, org_id, &client_info).await?;
    pair.recovery_codes_remaining = proven.recovery_codes_remaining;
    Ok(pair)
}

/// Opens a password sign-in's session, scoped to `org_id` for a member, and its tokens.
async fn open_scoped(
    state: &AppState,
    client: &mut deadpool_postgres::Object,
    proof: &SignInProof,
    org_id: Option<Uuid>,
    client_info: &ClientInfo,
) -> AppResult<TokenPair> {
    let user = &proof.user;
    // At sign-in, a verified email's domains apply (to an organization verified since, say),
    // before the scope is checked, so that a sign-in scoped to an organization the domain just
    // joined succeeds.
    if user.email_verified {
        crate::services::domain_enrollment::enroll_after(state, client, user.id, client_info.ip).await;
    }
    let scope = match org_id {
        Some(org_id) => {
            Some(sessions::org_scope(&*client, org_id, user.id, proof.amr).await??.ok_or_else(sessions::not_a_member)?)
        }
        None => None,
    };
    let open = open_session(state, &*client, proof, org_id, client_info, SessionMethod::Password).await?;
    tracing::info!(user_id = %user.id, session_id = %open.session_id(), amr = ?proof.amr, "signed in");
    open.into_scoped_pair(state, user, scope)
}

/// Creates an account in the caller's transaction. A new account has no second factor, so
/// the password it was just given is the whole proof.
pub async fn create_account(db: &impl GenericClient, new: &users::NewUser<'_>) -> AppResult<SignInProof> {
    let user = users::insert(db, new).await.map_err(account::email_taken)?;
    let metadata = serde_json::json!({"name": user.name});
    crate::services::audit::record_account(
        db,
        user.id,
        None,
        crate::models::AuditAction::UserCreated,
        &[user.id],
        metadata,
    )
    .await?;
    let stamp = users::stamp(db, user.id).await?;
    let security_stamp = stamp.ok_or_else(|| AppError::bug("an account inserted in this transaction has no stamp"))?;
    Ok(SignInProof { user, security_stamp, amr: PASSWORD_ONLY })
}

/// Opens a session begun by `method` for a proven sign-in, scoped to `org_id` if given, with
/// its first refresh token: only if the account is still active and has the stamp its
/// credentials were checked under (a 401 otherwise), so a password reset, change or factor
/// enrolment that commits while a sign-in is checking the old password ends that sign-in too.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn open_session(
    state: &AppState,
    db: &impl GenericClient,
    proof: &SignInProof,
    org_id: Option<Uuid>,
    client_info: &ClientInfo,
    method: SessionMethod,
) -> AppResult<OpenSession> {
    open_with(state, db, proof, org_id, client_info, method, None).await
}

/// Opens the session an application's authorization code earns, as [`open_session`] does.
pub(crate) async fn open_app_session(
    state: &AppState,
    db: &impl GenericClient,
    proof: &SignInProof,
    org_id: Option<Uuid>,
    client_info: &ClientInfo,
    app: session_rows::AppSession<'_>,
) -> AppResult<OpenSession> {
    open_with(state, db, proof, org_id, client_info, SessionMethod::AuthorizationCode, Some(app)).await
}

async fn open_with(
    state: &AppState,
    db: &impl GenericClient,
    proof: &SignInProof,
    org_id: Option<Uuid>,
    client_info: &ClientInfo,
    method: SessionMethod,
    app: Option<session_rows::AppSession<'_>>,
) -> AppResult<OpenSession> {
    let session_id = Uuid::now_v7();
    let refresh_token = tokens::generate();
    let token_hash = tokens::hash(&refresh_token);
    let new = session_rows::NewSession {
        id: session_id,
        user_id: proof.user.id,
        org_id,
        client: client_info,
        method,
        amr: proof.amr,
        token_id: Uuid::now_v7(),
        token_hash: &token_hash,
        token_ttl: state.config().refresh_token_ttl,
        security_stamp: proof.security_stamp,
        most_sessions: i64::from(state.config().quotas.sessions_per_user),
        app,
    };
    if !session_rows::open(db, &new).await? {
        return Err(sessions::credentials_changed());
    }
    Ok(OpenSession::inserted(session_id, refresh_token, proof.amr))
}

/// The active account of `email` if `password` is its password: a domain whose connection
/// requires single sign-on is refused first, then the lockout is checked, an unknown email
/// costs the same hash as a wrong password and gets the same 401, a failure is counted and a
/// success clears the count. Opens no session.
pub async fn check_password(state: &AppState, email: &str, password: &Password) -> AppResult<PasswordChecked> {
    let credentials = {
        let client = db::client(state.pool()).await?;
        // Before anything about the account is read: the answer depends on the domain alone.
        refuse_password_if_sso_required(&client, email).await?;
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

/// Refuses a password for an address whose domain's SSO connection requires single sign-on,
/// saying where to sign in instead; the same answer whether or not the address has an account.
pub async fn refuse_password_if_sso_required(db: &impl GenericClient, email: &str) -> AppResult<()> {
    let Some((_, domain)) = email.rsplit_once('@') else { return Ok(()) };
    let domain = domain.to_ascii_lowercase();
    match crate::repositories::sso::for_domain(db, &domain).await? {
        Some(connection) if connection.sso_required => Err(AppError::Forbidden(format!(
            "Addresses at {domain} sign in through their organization's identity provider (single sign-on); \
             password sign-in is turned off for them. Sign in through the application's sign-in page \
             (/oauth2/authorize), entering only your email."
        ))),
        _ => Ok(()),
    }
}
