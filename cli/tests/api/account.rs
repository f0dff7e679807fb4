//! Account emails: verification, forgotten and reset passwords, changing a password.

use axum::http::Method;
use identity_testkit::ses;
use serde_json::json;

use crate::{PASSWORD, app_with_ses, unique};

#[tokio::test]
async fn registering_mails_a_link_that_verifies_the_email_once() {
    let app = app_with_ses().await;
    let email = unique("nina");
    assert_eq!(
        app.post("/auth/register", json!({"email": email, "password": PASSWORD, "name": "Nina"})).await.status,
        202
    );
    let mail = ses::mail_with_subject(&email, "Confirm your email address").await;
    assert!(mail["body"]["text"].as_str().unwrap().contains("https://app.identity.test/verify-email?token="));
    let token = ses::token_in(&mail);
    let res = app.post("/auth/verify-email", json!({"token": token})).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.json["email_verified"], true);
    app.post("/auth/verify-email", json!({"token": token})).await.assert_problem(422);
    app.post("/auth/verify-email", json!({"token": "x"})).await.assert_problem(422);
    let (access, _) = app.login(&email, PASSWORD).await;
    let again = app.call(Method::POST, "/auth/verify-email/resend", None, Some(&access)).await;
    again.assert_problem(409);
}

#[tokio::test]
async fn a_resent_verification_link_replaces_the_old_one() {
    let app = app_with_ses().await;
    let email = unique("omar");
    let (access, _) = app.unverified_signed_in(&email, PASSWORD).await;
    let old = ses::token_in(&ses::mail_with_subject(&email, "Confirm your email address").await);
    let res = app.call(Method::POST, "/auth/verify-email/resend", None, Some(&access)).await;
    assert_eq!(res.status, 202);
    app.call(Method::POST, "/auth/verify-email/resend", None, None).await.assert_problem(401);
    let mails = ses::mails_to(&email).await;
    assert_eq!(mails.len(), 2);
    let new = ses::token_in(&mails[1]);
    app.post("/auth/verify-email", json!({"token": old})).await.assert_problem(422);
    assert_eq!(app.post("/auth/verify-email", json!({"token": new})).await.status, 200);
}

#[tokio::test]
async fn forgot_password_answers_alike_and_reset_ends_sessions_and_lockout() {
    let app = app_with_ses().await;
    let email = unique("pia");
    let (old_access, old_refresh) = app.signed_in(&email, PASSWORD).await;
    let known = app.post("/auth/password/forgot", json!({"email": email.to_uppercase()})).await;
    let unknown_email = unique("nobody");
    let unknown = app.post("/auth/password/forgot", json!({"email": unknown_email})).await;
    assert_eq!(known.status, 202);
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    app.post("/auth/password/forgot", json!({"email": "bad"})).await.assert_problem(422);

    // Lock the account, then reset: the lockout clears.
    for _ in 0..10 {
        app.post("/auth/login", json!({"email": email, "password": "wrong password"})).await;
    }
    app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await.assert_problem(429);

    let mut mail = None;
    for _ in 0..50 {
        if let Some(m) = ses::mails_to(&email).await.into_iter().find(|m| m["subject"] == "Reset your password") {
            mail = Some(m);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mail = mail.expect("the reset mail arrives");
    assert!(ses::mails_to(&unknown_email).await.is_empty());
    let token = ses::token_in(&mail);
    app.post("/auth/password/reset", json!({"token": token, "new_password": "short"})).await.assert_problem(422);
    let res = app.post("/auth/password/reset", json!({"token": token, "new_password": "a brand new password"})).await;
    assert_eq!(res.status, 204, "{}", res.json);
    app.post("/auth/password/reset", json!({"token": token, "new_password": "another new password"}))
        .await
        .assert_problem(422);

    app.get("/me", Some(&old_access)).await.assert_problem(401);
    app.post("/auth/refresh", json!({"refresh_token": old_refresh})).await.assert_problem(401);
    app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await.assert_problem(401);
    let login = app.post("/auth/login", json!({"email": email, "password": "a brand new password"})).await;
    assert_eq!(login.status, 200, "lockout cleared: {}", login.json);
}

#[tokio::test]
async fn changing_a_password_keeps_this_session_and_ends_the_others() {
    let app = app_with_ses().await;
    let email = unique("quinn");
    let (phone, _) = app.signed_in(&email, PASSWORD).await;
    let (laptop, _) = app.login(&email, PASSWORD).await;
    let change = |current: &str, new: &str| {
        let body = json!({"current_password": current, "new_password": new});
        let app = &app;
        let laptop = laptop.clone();
        async move { app.call(Method::POST, "/me/password", Some(body), Some(&laptop)).await }
    };
    let wrong = change("not my password", "a brand new password").await;
    assert_eq!(wrong.assert_problem(422)["errors"][0]["field"], "current_password");
    change(PASSWORD, "short").await.assert_problem(422);
    assert_eq!(change(PASSWORD, "a brand new password").await.status, 204);
    assert_eq!(app.get("/me", Some(&laptop)).await.status, 200);
    app.get("/me", Some(&phone)).await.assert_problem(401);
    app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await.assert_problem(401);
    assert_eq!(app.post("/auth/login", json!({"email": email, "password": "a brand new password"})).await.status, 200);
    app.call(Method::POST, "/me/password", Some(json!({"current_password": "x", "new_password": "yyyyyyyyy"})), None)
        .await
        .assert_problem(401);
}
