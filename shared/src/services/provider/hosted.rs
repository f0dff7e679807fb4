//! The hosted sign-in's steps, with every control the JSON sign-in has: the per-IP limit, the
//! email's lockout, disabled accounts, and the second factor. Each finished step opens the
//! browser session at the provider (its cookie's token is the answer).

use crate::auth::tokens::Opaque;
use crate::db;
use crate::error::AppResult;
use crate::models::{ChallengePurpose, ClientInfo, Password};
use crate::services::ip_limits::{self, Guarded};
use crate::services::second_factor::{self, Proof};
use crate::services::sign_in::{self, SignInProof};
use crate::state::AppState;

use super::authorize::open_browser_session;

/// Where a password step leaves the browser.
#[derive(Debug)]
pub enum PasswordStep {
    /// Signed in: the browser session's cookie token.
    SignedIn(String),
    /// The account has a second factor: the challenge's token, for the code step.
    CodeNeeded(String),
}

/// The password step: the same checks as POST /auth/login.
pub async fn with_password(
    state: &AppState,
    email: &str,
    password: &Password,
    client: &ClientInfo,
) -> AppResult<PasswordStep> {
    ip_limits::check(state, Guarded::Login, client.ip).await?;
    let checked = sign_in::check_password(state, email, password).await?;
    match checked.complete() {
        Ok(proof) => Ok(PasswordStep::SignedIn(open_browser_session(state, &proof, client).await?)),
        Err(waiting) => {
            let db = db::client(state.pool()).await?;
            let challenge = second_factor::challenge(state, &db, waiting, ChallengePurpose::Login, None).await?;
            Ok(PasswordStep::CodeNeeded(challenge.mfa_token))
        }
    }
}

/// The code step: the same checks as POST /auth/mfa/verify, after a password or an identity
/// provider.
pub async fn with_code(state: &AppState, token: &Opaque, proof: &Proof, client: &ClientInfo) -> AppResult<String> {
    ip_limits::check(state, Guarded::Login, client.ip).await?;
    // A password's sign-in or a provider's: the proof says which (its amr).
    let purposes = [ChallengePurpose::Login, ChallengePurpose::SsoLogin];
    let redeemed = second_factor::redeem_any(state, token, proof, &purposes).await?;
    let (proof, _) = SignInProof::from_code(redeemed);
    open_browser_session(state, &proof, client).await
}
