//! Rotating MFA_ENCRYPTION_KEY: previous keys still open what they sealed, each secret is
//! sealed again under the new key at its next use or by `identity mfa reseal`, and then the
//! old key can go.

use identity_shared::auth::sealed::Sealer;
use identity_testkit::TestApp;
use serde_json::json;

use crate::{PASSWORD, app};

/// The key `TestDatabase::config` seals with.
const OLD: &str = identity_testkit::MFA_TEST_KEY;
const NEW: &str = "the rotated-in mfa key, also 32 bytes or more";

/// Whether the factor's stored secret opens under `key` alone.
async fn opens_under(app: &TestApp, factor: &str, key: &str) -> bool {
    let rows = app.sql(&format!("SELECT secret_sealed FROM mfa_factors WHERE id = '{factor}'")).await;
    let sealed: Vec<u8> = rows[0].get(0);
    let id = uuid::Uuid::parse_str(factor).unwrap();
    Sealer::new(key.as_bytes()).unwrap().open(&sealed, id.as_bytes()).is_ok()
}

#[tokio::test]
async fn after_a_rotation_a_code_still_signs_in_and_its_secret_moves_to_the_new_key() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let factor = app.enrol_totp(&token, PASSWORD).await;
    assert!(opens_under(&app, &factor.id, OLD).await);

    let rotated =
        app.sibling(identity_cli::routes(), &[("MFA_ENCRYPTION_KEY", NEW), ("MFA_PREVIOUS_ENCRYPTION_KEYS", OLD)]);
    rotated.login_with_code("ada@example.com", PASSWORD, &factor).await;
    assert!(opens_under(&app, &factor.id, NEW).await, "sealed again under the new key with the accepted step");
    assert!(!opens_under(&app, &factor.id, OLD).await);

    // The old key can now go: the new one alone checks the code.
    let new_only = app.sibling(identity_cli::routes(), &[("MFA_ENCRYPTION_KEY", NEW)]);
    new_only.login_with_code("ada@example.com", PASSWORD, &factor).await;
}

#[tokio::test]
async fn a_factor_enrolled_before_a_rotation_is_activated_and_sealed_under_the_new_key() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let res =
        app.call(axum::http::Method::POST, "/me/mfa/totp", Some(json!({"password": PASSWORD})), Some(&token)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    let id = res.json["id"].as_str().unwrap().to_owned();
    let secret = identity_shared::auth::totp::decode_secret(res.json["secret"].as_str().unwrap()).unwrap();
    let code = identity_shared::auth::totp::code_at(&secret, identity_shared::auth::totp::now_secs()).unwrap();

    let rotated =
        app.sibling(identity_cli::routes(), &[("MFA_ENCRYPTION_KEY", NEW), ("MFA_PREVIOUS_ENCRYPTION_KEYS", OLD)]);
    let path = format!("/me/mfa/totp/{id}/verify");
    let ok = rotated.call(axum::http::Method::POST, &path, Some(json!({"code": code})), Some(&token)).await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    assert!(opens_under(&app, &id, NEW).await);
    assert!(!opens_under(&app, &id, OLD).await);
}

#[tokio::test]
async fn without_the_previous_key_a_rotated_deployment_cannot_read_old_factors() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let factor = app.enrol_totp(&token, PASSWORD).await;
    let new_only = app.sibling(identity_cli::routes(), &[("MFA_ENCRYPTION_KEY", NEW)]);
    let login = new_only.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    let verify = json!({"mfa_token": login.json["mfa_token"], "code": factor.code(0)});
    let res = new_only.post("/auth/mfa/verify", verify).await;
    // A deployment error, not the user's: a 500 whose body names nothing.
    res.assert_problem(500);
    assert!(!res.json.to_string().contains("MFA_ENCRYPTION_KEY"), "{}", res.json);
    assert!(opens_under(&app, &factor.id, OLD).await, "the row is left as it was");
}

#[test]
fn a_previous_key_without_a_current_one_or_too_short_is_refused_at_start() {
    let config = |pairs: &[(&str, &str)]| {
        let mut map: std::collections::HashMap<String, String> = [
            ("DATABASE_URL", "postgres://localhost/x"),
            ("JWT_PRIVATE_KEY", &identity_shared::auth::jwt::generate_key().0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        map.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        identity_shared::Config::from_map(&map).unwrap()
    };
    let state = |pairs: &[(&str, &str)]| {
        identity_shared::AppState::new(config(pairs)).map(|_| ()).map_err(|e| identity_shared::db::chain(&e))
    };
    assert!(state(&[("MFA_ENCRYPTION_KEY", NEW), ("MFA_PREVIOUS_ENCRYPTION_KEYS", OLD)]).is_ok());
    let orphan = state(&[("MFA_PREVIOUS_ENCRYPTION_KEYS", OLD)]).unwrap_err();
    assert!(orphan.contains("without MFA_ENCRYPTION_KEY"), "{orphan}");
    let short = state(&[("MFA_ENCRYPTION_KEY", NEW), ("MFA_PREVIOUS_ENCRYPTION_KEYS", "short")]).unwrap_err();
    assert!(short.contains("at least 32"), "{short}");
    assert!(!short.contains(NEW) && !orphan.contains(OLD), "no key in the message");
}
