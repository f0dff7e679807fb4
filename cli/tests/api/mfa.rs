//! Second factors: enrolment, sign-in with a code or a recovery code, replay, the code lockout
//! under parallel guesses, the secret sealed at rest, and removal and admin reset.

use axum::http::Method;
use identity_shared::auth::totp;
use serde_json::json;

use crate::{PASSWORD, app, app_with, user_id};

fn amr(app: &identity_testkit::TestApp, token: &str) -> Vec<String> {
    app.state.jwt().verify(token).unwrap().amr
}

#[tokio::test]
async fn enrolment_gives_an_app_what_it_needs_and_stays_pending_until_a_code_proves_it() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let res = app.call(Method::POST, "/me/mfa/totp", Some(json!({"password": PASSWORD})), Some(&token)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.json["status"], "pending");
    assert_eq!(res.json["type"], "totp");
    let secret = res.json["secret"].as_str().unwrap();
    let uri = res.json["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Identity%20API:ada%40example.com?"), "{uri}");
    for part in [format!("secret={secret}"), "issuer=Identity%20API".into()] {
        assert!(uri.contains(&part), "{uri} lacks {part}");
    }
    assert!(res.json["qr_svg"].as_str().unwrap().contains("<svg"));
    let bytes = totp::decode_secret(secret).unwrap();
    assert_eq!(bytes.len(), 20, "160-bit secrets");

    // Stored sealed: neither the raw bytes nor the base32 appear in the row.
    let row = app.sql("SELECT secret_sealed FROM mfa_factors").await;
    let sealed: Vec<u8> = row[0].get(0);
    assert!(!sealed.windows(bytes.len()).any(|w| w == bytes.as_slice()));
    assert!(!String::from_utf8_lossy(&sealed).contains(secret));

    // Pending: login still answers tokens, GET /me/mfa lists it as pending.
    let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    assert!(login.json["access_token"].is_string(), "{}", login.json);
    let listed = app.get("/me/mfa", Some(&token)).await;
    assert_eq!(listed.json["items"][0]["status"], "pending");
    assert!(listed.json["items"][0].get("secret").is_none(), "{}", listed.json);

    // A wrong code does not activate; the right one does, with ten recovery codes.
    let id = res.json["id"].as_str().unwrap();
    let path = format!("/me/mfa/totp/{id}/verify");
    let now = totp::now_secs();
    let wrong = if totp::code_at(&bytes, now).unwrap() == "000000" { "111111" } else { "000000" };
    let refused = app.call(Method::POST, &path, Some(json!({"code": wrong})), Some(&token)).await;
    assert_eq!(refused.assert_problem(422)["errors"][0]["field"], "code");
    let code = totp::code_at(&bytes, now).unwrap();
    let ok = app.call(Method::POST, &path, Some(json!({"code": code})), Some(&token)).await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    assert_eq!(ok.json["status"], "active");
    let codes = ok.json["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let stored = app.sql("SELECT count(*) FROM mfa_recovery_codes WHERE used_at IS NULL").await;
    assert_eq!(stored[0].get::<_, i64>(0), 10);
    let plain = app
        .sql(&format!(
            "SELECT count(*) FROM mfa_recovery_codes WHERE encode(code_hash, 'escape') LIKE '%{}%'",
            &codes[0].as_str().unwrap()[..5]
        ))
        .await;
    assert_eq!(plain[0].get::<_, i64>(0), 0, "codes are stored hashed");
    // Verifying again is a conflict, and enrolling a second authenticator too.
    let again = app.call(Method::POST, &path, Some(json!({"code": code})), Some(&token)).await;
    again.assert_problem(409);
    let second = app.call(Method::POST, "/me/mfa/totp", Some(json!({"password": PASSWORD})), Some(&token)).await;
    second.assert_problem(409);
    assert_eq!(app.get("/me/mfa", Some(&token)).await.json["recovery_codes_remaining"], 10);
    // The session that proved the code keeps working and now counts as two-factor.
    let sessions = app.get("/me/sessions", Some(&token)).await;
    let current = sessions.json["items"].as_array().unwrap().iter().find(|s| s["is_current"] == true).unwrap();
    assert_eq!(current["amr"], json!(["pwd", "otp"]));
}

#[tokio::test]
async fn activating_ends_the_sessions_that_proved_only_a_password() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let (other, other_refresh) = app.login("ada@example.com", PASSWORD).await;
    app.enrol_totp(&token, PASSWORD).await;
    app.get("/me", Some(&other)).await.assert_problem(401);
    app.post("/auth/refresh", json!({"refresh_token": other_refresh})).await.assert_problem(401);
    assert_eq!(app.get("/me", Some(&token)).await.status, 200);
    let audit = app.sql("SELECT action FROM audit_log WHERE action = 'user.mfa_enrolled'").await;
    assert_eq!(audit.len(), 1);
}

#[tokio::test]
async fn enrolment_needs_the_password_or_a_code() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    for body in [json!({}), json!({"password": "wrong password"}), json!({"password": PASSWORD, "code": "123456"})] {
        let res = app.call(Method::POST, "/me/mfa/totp", Some(body.clone()), Some(&token)).await;
        res.assert_problem(422);
    }
    // Without an active factor a code cannot stand in for the password.
    let res = app.call(Method::POST, "/me/mfa/totp", Some(json!({"code": "123456"})), Some(&token)).await;
    assert_eq!(res.assert_problem(422)["errors"][0]["field"], "code");
    assert_eq!(app.sql("SELECT 1 FROM mfa_factors").await.len(), 0);
    // Wrong passwords here count toward the login lockout.
    let failures = app.sql("SELECT failures FROM login_lockouts WHERE email = 'ada@example.com'").await;
    assert!(failures[0].get::<_, i32>(0) >= 1);
}

#[tokio::test]
async fn with_an_active_factor_login_asks_for_the_code_and_a_wrong_password_answers_as_before() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    app.user("bob@example.com", PASSWORD).await;
    // A wrong password: the same 401, for an account with a factor and one without.
    let before = app.post("/auth/login", json!({"email": "bob@example.com", "password": "wrong password"})).await;
    let factor = app.enrol_totp(&token, PASSWORD).await;
    let with = app.post("/auth/login", json!({"email": "ada@example.com", "password": "wrong password"})).await;
    assert_eq!(with.status, 401);
    assert_eq!(with.json, before.json, "no hint that a second factor exists");
    assert_eq!(with.header("www-authenticate"), before.header("www-authenticate"));

    let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    assert_eq!(login.status, 200, "{}", login.json);
    assert_eq!(login.header("cache-control"), Some("no-store"));
    assert_eq!(login.json["mfa_required"], true);
    assert!(login.json.get("access_token").is_none(), "no tokens before the code");
    assert_eq!(login.json["expires_in"], 300);
    assert_eq!(login.json["factors"], json!(["totp"]));
    let mfa_token = login.json["mfa_token"].as_str().unwrap();
    let hashed =
        app.sql(&format!("SELECT count(*) FROM mfa_challenges WHERE token_hash = sha256('{mfa_token}')")).await;
    assert_eq!(hashed[0].get::<_, i64>(0), 1, "stored as its SHA-256");

    let verified = app.post("/auth/mfa/verify", json!({"mfa_token": mfa_token, "code": factor.code(0)})).await;
    assert_eq!(verified.status, 200, "{}", verified.json);
    assert_eq!(verified.header("cache-control"), Some("no-store"));
    let access = verified.json["access_token"].as_str().unwrap();
    assert_eq!(amr(&app, access), ["pwd", "otp"]);
    assert!(verified.json.get("recovery_codes_remaining").is_none());
    assert_eq!(app.get("/me", Some(access)).await.status, 200);
    // The token is single-use, even with a new code.
    let reused = app.post("/auth/mfa/verify", json!({"mfa_token": mfa_token, "code": factor.code(1)})).await;
    reused.assert_problem(401);
    // The refreshed pair keeps the session's amr.
    let refreshed = app.post("/auth/refresh", json!({"refresh_token": verified.json["refresh_token"]})).await;
    assert_eq!(amr(&app, refreshed.json["access_token"].as_str().unwrap()), ["pwd", "otp"]);
    let sessions = app.sql("SELECT amr FROM sessions ORDER BY id DESC LIMIT 1").await;
    assert_eq!(sessions[0].get::<_, Vec<String>>(0), ["pwd", "otp"]);
    // A password-only sign-in of an account without a factor says so too.
    let (bob, _) = app.login("bob@example.com", PASSWORD).await;
    assert_eq!(amr(&app, &bob), ["pwd"]);
}

#[tokio::test]
async fn a_code_is_accepted_once_per_time_step() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let factor = app.enrol_totp(&token, PASSWORD).await;
    let code = factor.code(0);
    let first = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    let ok = app.post("/auth/mfa/verify", json!({"mfa_token": first.json["mfa_token"], "code": code})).await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    // The same code, on a new sign-in within its step: refused.
    let second = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    let replay = app.post("/auth/mfa/verify", json!({"mfa_token": second.json["mfa_token"], "code": code})).await;
    replay.assert_problem(401);
    // So is the step before it (steps only move forward); the next step's code works.
    let older =
        app.post("/auth/mfa/verify", json!({"mfa_token": second.json["mfa_token"], "code": factor.code(-1)})).await;
    older.assert_problem(401);
    let next =
        app.post("/auth/mfa/verify", json!({"mfa_token": second.json["mfa_token"], "code": factor.code(1)})).await;
    assert_eq!(next.status, 200, "{}", next.json);
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_says_how_many_are_left() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let factor = app.enrol_totp(&token, PASSWORD).await;
    let code = &factor.recovery_codes[3];
    let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    let typed = code.to_uppercase().replace('-', " ");
    let ok = app.post("/auth/mfa/verify", json!({"mfa_token": login.json["mfa_token"], "recovery_code": typed})).await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    assert_eq!(ok.json["recovery_codes_remaining"], 9);
    assert_eq!(amr(&app, ok.json["access_token"].as_str().unwrap()), ["pwd", "otp"]);
    let again = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    let spent =
        app.post("/auth/mfa/verify", json!({"mfa_token": again.json["mfa_token"], "recovery_code": code})).await;
    spent.assert_problem(401);
    assert_eq!(app.get("/me/mfa", Some(&token)).await.json["recovery_codes_remaining"], 9);
}

#[tokio::test]
async fn the_verify_body_is_checked_before_the_token() {
    let app = app().await;
    let token = identity_shared::auth::tokens::generate();
    for (body, field) in [
        (json!({"mfa_token": token}), "code"),
        (json!({"mfa_token": token, "code": "12345"}), "code"),
        (json!({"mfa_token": token, "code": "abcdef"}), "code"),
        (json!({"mfa_token": token, "recovery_code": "nope"}), "recovery_code"),
        (json!({"mfa_token": token, "code": "123456", "recovery_code": "abcde-fgh23"}), "recovery_code"),
    ] {
        let res = app.post("/auth/mfa/verify", body.clone()).await;
        assert_eq!(res.assert_problem(422)["errors"][0]["field"], field, "{body}");
    }
    app.post("/auth/mfa/verify", json!({"mfa_token": "short", "code": "123456"})).await.assert_problem(401);
    app.post("/auth/mfa/verify", json!({"mfa_token": token, "code": "123456"})).await.assert_problem(401);
}

#[tokio::test]
async fn an_mfa_token_expires() {
    let app = app_with(&[("MFA_TOKEN_TTL_SECS", "1")]).await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let factor = app.enrol_totp(&token, PASSWORD).await;
    let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let late =
        app.post("/auth/mfa/verify", json!({"mfa_token": login.json["mfa_token"], "code": factor.code(0)})).await;
    late.assert_problem(401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_parallel_wrong_codes_check_no_more_than_the_token_allows() {
    let app = std::sync::Arc::new(app().await);
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let factor = app.enrol_totp(&token, PASSWORD).await;
    let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    let mfa_token = login.json["mfa_token"].as_str().unwrap().to_owned();
    let right: Vec<String> = (-1..=1).map(|o| factor.code(o)).collect();
    let wrong: Vec<String> =
        (0..1_000_000).map(|n| format!("{n:06}")).filter(|c| !right.contains(c)).take(32).collect();
    let answers = all_at_once(&app, &mfa_token, &wrong).await;
    let checked = answers.iter().filter(|d| d.starts_with("The code")).count();
    let refused = answers.iter().filter(|d| d.starts_with("The mfa_token")).count();
    assert_eq!(checked, 5, "MFA_TOKEN_MAX_ATTEMPTS codes checked: {answers:?}");
    assert_eq!(checked + refused, 32, "{answers:?}");
    let attempts = app.sql("SELECT attempts FROM mfa_challenges").await;
    assert_eq!(attempts[0].get::<_, i32>(0), 5);
    // The token is spent for good: even the right code is refused now.
    let late = app.post("/auth/mfa/verify", json!({"mfa_token": mfa_token, "code": factor.code(0)})).await;
    late.assert_problem(401);
}

/// Sends every code at once with the same token; the detail of each answer.
async fn all_at_once(
    app: &std::sync::Arc<identity_testkit::TestApp>,
    mfa_token: &str,
    codes: &[String],
) -> Vec<String> {
    let mut set = tokio::task::JoinSet::new();
    for code in codes {
        let (app, body) = (app.clone(), json!({"mfa_token": mfa_token, "code": code}));
        set.spawn(async move { app.post("/auth/mfa/verify", body).await });
    }
    let mut details = Vec::new();
    while let Some(res) = set.join_next().await {
        let res = res.unwrap();
        assert_eq!(res.status, 401, "{}", res.json);
        details.push(res.json["detail"].as_str().unwrap().to_owned());
    }
    details
}

#[tokio::test]
async fn wrong_codes_across_sign_ins_lock_the_accounts_codes() {
    let app = app_with(&[("MFA_MAX_FAILURES", "3")]).await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let factor = app.enrol_totp(&token, PASSWORD).await;
    let right: Vec<String> = (-1..=1).map(|o| factor.code(o)).collect();
    let wrong = (0..).map(|n| format!("{n:06}")).find(|c| !right.contains(c)).unwrap();
    for _ in 0..3 {
        // A new sign-in each time: the lockout is the account's, not the token's.
        let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
        let res = app.post("/auth/mfa/verify", json!({"mfa_token": login.json["mfa_token"], "code": wrong})).await;
        res.assert_problem(401);
    }
    let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    let locked =
        app.post("/auth/mfa/verify", json!({"mfa_token": login.json["mfa_token"], "code": factor.code(0)})).await;
    locked.assert_problem(429);
    assert!(locked.header("retry-after").is_some());
    // The password lockout is another counter: the password still answers.
    assert_eq!(app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await.status, 200);
}

#[tokio::test]
async fn removing_the_factor_needs_a_fresh_proof_and_takes_the_recovery_codes() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let factor = app.enrol_totp(&token, PASSWORD).await;
    let path = format!("/me/mfa/{}", factor.id);
    app.call(Method::DELETE, &path, Some(json!({})), Some(&token)).await.assert_problem(422);
    app.call(Method::DELETE, &path, Some(json!({"password": "not it at all"})), Some(&token)).await.assert_problem(422);
    let other = format!("/me/mfa/{}", uuid::Uuid::now_v7());
    app.call(Method::DELETE, &other, Some(json!({"password": PASSWORD})), Some(&token)).await.assert_problem(404);
    let res = app.call(Method::DELETE, &path, Some(json!({"code": factor.code(0)})), Some(&token)).await;
    assert_eq!(res.status, 204, "{}", res.json);
    assert_eq!(app.sql("SELECT 1 FROM mfa_recovery_codes").await.len(), 0);
    let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    assert!(login.json["access_token"].is_string(), "the password alone signs in again");
    let audit = app.sql("SELECT 1 FROM audit_log WHERE action = 'user.mfa_removed'").await;
    assert_eq!(audit.len(), 1);
}

#[tokio::test]
async fn another_users_factor_is_not_found() {
    let app = app().await;
    let (ada, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let (bob, _) = app.signed_in("bob@example.com", PASSWORD).await;
    let factor = app.enrol_totp(&ada, PASSWORD).await;
    let res = app
        .call(Method::DELETE, format!("/me/mfa/{}", factor.id), Some(json!({"password": PASSWORD})), Some(&bob))
        .await;
    res.assert_problem(404);
    let verify = format!("/me/mfa/totp/{}/verify", factor.id);
    app.call(Method::POST, &verify, Some(json!({"code": factor.code(0)})), Some(&bob)).await.assert_problem(404);
    assert_eq!(app.get("/me/mfa", Some(&bob)).await.json["items"], json!([]));
}

#[tokio::test]
async fn regenerating_recovery_codes_retires_the_old_ones() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let (bob, _) = app.signed_in("bob@example.com", PASSWORD).await;
    let none = app.call(Method::POST, "/me/mfa/recovery-codes", Some(json!({"password": PASSWORD})), Some(&bob)).await;
    none.assert_problem(409);
    let factor = app.enrol_totp(&token, PASSWORD).await;
    let res = app.call(Method::POST, "/me/mfa/recovery-codes", Some(json!({"password": PASSWORD})), Some(&token)).await;
    assert_eq!(res.status, 200, "{}", res.json);
    let fresh = res.json["recovery_codes"].as_array().unwrap();
    assert_eq!(fresh.len(), 10);
    let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    let old = app
        .post(
            "/auth/mfa/verify",
            json!({"mfa_token": login.json["mfa_token"], "recovery_code": factor.recovery_codes[0]}),
        )
        .await;
    old.assert_problem(401);
    let new =
        app.post("/auth/mfa/verify", json!({"mfa_token": login.json["mfa_token"], "recovery_code": fresh[0]})).await;
    assert_eq!(new.json["recovery_codes_remaining"], 9, "{}", new.json);
}

#[tokio::test]
async fn a_platform_admin_resets_a_users_factors_and_ends_their_sessions() {
    let app = app().await;
    let (admin, _) = app.signed_in("admin@example.com", PASSWORD).await;
    app.sql("UPDATE users SET is_platform_admin = true WHERE email = 'admin@example.com'").await;
    let (ada, _) = app.signed_in("ada@example.com", PASSWORD).await;
    app.enrol_totp(&ada, PASSWORD).await;
    let ada_id = user_id(&app, &ada);
    // Not for anyone else.
    let (bob, _) = app.signed_in("bob@example.com", PASSWORD).await;
    app.call(Method::DELETE, format!("/users/{ada_id}/mfa"), None, Some(&bob)).await.assert_problem(403);
    let res = app.call(Method::DELETE, format!("/users/{ada_id}/mfa"), None, Some(&admin)).await;
    assert_eq!(res.status, 204, "{}", res.json);
    app.get("/me", Some(&ada)).await.assert_problem(401);
    assert_eq!(app.sql("SELECT 1 FROM mfa_factors UNION ALL SELECT 1 FROM mfa_recovery_codes").await.len(), 0);
    let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    assert!(login.json["access_token"].is_string());
    let audit = app.sql("SELECT actor_id = (SELECT id FROM users WHERE email = 'admin@example.com') FROM audit_log WHERE action = 'user.mfa_reset'").await;
    assert!(audit[0].get::<_, bool>(0));
    let unknown = app.call(Method::DELETE, format!("/users/{}/mfa", uuid::Uuid::now_v7()), None, Some(&admin)).await;
    unknown.assert_problem(404);
}

#[tokio::test]
async fn without_a_sealing_key_enrolment_is_a_500_that_says_nothing() {
    let app = app_with(&[("MFA_ENCRYPTION_KEY", "")]).await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let res = app.call(Method::POST, "/me/mfa/totp", Some(json!({"password": PASSWORD})), Some(&token)).await;
    assert!(!res.assert_problem(500)["detail"].as_str().unwrap().contains("MFA_ENCRYPTION_KEY"));
}
