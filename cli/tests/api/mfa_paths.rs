//! No path that issues tokens, or acts as a signed-in account, gets around the second factor:
//! login with an org, refresh, password reset, email change, invitation accept with a bearer.
//! (The hosted "sign in and join" page's code step is in `pages` and the browser tests.)

use axum::http::Method;
use identity_testkit::ses;
use serde_json::json;

use crate::{PASSWORD, app, app_with_ses, create_org, unique};

#[tokio::test]
async fn login_with_an_org_waits_for_the_code_and_then_scopes_the_token() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let org = create_org(&app, &token, "Acme").await;
    let factor = app.enrol_totp(&token, PASSWORD).await;
    let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD, "org_id": org})).await;
    assert_eq!(login.json["mfa_required"], true, "{}", login.json);
    let res = app.post("/auth/mfa/verify", json!({"mfa_token": login.json["mfa_token"], "code": factor.code(0)})).await;
    let claims = app.state.jwt().verify(res.json["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims.org_id, Some(org));
    assert_eq!(claims.amr, ["pwd", "otp"]);
    // An org the account is not a member of is refused before any code is asked for.
    let other = uuid::Uuid::now_v7();
    let res = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD, "org_id": other})).await;
    res.assert_problem(403);
}

#[tokio::test]
async fn a_password_reset_ends_the_sessions_and_the_next_sign_in_still_asks_for_the_code() {
    let app = app_with_ses().await;
    let email = unique("rita");
    let (token, _) = app.signed_in(&email, PASSWORD).await;
    let factor = app.enrol_totp(&token, PASSWORD).await;
    assert_eq!(app.post("/auth/password/forgot", json!({"email": email})).await.status, 202);
    let mail = ses::mail_with_subject(&email, "Reset your password").await;
    let reset = app
        .post("/auth/password/reset", json!({"token": ses::token_in(&mail), "new_password": "a brand new password"}))
        .await;
    assert_eq!(reset.status, 204, "{}", reset.json);
    assert!(reset.json.get("access_token").is_none(), "a reset signs nobody in");
    app.get("/me", Some(&token)).await.assert_problem(401);
    let login = app.post("/auth/login", json!({"email": email, "password": "a brand new password"})).await;
    assert_eq!(login.json["mfa_required"], true, "{}", login.json);
    assert!(login.json.get("access_token").is_none());
    app.forget_used_steps().await;
    let ok = app.post("/auth/mfa/verify", json!({"mfa_token": login.json["mfa_token"], "code": factor.code(0)})).await;
    assert_eq!(ok.status, 200, "{}", ok.json);
}

#[tokio::test]
async fn after_an_email_change_the_new_address_signs_in_with_the_code() {
    let app = app_with_ses().await;
    let (old, new) = (unique("nora"), unique("nora.new"));
    let (token, _) = app.signed_in(&old, PASSWORD).await;
    let factor = app.enrol_totp(&token, PASSWORD).await;
    let res =
        app.call(Method::POST, "/me/email", Some(json!({"new_email": new, "password": PASSWORD})), Some(&token)).await;
    assert_eq!(res.status, 202, "{}", res.json);
    let mail = ses::mail_with_subject(&new, "Confirm your new email address").await;
    let confirmed = app.post("/auth/email/confirm", json!({"token": ses::token_in(&mail)})).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.json);
    assert!(confirmed.json.get("access_token").is_none(), "confirming signs nobody in");
    let login = app.post("/auth/login", json!({"email": new, "password": PASSWORD})).await;
    assert_eq!(login.json["mfa_required"], true, "{}", login.json);
    app.forget_used_steps().await;
    let ok = app.post("/auth/mfa/verify", json!({"mfa_token": login.json["mfa_token"], "code": factor.code(0)})).await;
    assert_eq!(ok.status, 200, "{}", ok.json);
}

#[tokio::test]
async fn an_invitation_is_accepted_with_a_bearer_only_from_a_session_that_gave_the_code() {
    let app = app_with_ses().await;
    let bob = unique("bob");
    let (before, _) = app.signed_in(&bob, PASSWORD).await;
    let (still_password_only, _) = app.login(&bob, PASSWORD).await;
    let factor = app.enrol_totp(&before, PASSWORD).await;
    let (_, org) = app.invited_to_acme(&bob, json!(["member"])).await;
    let token = ses::token_in(ses::mails_to(&bob).await.last().unwrap());
    // A session from before enrolment, which proved only the password, ended at enrolment.
    let res =
        app.call(Method::POST, "/invitations/accept", Some(json!({"token": token})), Some(&still_password_only)).await;
    res.assert_problem(401);
    let (after, _) = app.login_with_code(&bob, PASSWORD, &factor).await;
    let res = app.call(Method::POST, "/invitations/accept", Some(json!({"token": token})), Some(&after)).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.json["member"]["roles"], json!(["member"]));
    assert!(res.json.get("tokens").is_none_or(|t| t.is_null()), "a bearer accept issues no tokens: {}", res.json);
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(&after)).await.status, 200);
}

#[tokio::test]
async fn refresh_keeps_the_factors_the_session_proved_and_adds_none() {
    let app = app().await;
    let (token, refresh) = app.signed_in("ada@example.com", PASSWORD).await;
    let res = app.post("/auth/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!(app.state.jwt().verify(res.json["access_token"].as_str().unwrap()).unwrap().amr, ["pwd"]);
    let factor = app.enrol_totp(&token, PASSWORD).await;
    // The enrolling session proved the code; its next refresh says so.
    let res = app.post("/auth/refresh", json!({"refresh_token": res.json["refresh_token"]})).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(app.state.jwt().verify(res.json["access_token"].as_str().unwrap()).unwrap().amr, ["pwd", "otp"]);
    let (access, _) = app.login_with_code("ada@example.com", PASSWORD, &factor).await;
    assert_eq!(app.state.jwt().verify(&access).unwrap().amr, ["pwd", "otp"]);
}
