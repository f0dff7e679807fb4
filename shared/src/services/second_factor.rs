//! Checking a second factor: a TOTP code (each time step accepted once) or a recovery code
//! (each spent once), under a per-account lockout of its own; and the sign-in step between a
//! right password and tokens, held by a single-use `mfa_token`.

use uuid::Uuid;

use crate::auth::tokens::{self, Opaque};
use crate::auth::{recovery, totp};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::models::{ChallengePurpose, FactorKind, MfaRequired, User, UserStatus};
use crate::repositories::{GenericClient, mfa, users};
use crate::services::lockouts;
use crate::services::sessions::Checked;
use crate::state::AppState;

/// A second factor as offered.
#[derive(Clone)]
pub enum Proof {
    /// Six digits from the authenticator app.
    Code(String),
    /// A recovery code, normalised.
    RecoveryCode(String),
}

impl std::fmt::Debug for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Proof::Code(_) => "Proof::Code([REDACTED])",
            Proof::RecoveryCode(_) => "Proof::RecoveryCode([REDACTED])",
        })
    }
}

impl Proof {
    /// A TOTP code as typed: six digits, spaces ignored; None otherwise.
    pub fn code(typed: &str) -> Option<Proof> {
        let code: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())).then_some(Proof::Code(code))
    }

    /// A recovery code as typed; None if it cannot be one.
    pub fn recovery_code(typed: &str) -> Option<Proof> {
        recovery::normalise(typed).map(Proof::RecoveryCode)
    }

    /// Either, told apart by shape (the hosted page's one field).
    pub fn either(typed: &str) -> Option<Proof> {
        Proof::code(typed).or_else(|| Proof::recovery_code(typed))
    }
}

/// A right proof: after a recovery code, how many are left.
#[derive(Debug)]
pub struct Proven {
    /// Unused recovery codes left, when one was spent.
    pub recovery_codes_remaining: Option<i64>,
}

/// A wrong, replayed or unusable proof (the attempt is already counted).
#[derive(Debug)]
pub struct WrongProof;

/// Checks `proof` against the user's active factor or recovery codes. The attempt is counted
/// toward the account's code lockout before anything is checked (429 once locked), and
/// forgotten when the proof is right.
pub async fn check(state: &AppState, user_id: Uuid, proof: &Proof) -> AppResult<Result<Proven, WrongProof>> {
    let client = db::client(state.pool()).await?;
    lockouts::reserve_code_attempt(state, &client, user_id).await?;
    let outcome = match proof {
        Proof::Code(code) => check_code(state, &client, user_id, code).await?.map(|()| None),
        Proof::RecoveryCode(code) => match mfa::spend_code(&client, user_id, &recovery::hash(code)).await? {
            Some(left) => Ok(Some(left)),
            None => Err(WrongProof),
        },
    };
    match outcome {
        Ok(remaining) => {
            lockouts::clear_codes(&client, user_id).await?;
            Ok(Ok(Proven { recovery_codes_remaining: remaining }))
        }
        Err(wrong) => {
            lockouts::record_code_failure(state, &client, user_id).await?;
            Ok(Err(wrong))
        }
    }
}

/// A TOTP code of the active factor, for a time step not accepted before.
async fn check_code(
    state: &AppState,
    db: &impl GenericClient,
    user_id: Uuid,
    code: &str,
) -> AppResult<Result<(), WrongProof>> {
    let Some(factor) = mfa::find_active(db, user_id).await? else {
        return Ok(Err(WrongProof));
    };
    let Some(matched) = step_of(state, &factor, code)? else {
        return Ok(Err(WrongProof));
    };
    if !mfa::accept_step(db, factor.factor.id, matched.step, matched.resealed.as_deref()).await? {
        tracing::info!(user_id = %user_id, "a TOTP code was replayed");
        return Ok(Err(WrongProof));
    }
    Ok(Ok(()))
}

/// A code's time step, and the factor's secret sealed under the current key when it was
/// sealed under a previous one (stored with the step, so a rotated key leaves use by use).
#[derive(Debug)]
pub(crate) struct Matched {
    pub step: i64,
    pub resealed: Option<Vec<u8>>,
}

/// The time step `code` matches now for this factor (pending or active), unsealing its
/// secret; `None` for a wrong code, a 500 if the secret does not open (no configured key
/// sealed it, or the row was altered).
pub(crate) fn step_of(state: &AppState, factor: &mfa::SealedFactor, code: &str) -> AppResult<Option<Matched>> {
    let context = factor.factor.id.as_bytes();
    let sealer = state.sealer()?;
    let opened = sealer.open(&factor.secret_sealed, context).map_err(AppError::internal("unsealing a TOTP secret"))?;
    let Some(step) = totp::matching_step(&opened.plaintext, code, totp::now_secs()) else {
        return Ok(None);
    };
    let step = i64::try_from(step).map_err(|_| AppError::bug("a time step beyond i64"))?;
    let resealed = opened.stale.then(|| sealer.seal(&opened.plaintext, context));
    Ok(Some(Matched { step, resealed }))
}

/// What a wrong code is told: also a replayed one and a spent recovery code.
pub const WRONG_CODE: &str = "The code is wrong, or has already been used.";

/// The 401 for a wrong code.
pub fn wrong_code() -> AppError {
    AppError::Unauthorized(WRONG_CODE.into())
}

/// The 401 for an mfa_token that is malformed, unknown, expired, spent or out of attempts.
pub fn invalid_mfa_token() -> AppError {
    AppError::Unauthorized("The mfa_token is invalid, expired, already used or out of attempts; sign in again.".into())
}

/// For a user whose password was just proven and who has an active factor: a waiting sign-in
/// and its token, bound to the user and to what the sign-in asked for.
pub async fn challenge(
    state: &AppState,
    db: &impl GenericClient,
    checked: Checked<'_>,
    purpose: ChallengePurpose,
    org_id: Option<Uuid>,
) -> AppResult<MfaRequired> {
    let user = checked.user;
    let token = tokens::generate();
    let ttl = state.config().mfa.token_ttl;
    let hash = tokens::hash(&token);
    let security_stamp = checked.security_stamp;
    let new = mfa::NewChallenge {
        id: Uuid::now_v7(),
        user_id: user.id,
        token_hash: &hash,
        purpose,
        org_id,
        ttl,
        security_stamp,
    };
    mfa::insert_challenge(db, &new).await?;
    tracing::info!(user_id = %user.id, "password right; waiting for the second factor");
    Ok(MfaRequired { mfa_required: true, mfa_token: token, expires_in: ttl.as_secs(), factors: vec![FactorKind::Totp] })
}

/// A waiting sign-in, spent by a right proof. Only [`redeem`] makes one (its fields are
/// private), so holding one means the password and the code were both right.
#[derive(Debug)]
pub struct Redeemed {
    user: User,
    org_id: Option<Uuid>,
    proven: Proven,
    security_stamp: Uuid,
    purpose: ChallengePurpose,
}

impl Redeemed {
    /// The org an org-scoped token was asked for.
    pub fn org_id(&self) -> Option<Uuid> {
        self.org_id
    }

    /// What the challenge was for (a password's sign-in, or a provider's).
    pub fn purpose(&self) -> ChallengePurpose {
        self.purpose
    }

    /// The active user who signed in, the stamp their password was checked under (and still
    /// was when the code was), and what the proof left.
    pub fn into_parts(self) -> (User, Uuid, Proven) {
        (self.user, self.security_stamp, self.proven)
    }
}

/// Spends the challenge of `token` for `purpose` with a right proof. Each try is counted
/// before its code is checked: a token takes at most `MFA_TOKEN_MAX_ATTEMPTS` codes, however
/// many arrive at once, and the account's code lockout counts them too.
pub async fn redeem(state: &AppState, token: &Opaque, proof: &Proof, purpose: ChallengePurpose) -> AppResult<Redeemed> {
    redeem_any(state, token, proof, &[purpose]).await
}

/// [`redeem`] for a challenge made for any of `purposes` (the hosted sign-in's code step takes
/// a password's and a provider's).
pub async fn redeem_any(
    state: &AppState,
    token: &Opaque,
    proof: &Proof,
    purposes: &[ChallengePurpose],
) -> AppResult<Redeemed> {
    let max = state.config().mfa.token_max_attempts;
    let challenge = {
        let client = db::client(state.pool()).await?;
        mfa::reserve_attempt(&client, &token.hash(), max).await?
    };
    let challenge = challenge.filter(|c| purposes.contains(&c.purpose)).ok_or_else(invalid_mfa_token)?;
    let proven = check(state, challenge.user_id, proof).await?.map_err(|WrongProof| wrong_code())?;
    let client = db::client(state.pool()).await?;
    if !mfa::spend_challenge(&client, challenge.id).await? {
        return Err(invalid_mfa_token());
    }
    let user = users::find(&client, challenge.user_id).await?.filter(|u| u.status == UserStatus::Active);
    let user = user.ok_or_else(|| AppError::Forbidden("This account is disabled.".into()))?;
    Ok(Redeemed {
        user,
        org_id: challenge.org_id,
        proven,
        security_stamp: challenge.security_stamp,
        purpose: challenge.purpose,
    })
}
