//! A sign-in through an organization's identity provider: sent there with our `state`, `nonce`
//! and PKCE challenge (single-use, ten minutes, bound to the browser by the `identity_sso`
//! cookie), and back: the code exchanged, the ID token verified, the identity (connection,
//! `sub`) resolved to an account (never by the email alone), the membership given, and the
//! account's own second factor asked for. An admin's test runs the same way and changes nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

use crate::auth::pkce;
use crate::auth::tokens;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::models::{AuditAction, ChallengePurpose, ClientInfo, Email, TestReport, User, UserStatus};
use crate::repositories::sso::{self as rows, ConnectionRow, NewSignIn, PendingSignIn};
use crate::repositories::{GenericClient, memberships, organizations, roles, users};
use crate::services::audit::{self, Attribution};
use crate::services::provider::open_browser_session;
use crate::services::second_factor;
use crate::services::sessions::Checked;
use crate::services::sign_in::SignInProof;
use crate::sso::id_token::{self, Expected, IdClaims, Refused};
use crate::sso::provider_calls::{ExchangeFailed, TokenClient, exchange_code, fetch_jwks};
use crate::state::AppState;

use super::routing::domain_of;
use super::{redirect_uri, secret_context};

/// How long a sign-in waits for the provider (DESIGN: ten minutes).
pub const SIGN_IN_TTL: Duration = Duration::from_secs(600);
/// The cookie that binds a sign-in to the browser that started it (SameSite=Lax: it comes back
/// with the provider's redirect, a top-level GET).
pub const BINDING_COOKIE: &str = "identity_sso";

/// What a sign-in is for.
#[derive(Clone, Copy, Debug)]
pub enum Purpose {
    /// A person's sign-in for a pending authorization request.
    SignIn {
        /// The request.
        request_id: Uuid,
    },
    /// An admin's test of the connection.
    Test {
        /// The admin, if a member started it.
        by: Option<Uuid>,
    },
}

/// A sign-in sent to the provider.
#[derive(Debug)]
pub struct Begun {
    /// The provider's authorization URL.
    pub url: String,
    /// The secret for the `identity_sso` cookie (none for a test).
    pub binding: Option<String>,
    /// When it stops waiting.
    pub expires_at: DateTime<Utc>,
}

/// Sends a sign-in to the connection's provider: the authorization code flow with PKCE (S256),
/// our `state` and `nonce`, and the typed address as `login_hint`.
pub async fn begin(
    state: &AppState,
    connection: &ConnectionRow,
    purpose: Purpose,
    login_hint: Option<&str>,
) -> AppResult<Begun> {
    let (sso_state, nonce, verifier) = (tokens::generate(), tokens::generate(), tokens::generate());
    let binding = matches!(purpose, Purpose::SignIn { .. }).then(tokens::generate);
    let pending = PendingSignIn {
        connection_id: connection.id,
        request_id: match purpose {
            Purpose::SignIn { request_id } => Some(request_id),
            Purpose::Test { .. } => None,
        },
        purpose: match purpose {
            Purpose::SignIn { .. } => "sign_in",
            Purpose::Test { .. } => "test",
        }
        .to_owned(),
        browser_binding: binding.as_deref().map(tokens::hash),
        nonce: nonce.clone(),
        code_verifier: verifier.clone(),
        created_by: match purpose {
            Purpose::Test { by } => by,
            Purpose::SignIn { .. } => None,
        },
    };
    let db = db::client(state.pool()).await?;
    let hash = tokens::hash(&sso_state);
    rows::insert_sign_in(&db, &NewSignIn { state_hash: &hash, pending: &pending, login_hint, ttl: SIGN_IN_TTL })
        .await?;
    let mut url = url::Url::parse(&connection.authorization_endpoint)
        .map_err(|_| AppError::bug("a stored authorization endpoint that is no URL"))?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &connection.client_id)
            .append_pair("redirect_uri", &redirect_uri(state))
            .append_pair("scope", &connection.scopes.join(" "))
            .append_pair("state", &sso_state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &pkce::challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        if let Some(hint) = login_hint {
            query.append_pair("login_hint", hint);
        }
    }
    let expires_at = Utc::now() + chrono::Duration::from_std(SIGN_IN_TTL).unwrap_or_default();
    tracing::info!(connection_id = %connection.id, purpose = pending.purpose, "sent to the identity provider");
    Ok(Begun { url: url.into(), binding, expires_at })
}

/// What the provider's redirect brought back (RFC 6749 §4.1.2, RFC 9207).
#[derive(Debug, Default)]
pub struct Callback {
    /// Our state.
    pub state: Option<String>,
    /// The code.
    pub code: Option<String>,
    /// The provider's error.
    pub error: Option<String>,
    /// Its words.
    pub error_description: Option<String>,
    /// The issuer that answered (RFC 9207), when the provider says.
    pub iss: Option<String>,
}

/// Where a callback leaves the browser.
#[derive(Debug)]
pub enum Finished {
    /// Signed in: back to the pending request with this browser session's token.
    SignedIn {
        /// The authorization request to resume.
        request_id: Uuid,
        /// The browser session's cookie token.
        browser_token: String,
    },
    /// The account has its own second factor: the code step, with this challenge.
    CodeNeeded {
        /// The authorization request to resume.
        request_id: Uuid,
        /// The challenge's token.
        mfa_token: String,
    },
    /// An admin's test: what the provider sent and what a sign-in would do.
    Tested(TestReport),
    /// The provider (its token endpoint or its keys) cannot be reached now: a 503 page saying
    /// so in these words (which name the provider, unlike a 503 of our own dependencies).
    ProviderDown(String),
}

/// Why a callback got no verified ID token.
enum NoToken {
    /// The provider cannot be reached.
    Down(String),
    /// Anything else.
    Refused(AppError),
}

impl From<AppError> for NoToken {
    fn from(err: AppError) -> NoToken {
        NoToken::Refused(err)
    }
}

impl From<crate::db::DbError> for NoToken {
    fn from(err: crate::db::DbError) -> NoToken {
        NoToken::Refused(err.into())
    }
}

fn gone() -> AppError {
    AppError::Gone(
        "This sign-in through your identity provider expired or was already finished. Go back to the application and sign in again."
            .into(),
    )
}

/// Finishes a sign-in on the provider's redirect back.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn finish(
    state: &AppState,
    callback: &Callback,
    binding_cookie: Option<&str>,
    client: &ClientInfo,
) -> AppResult<Finished> {
    let sso_state = callback.state.as_deref().filter(|s| tokens::is_well_formed(s)).ok_or_else(gone)?;
    let (pending, connection) = {
        let db = db::client(state.pool()).await?;
        let pending = rows::take_sign_in(&db, &tokens::hash(sso_state)).await?.ok_or_else(gone)?;
        let connection = rows::find_by_id(&db, pending.connection_id).await?.ok_or_else(gone)?;
        (pending, connection)
    };
    let request_id = pending.request_id;
    if let Some(expected) = &pending.browser_binding {
        let held = binding_cookie.filter(|c| tokens::is_well_formed(c)).map(tokens::hash);
        if held.as_deref() != Some(expected.as_slice()) {
            return Err(AppError::Forbidden(
                "This sign-in was started in another browser. Start again from the application, in this browser."
                    .into(),
            ));
        }
    }
    if callback.iss.as_deref().is_some_and(|iss| iss != connection.issuer) {
        return Err(AppError::Forbidden(format!(
            "The answer came from another identity provider than {} ({}).",
            connection.name, connection.issuer
        )));
    }
    if let Some(error) = &callback.error {
        let words: String = callback.error_description.as_deref().unwrap_or_default().chars().take(200).collect();
        return Err(AppError::Forbidden(format!(
            "{} did not sign you in ({error}{}{words}).",
            connection.name,
            if words.is_empty() { "" } else { ": " }
        )));
    }
    let code = callback
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 2048)
        .ok_or_else(|| AppError::BadRequest(format!("{} sent no code back.", connection.name)))?;
    let claims = match verified_claims(state, &connection, &pending, code).await {
        Ok(claims) => claims,
        Err(NoToken::Down(why)) => return Ok(Finished::ProviderDown(why)),
        Err(NoToken::Refused(err)) => return Err(err),
    };
    match request_id {
        None => Ok(Finished::Tested(test_report(state, &connection, &claims, pending.created_by).await?)),
        Some(request_id) => {
            if connection.status != crate::models::ConnectionStatus::Active || connection.domains.is_empty() {
                return Err(AppError::Forbidden(format!("{} does not sign anyone in now.", connection.name)));
            }
            let resolved = resolve(state, &connection, &claims, client).await?;
            complete(state, &connection, resolved, request_id, client).await
        }
    }
}

/// The provider's ID token for `code`, verified; its keys fetched again once when it names a
/// key we have not seen (the provider rotated its keys).
async fn verified_claims(
    state: &AppState,
    connection: &ConnectionRow,
    pending: &PendingSignIn,
    code: &str,
) -> Result<IdClaims, NoToken> {
    let opened = state
        .sealer()?
        .open(&connection.client_secret_sealed, &secret_context(connection.id))
        .map_err(AppError::internal("opening an SSO connection's client secret"))?;
    let secret = SecretString::from(
        String::from_utf8(opened.plaintext).map_err(AppError::internal("reading an SSO client secret"))?,
    );
    let egress = state.sso_egress().await?;
    let token_client = TokenClient {
        token_endpoint: &connection.token_endpoint,
        client_id: &connection.client_id,
        client_secret: &secret,
        auth_methods: &connection.token_auth_methods,
    };
    let id_token = exchange_code(egress, &token_client, code, &redirect_uri(state), &pending.code_verifier)
        .await
        .map_err(|e| {
            tracing::warn!(connection_id = %connection.id, error = %e, "the identity provider gave no ID token");
            match e {
                ExchangeFailed::Unreachable(_) => {
                    NoToken::Down(format!("{} cannot be reached right now; try again in a moment.", connection.name))
                }
                ExchangeFailed::Refused(why) => NoToken::Refused(AppError::Forbidden(format!(
                    "{} refused to finish the sign-in: {why}.",
                    connection.name
                ))),
            }
        })?;
    let expected = Expected {
        issuer: &connection.issuer,
        client_id: &connection.client_id,
        nonce: &pending.nonce,
        algorithms: &connection.id_token_algs,
    };
    let refused = |why: Refused| {
        tracing::warn!(connection_id = %connection.id, reason = %why, "an ID token was refused");
        NoToken::Refused(AppError::Forbidden(format!("{}'s answer could not be trusted: {why}.", connection.name)))
    };
    let known = connection.jwks.as_ref().map(id_token::keys_of).unwrap_or_default();
    match id_token::verify(&id_token, &known, &expected) {
        Ok(claims) => Ok(claims),
        Err(Refused::UnknownKey) => {
            let jwks = fetch_jwks(egress, &connection.jwks_uri).await.map_err(|why| {
                tracing::warn!(connection_id = %connection.id, reason = %why, "the provider's keys could not be fetched");
                NoToken::Down(format!("{}'s keys cannot be fetched right now; try again in a moment.", connection.name))
            })?;
            let db = db::client(state.pool()).await?;
            rows::set_jwks(&db, connection.id, &jwks).await?;
            id_token::verify(&id_token, &id_token::keys_of(&jwks), &expected).map_err(refused)
        }
        Err(why) => Err(refused(why)),
    }
}

/// An account resolved from an identity, read in the transaction that linked it.
struct Resolved {
    user: User,
    security_stamp: Uuid,
    has_second_factor: bool,
}

/// Why an identity signs no one in, for the sign-in's page and the test's report.
fn outside_domains(connection: &ConnectionRow, email: &str) -> String {
    format!(
        "{} sent the address {email}, which is not at a domain this organization has verified ({}).",
        connection.name,
        connection.domains.join(", ")
    )
}

fn unverified_account(connection: &ConnectionRow, email: &str) -> String {
    format!(
        "An account with {email} already exists here, but its address was never confirmed, so {} cannot sign \
         into it. Confirm the address with the link we mailed to it (or sign in with its password and ask for a \
         new link), then sign in through {} again.",
        connection.name, connection.name
    )
}

/// The email a new link may use: present, and at one of the organization's verified domains
/// (and then verified, whatever `email_verified` says).
fn trusted_email(connection: &ConnectionRow, claims: &IdClaims) -> AppResult<Email> {
    let raw = claims.email.as_deref().ok_or_else(|| {
        AppError::Forbidden(format!(
            "{} sent no email address; ask your IT admin to release the email claim.",
            connection.name
        ))
    })?;
    let email = Email::parse(raw).map_err(|_| AppError::Forbidden(outside_domains(connection, raw)))?;
    let domain = domain_of(email.as_str()).unwrap_or_default();
    if !connection.domains.contains(&domain) {
        return Err(AppError::Forbidden(outside_domains(connection, email.as_str())));
    }
    Ok(email)
}

/// Resolves the identity to an account in one transaction: the linked account; or, the first
/// time, the account with that (verified) email, or a new one; then the membership.
async fn resolve(
    state: &AppState,
    connection: &ConnectionRow,
    claims: &IdClaims,
    client: &ClientInfo,
) -> AppResult<Resolved> {
    let mut db = db::client(state.pool()).await?;
    let tx = db.transaction().await?;
    let by = |user_id: Uuid| Attribution {
        org_id: connection.org_id,
        actor_id: Some(user_id),
        actor_type: "user",
        ip: client.ip,
    };
    let user = match rows::identity_user(&tx, connection.id, &claims.sub).await? {
        Some(user_id) => {
            // The email claim is not read: the identity is the pair, so a provider that now
            // sends someone else's address still signs in only this account.
            rows::touch_identity(&tx, connection.id, &claims.sub).await?;
            users::find(&tx, user_id).await?.ok_or_else(|| AppError::bug("an identity linked to no account"))?
        }
        None => {
            let email = trusted_email(connection, claims)?;
            let (user, created) = match users::find_credentials(&tx, email.as_str()).await? {
                Some(found) if !found.user.email_verified => {
                    return Err(AppError::Forbidden(unverified_account(connection, email.as_str())));
                }
                Some(found) => (found.user, false),
                None => (create_account(&tx, &email, claims, client).await?, true),
            };
            if !rows::link_identity(&tx, connection.id, &claims.sub, user.id, email.as_str()).await? {
                return Err(AppError::Conflict(
                    "Another sign-in linked this identity at the same moment; sign in again.".into(),
                ));
            }
            let metadata = json!({"connection_id": connection.id, "connection": connection.name, "email": email.as_str(),
                                  "account_created": created});
            audit::record(&tx, by(user.id), AuditAction::UserSsoLinked, user.id, metadata).await?;
            tracing::info!(user_id = %user.id, connection_id = %connection.id, created, "identity linked");
            user
        }
    };
    if user.status != UserStatus::Active {
        return Err(AppError::Forbidden("This account is disabled.".into()));
    }
    // The account first, then the organization: the order every write takes.
    if !users::lock_for_deletion(&tx, user.id).await? {
        return Err(AppError::Forbidden("This account is disabled.".into()));
    }
    join(&tx, connection, &user, by(user.id)).await?;
    let found =
        users::find_credentials(&tx, &user.email).await?.ok_or_else(|| AppError::bug("a resolved account is gone"))?;
    tx.commit().await?;
    Ok(Resolved { user: found.user, security_stamp: found.security_stamp, has_second_factor: found.has_second_factor })
}

/// A new account for a first sign-in: no password, its email verified (it is at a verified
/// domain of the organization whose provider vouched for it).
async fn create_account(
    db: &impl GenericClient,
    email: &Email,
    claims: &IdClaims,
    client: &ClientInfo,
) -> AppResult<User> {
    let local = email.as_str().split('@').next().unwrap_or("member");
    let name = claims
        .name
        .as_deref()
        .and_then(|n| crate::models::DisplayName::parse(n).ok())
        .map(|n| n.as_str().to_owned())
        .unwrap_or_else(|| local.to_owned());
    let new = users::NewUser {
        id: Uuid::now_v7(),
        email: email.as_str(),
        name: &name,
        password_hash: None,
        email_verified: true,
    };
    let user = users::insert(db, &new).await.map_err(crate::services::account::email_taken)?;
    audit::record_account(
        db,
        user.id,
        client.ip,
        AuditAction::UserCreated,
        &[user.id],
        json!({"name": user.name, "source": "sso"}),
    )
    .await?;
    Ok(user)
}

/// Makes the account a member with the default role, within the seats; nothing for a member,
/// or for someone who left or was removed (a sign-in does not bring them back).
async fn join(tx: &impl GenericClient, connection: &ConnectionRow, user: &User, by: Attribution) -> AppResult<()> {
    let org_id = connection.org_id;
    if memberships::find(tx, org_id, user.id).await?.is_some() || rows::was_removed(tx, org_id, user.id).await? {
        return Ok(());
    }
    if organizations::lock_seats(tx, org_id).await?.is_none() {
        return Err(AppError::Forbidden("This organization no longer exists.".into()));
    }
    let role = roles::default_for_org(tx, org_id)
        .await?
        .ok_or_else(|| AppError::bug("an organization with no default role"))?;
    let seats =
        organizations::seats(tx, org_id).await?.ok_or_else(|| AppError::bug("seats of a locked organization"))?;
    if seats.max_members.is_some_and(|max| seats.members >= i64::from(max)) {
        return Err(AppError::Forbidden(
            "Your organization has no free seat for you here; ask its admin to make room, then sign in again.".into(),
        ));
    }
    if !memberships::insert(tx, org_id, user.id).await? {
        return Ok(());
    }
    let metadata = json!({"roles": [role.name], "source": "sso", "connection_id": connection.id});
    let role_ids = [role.id];
    tokio::try_join!(
        memberships::set_roles_and_find(tx, org_id, user.id, &role_ids),
        audit::record(tx, by, AuditAction::MemberAdded, user.id, metadata),
    )?;
    Ok(())
}

/// The account's own second factor, or the browser session.
async fn complete(
    state: &AppState,
    connection: &ConnectionRow,
    resolved: Resolved,
    request_id: Uuid,
    client: &ClientInfo,
) -> AppResult<Finished> {
    if resolved.has_second_factor {
        let db = db::client(state.pool()).await?;
        let checked = Checked { user: &resolved.user, security_stamp: resolved.security_stamp };
        let challenge = second_factor::challenge(state, &db, checked, ChallengePurpose::SsoLogin, None).await?;
        return Ok(Finished::CodeNeeded { request_id, mfa_token: challenge.mfa_token });
    }
    let proof =
        SignInProof::from_identity_provider(resolved.user, resolved.security_stamp, connection.idp_enforces_mfa);
    let browser_token = open_browser_session(state, &proof, client).await?;
    Ok(Finished::SignedIn { request_id, browser_token })
}

/// What a sign-in with these claims would do, read without writing; the test is logged.
async fn test_report(
    state: &AppState,
    connection: &ConnectionRow,
    claims: &IdClaims,
    by: Option<Uuid>,
) -> AppResult<TestReport> {
    let db = db::client(state.pool()).await?;
    let (outcome, would_sign_in) = match rows::identity_user(&db, connection.id, &claims.sub).await? {
        Some(user_id) => {
            let email = users::find(&db, user_id).await?.map(|u| u.email).unwrap_or_default();
            (format!("This identity is linked to the account {email}: a sign-in signs into it."), true)
        }
        None => match trusted_email(connection, claims) {
            Err(refused) => (refused.public_detail(), false),
            Ok(email) => match users::find_credentials(&db, email.as_str()).await? {
                Some(found) if !found.user.email_verified => (unverified_account(connection, email.as_str()), false),
                Some(_) => (
                    format!(
                        "A sign-in links this identity to the existing account {} and signs into it.",
                        email.as_str()
                    ),
                    true,
                ),
                None => (
                    format!(
                        "A sign-in creates an account for {} (no password) and adds it to the organization with its default role.",
                        email.as_str()
                    ),
                    true,
                ),
            },
        },
    };
    let metadata = json!({"subject": claims.sub, "email": claims.email, "would_sign_in": would_sign_in});
    // The member who started the test; a machine's has no one (its event says `system`).
    let attribution = Attribution { org_id: connection.org_id, actor_id: by, actor_type: "user", ip: None };
    audit::record(&db, attribution, AuditAction::SsoConnectionTested, connection.id, metadata).await?;
    Ok(TestReport {
        connection: connection.name.clone(),
        subject: claims.sub.clone(),
        email: claims.email.clone(),
        email_verified: claims.email_verified(),
        name: claims.name.clone(),
        amr: claims.amr.clone(),
        outcome,
        would_sign_in,
    })
}
