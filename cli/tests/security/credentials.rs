//! A credential change ends all the old credential could still do. Each change (made through
//! the API, as a user or an admin would) is crossed with each artifact that was pending when it
//! committed: another session, its refresh token, a mailed link, a sign-in waiting for its
//! code, the OpenID Provider's browser session, a code it issued, an application's refresh
//! token. Then sign-ins racing the changes that should end them: none may survive.

use std::fmt;

use axum::http::Method;
use identity_shared::auth::tokens::Opaque;
use identity_shared::services::joining::{self, Joining};
use identity_shared::services::provider;
use identity_testkit::{Authenticator, TestApp};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{PASSWORD, figure};

const NEW_PASSWORD: &str = "an entirely new password";

/// A change of credentials or status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    PasswordChanged,
    PasswordReset,
    FactorActivated,
    FactorRemoved,
    FactorsResetByAdmin,
    RecoveryCodesRegenerated,
    EmailChanged,
    DisabledThenEnabled,
    AddressFirstProven,
}

const CHANGES: [Change; 9] = [
    Change::PasswordChanged,
    Change::PasswordReset,
    Change::FactorActivated,
    Change::FactorRemoved,
    Change::FactorsResetByAdmin,
    Change::RecoveryCodesRegenerated,
    Change::EmailChanged,
    Change::DisabledThenEnabled,
    Change::AddressFirstProven,
];

impl Change {
    /// Whether the account has an authenticator before the change.
    fn has_factor(self) -> bool {
        matches!(self, Change::FactorRemoved | Change::FactorsResetByAdmin | Change::RecoveryCodesRegenerated)
            || self.proves_password_sign_ins()
    }

    /// Changes that any account can undergo, tried with an authenticator so that the waiting
    /// sign-ins are crossed with them too.
    fn proves_password_sign_ins(self) -> bool {
        matches!(
            self,
            Change::PasswordChanged | Change::PasswordReset | Change::EmailChanged | Change::DisabledThenEnabled
        )
    }

    /// Whether the change can happen to an account whose address nobody has proven yet (on
    /// which the verification link is still pending); factor and address changes cannot.
    fn open_to_unproven(self) -> bool {
        matches!(self, Change::PasswordChanged | Change::PasswordReset | Change::DisabledThenEnabled)
    }
}

/// What was pending when the change committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Artifact {
    OtherSession,
    RefreshToken,
    EmailChangeLink,
    ResetLink,
    VerificationLink,
    MfaToken,
    InvitationCodeStep,
    ProviderSession,
    AuthorizationCode,
    ApplicationRefreshToken,
}

const ARTIFACTS: [Artifact; 10] = [
    Artifact::ProviderSession,
    Artifact::AuthorizationCode,
    Artifact::ApplicationRefreshToken,
    Artifact::OtherSession,
    Artifact::RefreshToken,
    Artifact::EmailChangeLink,
    Artifact::ResetLink,
    Artifact::VerificationLink,
    Artifact::MfaToken,
    Artifact::InvitationCodeStep,
];

/// One cell of the table.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Refused,
    Survived(String),
    /// The artifact cannot exist beside this change (the reason).
    NotApplicable(&'static str),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Refused => f.write_str("refused"),
            Outcome::Survived(how) => write!(f, "SURVIVED ({how})"),
            Outcome::NotApplicable(why) => write!(f, "n/a ({why})"),
        }
    }
}

/// The account, its admin and everything pending before the change.
struct World {
    app: TestApp,
    /// Whether the address was proven before the change.
    verified: bool,
    email: String,
    id: Uuid,
    /// The session that makes the change itself (it may stay).
    actor: String,
    admin: String,
    factor: Option<Authenticator>,
    other: Option<(String, String)>,
    email_link: Option<String>,
    reset_link: Option<String>,
    verify_link: Option<String>,
    mfa_token: Option<String>,
    /// An invitation's token and the mfa_token its "sign in and join" page step handed out.
    join: Option<(String, String)>,
    /// The OpenID Provider: an application (id, secret), the browser session's cookie token,
    /// a code not yet exchanged, and a refresh token the application holds.
    provider: Option<ProviderArtifacts>,
}

struct ProviderArtifacts {
    client_id: String,
    secret: String,
    browser: String,
    code: String,
    refresh_token: String,
}

const CALLBACK: &str = "https://app.example.com/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92_9BN0cZRmNhRC8OGV2hZGX8SgA";
const CHALLENGE: &str = "u2YvlX2IHzLdz5cyAdvOG67sTEwtKNImXXV3tJYk-1Y";

/// An authorization request of `client_id` as the application sends it.
fn authorize_params(client_id: &str, prompt_none: bool) -> provider::AuthorizeParams {
    let prompt = if prompt_none { "&prompt=none" } else { "" };
    provider::AuthorizeParams::parse(&format!(
        "response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback\
         &scope=openid%20offline_access&code_challenge={CHALLENGE}&code_challenge_method=S256{prompt}"
    ))
    .unwrap()
}

/// The code (or error) an authorization answered with at the redirect URI.
async fn code_or_error(app: &TestApp, client_id: &str, browser: &str) -> Result<String, String> {
    let next = provider::authorize(&app.state, &authorize_params(client_id, true), Some(browser)).await.unwrap();
    let provider::Next::Redirect(location) = next else { return Err(format!("{next:?}")) };
    let url = url::Url::parse(&location).unwrap();
    let get = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    get("code").ok_or_else(|| get("error").unwrap_or(location))
}

/// The token endpoint's answer to a form from the application.
async fn token_endpoint(app: &TestApp, client_id: &str, secret: &str, body: String) -> Value {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/oauth2/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Basic {basic}"))
        .body(axum::body::Body::from(body))
        .unwrap();
    app.send(request).await.json
}

fn exchange_body(code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&code_verifier={VERIFIER}"
    )
}

/// The token of the newest link mailed with `template` to `to`; mail is sent to an endpoint
/// that refuses it, so the outbox keeps the link.
async fn link(app: &TestApp, template: &str, to: &str) -> String {
    let rows = app
        .sql(&format!(
            "SELECT payload->>'link' FROM email_outbox WHERE template = '{template}' AND recipient = '{to}'
             ORDER BY id DESC LIMIT 1"
        ))
        .await;
    let link: String = rows.first().unwrap_or_else(|| panic!("no {template} mail to {to}")).get(0);
    link.split_once("token=").expect("a link with a token").1.to_owned()
}

fn unique(name: &str) -> String {
    format!("{name}.{}@example.com", Uuid::now_v7().simple())
}

async fn app() -> TestApp {
    let settings = identity_testkit::ses::settings("http://127.0.0.1:9");
    let overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestApp::new(identity_cli::routes(), &overrides).await
}

async fn ok(res: identity_testkit::TestResponse, what: &str) -> Value {
    assert!(res.status.is_success(), "{what}: {} {}", res.status, res.json);
    res.json
}

async fn world(change: Change, verified: bool) -> World {
    let app = app().await;
    let admin_email = unique("admin");
    let (admin, _) = app.signed_in(&admin_email, PASSWORD).await;
    app.sql(&format!("UPDATE users SET is_platform_admin = true WHERE email = '{admin_email}'")).await;
    let email = unique("victim");
    let (actor, _) =
        if verified { app.signed_in(&email, PASSWORD).await } else { app.unverified_signed_in(&email, PASSWORD).await };
    let id = app.state.jwt().verify(&actor).unwrap().sub;
    let factor = if change.has_factor() && verified { Some(app.enrol_totp(&actor, PASSWORD).await) } else { None };
    let other = Some(match &factor {
        Some(f) => app.login_with_code(&email, PASSWORD, f).await,
        None => app.login(&email, PASSWORD).await,
    });
    let mut w = World {
        app,
        verified,
        email,
        id,
        actor,
        admin,
        factor,
        other,
        email_link: None,
        reset_link: None,
        verify_link: None,
        mfa_token: None,
        join: None,
        provider: None,
    };
    w.make_pending(change).await;
    w
}

impl World {
    async fn make_pending(&mut self, change: Change) {
        let app = &self.app;
        let other = self.other.as_ref().map(|(access, _)| access.clone()).unwrap();
        if self.verified && change != Change::EmailChanged {
            let moved = unique("moved");
            let body = json!({"new_email": moved, "password": PASSWORD});
            ok(app.call(Method::POST, "/me/email", Some(body), Some(&other)).await, "asking an email change").await;
            self.email_link = Some(link(app, "confirm_email_change", &moved).await);
        }
        if change != Change::PasswordReset {
            ok(app.post("/auth/password/forgot", json!({"email": self.email})).await, "forgot").await;
            self.reset_link = Some(link(app, "reset_password", &self.email).await);
        }
        if !self.verified {
            self.verify_link = Some(link(app, "verify_email", &self.email).await);
        }
        self.provider = Some(self.signed_in_at_the_provider().await);
        if self.factor.is_some() {
            let res =
                ok(app.post("/auth/login", json!({"email": self.email, "password": PASSWORD})).await, "login").await;
            self.mfa_token = Some(res["mfa_token"].as_str().expect("an mfa_token").to_owned());
            // An organization invites the account; its page's "sign in and join" waits for a code.
            let org =
                ok(app.call(Method::POST, "/orgs", Some(json!({"name": "Acme"})), Some(&self.admin)).await, "org")
                    .await;
            let org = org["id"].as_str().unwrap().to_owned();
            let body = json!({"email": self.email});
            let path = format!("/orgs/{org}/invitations");
            ok(app.call(Method::POST, path, Some(body), Some(&self.admin)).await, "invite").await;
            let token = link(app, "invitation", &self.email).await;
            let opaque = Opaque::parse(token.clone().into()).unwrap();
            let joining = joining::accept_with_password(&app.state, &opaque, &password(PASSWORD), Default::default())
                .await
                .expect("sign in and join, step one");
            let Joining::NeedsCode(waiting) = joining else { panic!("the account has a factor: a code comes next") };
            self.join = Some((token, waiting.mfa_token));
        }
    }

    /// Signs the account in at the OpenID Provider through its hosted steps (the code after the
    /// password when it has a factor): a browser session, a code waiting to be exchanged and
    /// an application's refresh token.
    async fn signed_in_at_the_provider(&self) -> ProviderArtifacts {
        let app = &self.app;
        let body = json!({"name": "CRM", "kind": "web", "redirect_uris": [CALLBACK]});
        let registered =
            ok(app.call(Method::POST, "/oauth2/clients", Some(body), Some(&self.admin)).await, "app").await;
        let client_id = registered["client_id"].as_str().unwrap().to_owned();
        let secret = registered["client_secret"].as_str().unwrap().to_owned();
        let client = Default::default();
        let browser =
            match provider::with_password(&app.state, &self.email, &password(PASSWORD), &client).await.unwrap() {
                provider::PasswordStep::SignedIn(token) => token,
                provider::PasswordStep::CodeNeeded(mfa_token) => {
                    app.forget_used_steps().await;
                    let code = self.factor.as_ref().unwrap().code(0);
                    let proof = identity_shared::services::second_factor::Proof::code(&code).unwrap();
                    let token = Opaque::parse(mfa_token.into()).unwrap();
                    provider::with_code(&app.state, &token, &proof, &client).await.unwrap()
                }
            };
        let first = code_or_error(app, &client_id, &browser).await.expect("a code for the signed-in browser");
        let tokens = token_endpoint(app, &client_id, &secret, exchange_body(&first)).await;
        let refresh_token = tokens["refresh_token"].as_str().unwrap_or_else(|| panic!("{tokens}")).to_owned();
        let code = code_or_error(app, &client_id, &browser).await.expect("a second code");
        ProviderArtifacts { client_id, secret, browser, code, refresh_token }
    }

    /// Makes the change as a user (or their admin) would, through the API.
    async fn apply(&mut self, change: Change) {
        let app = &self.app;
        let (actor, admin) = (self.actor.clone(), self.admin.clone());
        let user = format!("/users/{}", self.id);
        match change {
            Change::PasswordChanged => {
                let body = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
                ok(app.call(Method::POST, "/me/password", Some(body), Some(&actor)).await, "password change").await;
            }
            Change::PasswordReset => {
                ok(app.post("/auth/password/forgot", json!({"email": self.email})).await, "forgot").await;
                let token = link(app, "reset_password", &self.email).await;
                let body = json!({"token": token, "new_password": NEW_PASSWORD});
                ok(app.post("/auth/password/reset", body).await, "reset").await;
            }
            Change::FactorActivated => {
                self.factor = Some(app.enrol_totp(&actor, PASSWORD).await);
            }
            Change::FactorRemoved => {
                let id = &self.factor.as_ref().unwrap().id;
                let res = app
                    .call(Method::DELETE, format!("/me/mfa/{id}"), Some(json!({"password": PASSWORD})), Some(&actor))
                    .await;
                assert_eq!(res.status, 204, "{}", res.json);
            }
            Change::FactorsResetByAdmin => {
                let res = app.call(Method::DELETE, format!("{user}/mfa"), None, Some(&admin)).await;
                assert_eq!(res.status, 204, "{}", res.json);
            }
            Change::RecoveryCodesRegenerated => {
                let body = json!({"password": PASSWORD});
                let path = "/me/mfa/recovery-codes";
                ok(app.call(Method::POST, path, Some(body), Some(&actor)).await, "new recovery codes").await;
            }
            Change::EmailChanged => {
                let new = unique("elsewhere");
                let body = json!({"new_email": new, "password": PASSWORD});
                ok(app.call(Method::POST, "/me/email", Some(body), Some(&actor)).await, "email change").await;
                let token = link(app, "confirm_email_change", &new).await;
                ok(app.post("/auth/email/confirm", json!({"token": token})).await, "confirm").await;
            }
            Change::DisabledThenEnabled => {
                for status in ["disabled", "active"] {
                    let body = json!({"status": status});
                    ok(app.call(Method::PATCH, user.clone(), Some(body), Some(&admin)).await, status).await;
                }
            }
            Change::AddressFirstProven => {
                let token = self.verify_link.take().unwrap();
                ok(app.post("/auth/verify-email", json!({"token": token})).await, "verify").await;
            }
        }
    }

    /// Tries the artifact after the change.
    async fn try_artifact(&self, change: Change, artifact: Artifact) -> Outcome {
        let app = &self.app;
        let refused = |status: u16, want: u16, body: &Value| {
            if status == want { Outcome::Refused } else { Outcome::Survived(format!("{status} {body}")) }
        };
        match artifact {
            Artifact::OtherSession => {
                let (access, _) = self.other.as_ref().unwrap();
                let res = app.get("/me", Some(access)).await;
                refused(res.status.as_u16(), 401, &res.json)
            }
            Artifact::RefreshToken => {
                let (_, refresh) = self.other.as_ref().unwrap();
                let res = app.post("/auth/refresh", json!({"refresh_token": refresh})).await;
                refused(res.status.as_u16(), 401, &res.json)
            }
            Artifact::EmailChangeLink => match &self.email_link {
                None if !self.verified => Outcome::NotApplicable("an unproven address cannot ask to move"),
                None => Outcome::NotApplicable("the change is itself a newer email change"),
                Some(token) => {
                    let res = app.post("/auth/email/confirm", json!({"token": token})).await;
                    refused(res.status.as_u16(), 422, &res.json)
                }
            },
            Artifact::ResetLink => match &self.reset_link {
                None => Outcome::NotApplicable("the change spends the newest reset link itself"),
                Some(token) => {
                    let body = json!({"token": token, "new_password": "the attacker's password"});
                    let res = app.post("/auth/password/reset", body).await;
                    refused(res.status.as_u16(), 422, &res.json)
                }
            },
            Artifact::VerificationLink => match &self.verify_link {
                None if change == Change::AddressFirstProven => Outcome::NotApplicable("the change spends it"),
                None => Outcome::NotApplicable("a proven address has no verification link"),
                Some(token) => {
                    let res = app.post("/auth/verify-email", json!({"token": token})).await;
                    refused(res.status.as_u16(), 422, &res.json)
                }
            },
            Artifact::ProviderSession => {
                let p = self.provider.as_ref().unwrap();
                match code_or_error(app, &p.client_id, &p.browser).await {
                    Err(error) if error == "login_required" => Outcome::Refused,
                    Err(other) => Outcome::Survived(format!("refused for another reason: {other}")),
                    Ok(_) => Outcome::Survived("a code without a password".into()),
                }
            }
            Artifact::AuthorizationCode => {
                let p = self.provider.as_ref().unwrap();
                let res = token_endpoint(app, &p.client_id, &p.secret, exchange_body(&p.code)).await;
                if res["error"] == "invalid_grant" { Outcome::Refused } else { Outcome::Survived(res.to_string()) }
            }
            Artifact::ApplicationRefreshToken => {
                let p = self.provider.as_ref().unwrap();
                let body = format!("grant_type=refresh_token&refresh_token={}", p.refresh_token);
                let res = token_endpoint(app, &p.client_id, &p.secret, body).await;
                if res["error"] == "invalid_grant" { Outcome::Refused } else { Outcome::Survived(res.to_string()) }
            }
            Artifact::MfaToken if !self.verified => Outcome::NotApplicable("an unproven address cannot enrol a factor"),
            Artifact::InvitationCodeStep if !self.verified => {
                Outcome::NotApplicable("an unproven address cannot enrol a factor")
            }
            Artifact::MfaToken => match (&self.mfa_token, &self.factor) {
                (Some(token), Some(factor)) => {
                    app.forget_used_steps().await;
                    let res = app.post("/auth/mfa/verify", json!({"mfa_token": token, "code": factor.code(0)})).await;
                    let about_token = res.json["detail"].as_str().is_some_and(|d| d.contains("mfa_token"));
                    if res.status == 401 && about_token {
                        Outcome::Refused
                    } else {
                        refused(res.status.as_u16(), 0, &res.json)
                    }
                }
                _ => Outcome::NotApplicable("no authenticator before the change, so no sign-in waits for a code"),
            },
            Artifact::InvitationCodeStep => match (&self.join, &self.factor) {
                (Some((invitation, mfa_token)), Some(factor)) => {
                    app.forget_used_steps().await;
                    let invitation = Opaque::parse(invitation.clone().into()).unwrap();
                    let mfa_token = Opaque::parse(mfa_token.clone().into()).unwrap();
                    let proof = identity_shared::services::second_factor::Proof::code(&factor.code(0)).unwrap();
                    match joining::accept_with_code(&app.state, &invitation, &mfa_token, &proof, Default::default())
                        .await
                    {
                        Err(identity_shared::error::AppError::Unauthorized(detail)) if detail.contains("mfa_token") => {
                            Outcome::Refused
                        }
                        Err(other) => Outcome::Survived(format!("refused for another reason: {other}")),
                        Ok(_) => Outcome::Survived("joined".into()),
                    }
                }
                _ => Outcome::NotApplicable("no authenticator before the change, so no sign-in waits for a code"),
            },
        }
    }
}

fn password(raw: &str) -> identity_shared::models::Password {
    identity_shared::models::Password::parse(raw.to_owned().into()).expect("a password")
}

/// One row of the table: the change made to a fresh world, then every artifact tried.
async fn row(change: Change, verified: bool) -> (String, usize, Vec<String>) {
    let mut w = world(change, verified).await;
    w.apply(change).await;
    let (mut tried, mut survived, mut cells) = (0, vec![], vec![]);
    for artifact in ARTIFACTS {
        let outcome = w.try_artifact(change, artifact).await;
        if !matches!(outcome, Outcome::NotApplicable(_)) {
            tried += 1;
        }
        if let Outcome::Survived(how) = &outcome {
            survived.push(format!("{change:?} x {artifact:?}: {how}"));
        }
        cells.push(format!("{artifact:?} {outcome}"));
    }
    let account = if verified { "proven address" } else { "unproven address" };
    (format!("{change:?} ({account}): {}", cells.join("; ")), tried, survived)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_ends_every_artifact_pending_when_it_commits() {
    let mut worlds: Vec<(Change, bool)> = CHANGES.iter().map(|c| (*c, *c != Change::AddressFirstProven)).collect();
    worlds.extend(CHANGES.iter().filter(|c| c.open_to_unproven()).map(|c| (*c, false)));
    let rows: Vec<_> = worlds.into_iter().map(|(change, verified)| tokio::spawn(row(change, verified))).collect();
    let (mut tried, mut survived) = (0, vec![]);
    for row in rows {
        let (line, cells, survivors) = row.await.unwrap();
        figure(format!("credential change x artifact | {line}"));
        tried += cells;
        survived.extend(survivors);
    }
    figure(format!(
        "credential change x artifact: {} changes x {} artifacts, {tried} cells tried, {} refused, {} survived",
        CHANGES.len(),
        ARTIFACTS.len(),
        tried - survived.len(),
        survived.len()
    ));
    assert!(survived.is_empty(), "survivors:\n{}", survived.join("\n"));
    assert!(tried >= 50, "the table tries most cells: {tried}");
}

/// A change that should end every password sign-in in flight when it commits.
#[derive(Clone, Copy, Debug)]
enum Race {
    PasswordChange,
    PasswordReset,
    FactorActivated,
}

/// Rounds of sign-ins with the old password racing one change; every session they got must be
/// dead once the change has committed. Hashing is made slower than the other tests' so that
/// sign-ins are mid-hash when the change commits.
async fn race(kind: Race, rounds: usize, sign_ins: usize) -> RaceFigures {
    let mut figures = RaceFigures::default();
    for round in 0..rounds {
        let settings = identity_testkit::ses::settings("http://127.0.0.1:9");
        let mut overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        overrides.extend([("ARGON2_MEMORY_KIB", "4096"), ("ARGON2_ITERATIONS", "2"), ("LOGIN_MAX_FAILURES", "1000")]);
        let app = std::sync::Arc::new(TestApp::new(identity_cli::routes(), &overrides).await);
        let email = unique("raced");
        let (actor, _) = app.signed_in(&email, PASSWORD).await;
        let reset = match kind {
            Race::PasswordReset => {
                ok(app.post("/auth/password/forgot", json!({"email": email})).await, "forgot").await;
                Some(link(&app, "reset_password", &email).await)
            }
            _ => None,
        };
        // The authenticator is enrolled beforehand; only its activation races.
        let pending = match kind {
            Race::FactorActivated => {
                let res =
                    app.call(Method::POST, "/me/mfa/totp", Some(json!({"password": PASSWORD})), Some(&actor)).await;
                let secret = res.json["secret"].as_str().expect("a secret");
                let secret = identity_shared::auth::totp::decode_secret(secret).unwrap();
                Some((res.json["id"].as_str().unwrap().to_owned(), secret))
            }
            _ => None,
        };
        let logins: Vec<_> = (0..sign_ins)
            .map(|i| {
                let (app, email) = (app.clone(), email.clone());
                tokio::spawn(async move {
                    // Spread over the change's own milliseconds, so that some are mid-hash
                    // when it commits.
                    tokio::time::sleep(std::time::Duration::from_millis(i as u64 * 4)).await;
                    app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await
                })
            })
            .collect();
        let change = {
            let (app, actor) = (app.clone(), actor.clone());
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(8)).await;
                match kind {
                    Race::PasswordChange => {
                        let body = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
                        ok(app.call(Method::POST, "/me/password", Some(body), Some(&actor)).await, "change").await;
                    }
                    Race::PasswordReset => {
                        let body = json!({"token": reset.unwrap(), "new_password": NEW_PASSWORD});
                        ok(app.post("/auth/password/reset", body).await, "reset").await;
                    }
                    Race::FactorActivated => {
                        let (id, secret) = pending.unwrap();
                        let at = identity_shared::auth::totp::now_secs();
                        let code = identity_shared::auth::totp::code_at(&secret, at).unwrap();
                        let path = format!("/me/mfa/totp/{id}/verify");
                        ok(app.call(Method::POST, path, Some(json!({"code": code})), Some(&actor)).await, "activate")
                            .await;
                    }
                }
            })
        };
        let mut sessions = vec![];
        for login in logins {
            let res = login.await.unwrap();
            figures.sign_ins += 1;
            if let Some(access) = res.json["access_token"].as_str() {
                sessions.push((access.to_owned(), res.json["refresh_token"].as_str().unwrap().to_owned()));
            } else if res.json["detail"].as_str().is_some_and(|d| d.contains("changed while signing in")) {
                figures.overtaken += 1;
            }
        }
        change.await.unwrap();
        figures.got_tokens += sessions.len();
        for (access, refresh) in sessions {
            let me = app.get("/me", Some(&access)).await.status;
            let refreshed = app.post("/auth/refresh", json!({"refresh_token": refresh})).await.status;
            if me != 401 || refreshed != 401 {
                figures.survivors.push(format!("round {round}: GET /me {me}, refresh {refreshed}"));
            }
        }
    }
    figures
}

/// What the sign-ins racing one kind of change came to.
#[derive(Default)]
struct RaceFigures {
    sign_ins: usize,
    /// Sessions opened before the change committed (each must be dead after it).
    got_tokens: usize,
    /// Sign-ins whose password check began before the change and whose session it refused.
    overtaken: usize,
    survivors: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_sign_in_in_flight_outlives_a_change_that_commits_during_it() {
    let mut survived = vec![];
    for kind in [Race::PasswordChange, Race::PasswordReset, Race::FactorActivated] {
        let f = race(kind, 8, 16).await;
        figure(format!(
            "sign-ins racing {kind:?}: {} in 8 rounds, {} got tokens before it, {} overtaken mid-check and refused, \
             {} survived the change",
            f.sign_ins,
            f.got_tokens,
            f.overtaken,
            f.survivors.len()
        ));
        survived.extend(f.survivors.into_iter().map(|s| format!("{kind:?} {s}")));
    }
    assert!(survived.is_empty(), "survivors:\n{}", survived.join("\n"));
}
