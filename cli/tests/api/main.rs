//! Integration tests through the merged router, each on a fresh database.

mod account;
mod account_lifecycle;
mod api_keys;
mod auth;
mod clients;
mod credentials;
mod database;
mod default_role;
mod discovery;
mod docs;
mod domain_enrollment;
mod domains;
mod events;
mod failures;
mod feed;
mod input;
mod invitations;
mod lockout;
mod mail;
mod matrix;
mod member_access;
mod member_limits;
mod members;
mod mfa;
mod mfa_keys;
mod mfa_paths;
mod mfa_policy;
mod my_sessions;
mod oauth;
mod openapi;
mod orgs;
mod pages;
mod platform;
mod pool;
mod provider;
mod quotas;
mod receiver;
mod rie;
mod roles;
mod scoped_tokens;
mod secrets;
mod sessions;
mod sso;
mod standard_clients;
mod statements;
mod tls;
mod webhook_delivery;
mod webhooks;

use identity_testkit::TestApp;

/// A fresh app with every route group.
pub async fn app() -> TestApp {
    TestApp::new(identity_cli::routes(), &[]).await
}

/// A fresh app with setting overrides.
pub async fn app_with(overrides: &[(&str, &str)]) -> TestApp {
    TestApp::new(identity_cli::routes(), overrides).await
}

pub const PASSWORD: &str = "correct horse battery";

/// A well-formed API key value (right shape and checksum) that is not `value`.
pub fn api_keys_value_of_another_shape(value: &str) -> String {
    let other =
        identity_shared::auth::machine_secret::generate(identity_shared::auth::machine_secret::SecretKind::ApiKey);
    assert_ne!(other, value);
    other
}

/// Creates an org through the API as the holder of `token`; returns its id.
pub async fn create_org(app: &TestApp, token: &str, name: &str) -> uuid::Uuid {
    let res = app.call(axum::http::Method::POST, "/orgs", Some(serde_json::json!({"name": name})), Some(token)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    res.json["id"].as_str().unwrap().parse().unwrap()
}

/// The id in a JWT's `sub`.
/// A signed-in platform administrator's token (root@example.com).
pub async fn platform_admin(app: &TestApp) -> String {
    let (token, _) = app.signed_in("root@example.com", PASSWORD).await;
    identity_shared::services::users::grant_platform_admin(app.state.pool(), &email("root@example.com")).await.unwrap();
    token
}

/// A checked email, for calling services directly.
pub fn email(raw: &str) -> identity_shared::models::Email {
    identity_shared::models::Email::parse(raw).expect("a valid test email")
}

pub fn user_id(app: &TestApp, token: &str) -> uuid::Uuid {
    app.state.jwt().verify(token).unwrap().sub
}

/// A fresh app that mails through the real SES client to the emulator at `endpoint`.
pub async fn app_with_ses_at(endpoint: &str, extra: &[(&str, &str)]) -> TestApp {
    let settings = identity_testkit::ses::settings(endpoint);
    let mut overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    overrides.extend_from_slice(extra);
    TestApp::new(identity_cli::routes(), &overrides).await
}

/// A fresh app that mails through the real SES client to the emulator scripts/test started.
pub async fn app_with_ses() -> TestApp {
    app_with_ses_at(&identity_testkit::ses::url(), &[]).await
}

/// An email address no other test uses, so tests can share the emulator's mailbox.
pub fn unique(name: &str) -> String {
    format!("{name}.{}@example.com", uuid::Uuid::now_v7().simple())
}

/// GET a feed path until it holds at least `count` events (5 s at most). A transaction
/// running anywhere on the cluster (another test's) holds the feed back until it ends: wait
/// for it, as a poller would.
pub async fn feed_of(app: &TestApp, path: &str, token: &str, count: usize) -> identity_testkit::client::TestResponse {
    let mut feed = app.get(path, Some(token)).await;
    for _ in 0..200 {
        if feed.json["items"].as_array().is_some_and(|items| items.len() >= count) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        feed = app.get(path, Some(token)).await;
    }
    feed
}
