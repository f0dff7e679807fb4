//! A user's second factors: enrolling an authenticator and proving it, listing, removing,
//! regenerating recovery codes (each after a fresh password or code), and a platform admin's
//! reset of them all.

use std::net::IpAddr;

use serde_json::json;
use uuid::Uuid;

use crate::auth::{recovery, totp};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::models::AuditAction;
use crate::models::{FactorActivated, FactorStatus, MfaFactors, Password, RecoveryCodes, TotpEnrolment};
use crate::repositories::{GenericClient, mfa, sessions, users};
use crate::services::access::Caller;
use crate::services::account;
use crate::services::audit;
use crate::services::lockouts;
use crate::services::second_factor::{self, Proof, WrongProof};
use crate::services::sessions::PASSWORD_AND_CODE;
use crate::state::AppState;

/// A fresh proof of identity for changing factors: the password, or a code of the active factor.
#[derive(Debug)]
pub enum StepUp {
    /// The account's password.
    Password(Password),
    /// A TOTP or recovery code.
    Proof(Proof),
}

/// Checks the step-up: a wrong password counts toward the login lockout, a wrong code toward
/// the code lockout; either is a 422 on its field.
async fn confirm(state: &AppState, caller: &Caller, step_up: &StepUp) -> AppResult<()> {
    match step_up {
        StepUp::Password(password) => account::confirm_password(state, caller, password, "password").await,
        StepUp::Proof(proof) => match second_factor::check(state, caller.user.id, proof).await? {
            Ok(_) => Ok(()),
            Err(WrongProof) => {
                let field = if matches!(proof, Proof::Code(_)) { "code" } else { "recovery_code" };
                Err(AppError::invalid(field, "is wrong, or has already been used"))
            }
        },
    }
}

/// A factor change the caller's own request made: the account's stamp is replaced (every
/// other session, link and waiting sign-in ends) and the caller's session, which held
/// `stamp`, carries over.
async fn credential_changed(tx: &impl GenericClient, caller: &Caller, stamp: Uuid) -> AppResult<()> {
    users::replace_stamp(tx, caller.user.id).await?;
    sessions::adopt_stamp(tx, caller.session_id, stamp).await?;
    Ok(())
}

fn no_factor() -> AppError {
    AppError::NotFound("No such factor.".into())
}

/// Starts a TOTP factor: a new secret, sealed for storage, and what an authenticator app needs
/// to enrol it. It stays pending (not asked for at sign-in) until a code proves it.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn enrol_totp(state: &AppState, caller: &Caller, step_up: &StepUp) -> AppResult<TotpEnrolment> {
    let sealer = state.sealer()?;
    // Whoever registered an address nobody has proven may not own it: a factor enrolled there
    // would stand between the owner and their account once they prove it.
    if !caller.user.email_verified {
        return Err(AppError::Forbidden("Verify your email address before enrolling a second factor.".into()));
    }
    // Refusals come before the proof, so a refused request spends no code.
    {
        let client = db::client(state.pool()).await?;
        if mfa::has_active(&client, caller.user.id).await? {
            return Err(AppError::Conflict(
                "An authenticator is already active; remove it (DELETE /me/mfa/{id}) before enrolling another.".into(),
            ));
        }
    }
    confirm(state, caller, step_up).await?;
    let client = db::client(state.pool()).await?;
    let id = Uuid::now_v7();
    let secret = totp::new_secret();
    let issuer = &state.config().mfa.issuer;
    let provisioning = totp::provisioning(&secret, issuer, &caller.user.email)
        .map_err(AppError::internal("making the otpauth URI"))?;
    let factor = mfa::insert_pending(&client, id, caller.user.id, &sealer.seal(&secret, id.as_bytes())).await?;
    Ok(TotpEnrolment {
        factor,
        secret: provisioning.secret,
        otpauth_uri: provisioning.uri,
        qr_svg: provisioning.qr_svg,
    })
}

/// Proves a pending TOTP factor with its first code: it becomes active, ten recovery codes are
/// made, the caller's session counts as having proved it, and the user's other sessions (which
/// proved only a password) end.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn activate_totp(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    code: &str,
    ip: Option<IpAddr>,
) -> AppResult<FactorActivated> {
    let user_id = caller.user.id;
    let client = db::client(state.pool()).await?;
    let factor = mfa::find(&client, user_id, id).await?.ok_or_else(no_factor)?;
    if factor.factor.status == FactorStatus::Active {
        return Err(AppError::Conflict("This factor is already verified.".into()));
    }
    lockouts::reserve_code_attempt(state, &client, user_id).await?;
    let Some(matched) = second_factor::step_of(state, &factor, code)? else {
        lockouts::record_code_failure(state, &client, user_id).await?;
        return Err(AppError::invalid("code", "is not the authenticator's current code"));
    };
    drop(client);
    let codes = recovery::generate_set();
    let hashes = recovery::hash_set(&codes);
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let stamp = account::lock_caller(&tx, caller).await?;
    let factor = mfa::activate(&tx, user_id, id, matched.step, matched.resealed.as_deref())
        .await
        .map_err(crate::error::on_constraint(mfa::ONE_ACTIVE, "An authenticator is already active."))?
        .ok_or_else(|| AppError::Conflict("This factor is no longer pending.".into()))?;
    let (ended, (), ()) = tokio::try_join!(
        async { Ok::<_, AppError>(sessions::revoke_others(&tx, user_id, Some(caller.session_id)).await?) },
        async { Ok(mfa::replace_codes(&tx, user_id, &hashes).await?) },
        async { Ok(sessions::set_amr(&tx, caller.session_id, PASSWORD_AND_CODE).await?) },
    )?;
    credential_changed(&tx, caller, stamp).await?;
    lockouts::clear_codes(&tx, user_id).await?;
    audit::record_account(&tx, user_id, ip, AuditAction::UserMfaEnrolled, &[id], json!({"type": "totp"})).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user_id, factor_id = %id, sessions_ended = ended.len(), "authenticator enrolled");
    Ok(FactorActivated { factor, codes: RecoveryCodes { recovery_codes: codes }, sessions_ended: ended.len() })
}

/// The caller's factors and how many recovery codes are left.
pub async fn list(state: &AppState, user_id: Uuid) -> AppResult<MfaFactors> {
    let client = db::client(state.pool()).await?;
    let (items, left) = tokio::try_join!(mfa::list(&client, user_id), mfa::codes_left(&client, user_id))?;
    Ok(MfaFactors { items, next_cursor: None, recovery_codes_remaining: left })
}

/// Removes one of the caller's factors; with the last active one go the recovery codes, and
/// sign-in asks for the password alone again.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn remove(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    step_up: &StepUp,
    ip: Option<IpAddr>,
) -> AppResult<()> {
    let user_id = caller.user.id;
    {
        let client = db::client(state.pool()).await?;
        mfa::find(&client, user_id, id).await?.ok_or_else(no_factor)?;
    }
    confirm(state, caller, step_up).await?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let stamp = account::lock_caller(&tx, caller).await?;
    let status = mfa::delete(&tx, user_id, id).await?.ok_or_else(no_factor)?;
    if !mfa::has_active(&tx, user_id).await? {
        mfa::delete_codes(&tx, user_id).await?;
    }
    sessions::revoke_others(&tx, user_id, Some(caller.session_id)).await?;
    credential_changed(&tx, caller, stamp).await?;
    let metadata = json!({"type": "totp", "status": status.as_str()});
    audit::record_account(&tx, user_id, ip, AuditAction::UserMfaRemoved, &[id], metadata).await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces the caller's recovery codes with ten new ones; the old ones stop working.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn regenerate_codes(
    state: &AppState,
    caller: &Caller,
    step_up: &StepUp,
    ip: Option<IpAddr>,
) -> AppResult<RecoveryCodes> {
    let user_id = caller.user.id;
    {
        let client = db::client(state.pool()).await?;
        if !mfa::has_active(&client, user_id).await? {
            return Err(AppError::Conflict("Recovery codes need an active authenticator; enrol one first.".into()));
        }
    }
    confirm(state, caller, step_up).await?;
    let codes = recovery::generate_set();
    let hashes = recovery::hash_set(&codes);
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let stamp = account::lock_caller(&tx, caller).await?;
    mfa::replace_codes(&tx, user_id, &hashes).await?;
    sessions::revoke_others(&tx, user_id, Some(caller.session_id)).await?;
    credential_changed(&tx, caller, stamp).await?;
    audit::record_account(&tx, user_id, ip, AuditAction::UserRecoveryCodesRegenerated, &[user_id], json!({})).await?;
    tx.commit().await?;
    Ok(RecoveryCodes { recovery_codes: codes })
}

/// A platform admin's reset of a user's second factors (a lost phone and lost codes): every
/// factor, recovery code and waiting sign-in goes, and every session ends.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn reset(
    state: &AppState,
    admin: &Caller,
    user_id: Uuid,
    step_up: Option<&StepUp>,
    ip: Option<IpAddr>,
) -> AppResult<u64> {
    // On their own account an admin gives the fresh proof that /me asks of everyone: the
    // admin route is no way around it for a stolen admin session.
    if user_id == admin.user.id {
        let step_up = step_up.ok_or_else(|| {
            AppError::invalid("password", "confirm it is you: give the password, or a code of your authenticator")
        })?;
        confirm(state, admin, step_up).await?;
    }
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    users::find(&tx, user_id).await?.ok_or_else(|| AppError::NotFound("No such user.".into()))?;
    let removed = mfa::delete_all(&tx, user_id).await?;
    users::replace_stamp(&tx, user_id).await?;
    let ended = sessions::revoke_all_for_user(&tx, user_id).await?;
    lockouts::clear_codes(&tx, user_id).await?;
    let metadata = json!({"factors_removed": removed, "sessions_ended": ended});
    audit::record_account(&tx, admin.user.id, ip, AuditAction::UserMfaReset, &[user_id], metadata).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user_id, actor_id = %admin.user.id, factors_removed = removed, "second factors reset");
    Ok(removed)
}
