//! The attacks that a credential change must stop, step by step as they were found: a
//! pending email change that outlived the owner's recovery, an address pre-registered by an
//! attacker, a proof spent by a refused request, and the admin route around a fresh proof.
//! (The whole change-by-artifact table and the races are in the security suite.)

use axum::http::Method;
use identity_testkit::{TestApp, TestResponse, ses};
use serde_json::json;

use crate::pages::{show, submit};
use crate::{PASSWORD, app, app_with, app_with_ses, unique};

const ATTACKER_PASSWORD: &str = "the attacker's own password";

async fn change_email(app: &TestApp, token: &str, new_email: &str) -> TestResponse {
    app.call(Method::POST, "/me/email", Some(json!({"new_email": new_email, "password": PASSWORD})), Some(token)).await
}

async fn email_of(app: &TestApp, user: &str) -> String {
    app.sql(&format!("SELECT email FROM users WHERE id = '{user}'")).await[0].get(0)
}

#[tokio::test]
async fn an_owner_who_resets_the_password_after_the_notice_keeps_the_account() {
    let app = app_with_ses().await;
    let owner = unique("owner");
    let attacker = unique("attacker");
    let (owner_session, _) = app.signed_in(&owner, PASSWORD).await;
    let id = crate::user_id(&app, &owner_session).to_string();
    // The attacker knows the password and asks to move the account to their address.
    let (stolen, _) = app.login(&owner, PASSWORD).await;
    assert_eq!(change_email(&app, &stolen, &attacker).await.status, 202);
    let link = ses::token_in(&ses::mail_with_subject(&attacker, "Confirm your new email address").await);
    // The owner reads the notice and does what it says: a new password, and every device out.
    let notice = ses::mail_with_subject(&owner, "Your sign-in address is being changed").await;
    assert!(notice["body"]["text"].as_str().unwrap().contains(&attacker), "the notice says where to");
    assert_eq!(app.post("/auth/password/forgot", json!({"email": owner})).await.status, 202);
    let reset = ses::token_in(&ses::mail_with_subject(&owner, "Reset your password").await);
    let body = json!({"token": reset, "new_password": "the owner's new password"});
    assert_eq!(app.post("/auth/password/reset", body).await.status, 204);
    // The attacker's link is dead: the account stays the owner's.
    app.post("/auth/email/confirm", json!({"token": link})).await.assert_problem(422);
    assert_eq!(email_of(&app, &id).await, owner);
    app.get("/me", Some(&stolen)).await.assert_problem(401);
    let login = app.post("/auth/login", json!({"email": owner, "password": "the owner's new password"})).await;
    assert_eq!(login.status, 200);
}

#[tokio::test]
async fn signing_out_everywhere_else_is_not_needed_the_cancel_link_is_enough() {
    let app = app_with_ses().await;
    let owner = unique("owner");
    let attacker = unique("attacker");
    let (session, _) = app.signed_in(&owner, PASSWORD).await;
    let id = crate::user_id(&app, &session).to_string();
    assert_eq!(change_email(&app, &session, &attacker).await.status, 202);
    let link = ses::token_in(&ses::mail_with_subject(&attacker, "Confirm your new email address").await);
    let notice = ses::mail_with_subject(&owner, "Your sign-in address is being changed").await;
    let cancel = ses::token_in(&notice);

    // The notice's link shows a page; the GET cancels nothing (mail scanners open links).
    let page = show(&app, &format!("/pages/cancel-email-change?token={cancel}")).await;
    assert_eq!(page.res.status, 200);
    let (cookie, csrf) = (page.cookie.unwrap(), page.csrf.unwrap());
    let live = "SELECT count(*) FROM one_time_tokens WHERE purpose = 'change_email' AND used_at IS NULL";
    assert_eq!(app.sql(live).await[0].get::<_, i64>(0), 1);
    // Another browser's form (no cookie) is refused and cancels nothing.
    let forged = submit(&app, "/pages/cancel-email-change", None, &[("token", &cancel), ("csrf", &csrf)]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(app.sql(live).await[0].get::<_, i64>(0), 1);
    let done = submit(&app, "/pages/cancel-email-change", Some(&cookie), &[("token", &cancel), ("csrf", &csrf)]).await;
    assert_eq!(done.status, 200);
    assert!(String::from_utf8_lossy(&done.body).contains(&attacker), "the page says which change it cancelled");
    app.post("/auth/email/confirm", json!({"token": link})).await.assert_problem(422);
    assert_eq!(email_of(&app, &id).await, owner);
    let again = submit(&app, "/pages/cancel-email-change", Some(&cookie), &[("token", &cancel), ("csrf", &csrf)]).await;
    assert_eq!(again.status, 422, "a cancel link works once");
    let audit = app.sql("SELECT count(*) FROM audit_log WHERE action = 'user.email_change_cancelled'").await;
    assert_eq!(audit[0].get::<_, i64>(0), 1);
}

#[tokio::test]
async fn a_session_cancels_its_pending_email_change() {
    let app = app_with_ses().await;
    let ada = unique("ada");
    let elsewhere = unique("elsewhere");
    let (session, _) = app.signed_in(&ada, PASSWORD).await;
    assert_eq!(change_email(&app, &session, &elsewhere).await.status, 202);
    let link = ses::token_in(&ses::mail_with_subject(&elsewhere, "Confirm your new email address").await);
    assert_eq!(app.call(Method::DELETE, "/me/email", None, Some(&session)).await.status, 204);
    app.post("/auth/email/confirm", json!({"token": link})).await.assert_problem(422);
    // Nothing pending: still 204, nothing else changes.
    assert_eq!(app.call(Method::DELETE, "/me/email", None, Some(&session)).await.status, 204);
    app.call(Method::DELETE, "/me/email", None, None).await.assert_problem(401);
    assert_eq!(app.get("/me", Some(&session)).await.json["email"], ada.as_str());
}

#[tokio::test]
async fn an_unsolicited_confirmation_link_names_the_account_it_would_move() {
    let app = app_with_ses().await;
    let stranger = unique("stranger");
    let clicker = unique("clicker");
    let (session, _) = app.signed_in(&stranger, PASSWORD).await;
    assert_eq!(change_email(&app, &session, &clicker).await.status, 202);
    let link = ses::token_in(&ses::mail_with_subject(&clicker, "Confirm your new email address").await);
    let page = show(&app, &format!("/pages/confirm-email-change?token={link}")).await;
    assert_eq!(page.res.status, 200);
    let html = String::from_utf8_lossy(&page.res.body).into_owned();
    assert!(html.contains(&stranger) && html.contains(&clicker), "{html}");
    assert!(html.contains("If this is not your account"), "{html}");
    // A dead link's page says so before anything is offered.
    app.call(Method::DELETE, "/me/email", None, Some(&session)).await;
    let dead = show(&app, &format!("/pages/confirm-email-change?token={link}")).await;
    assert_eq!(dead.res.status, 422);
}

#[tokio::test]
async fn an_address_registered_by_an_attacker_yields_entirely_to_whoever_proves_it() {
    let app = app_with_ses().await;
    let victim = unique("victim");
    let attacker = unique("attacker");
    // The attacker registers the victim's address before the victim does.
    let (squatter, squatter_refresh) = app.unverified_signed_in(&victim, ATTACKER_PASSWORD).await;
    let id = crate::user_id(&app, &squatter).to_string();
    // Unproven, it can neither take a factor nor move.
    let enrol = app.call(Method::POST, "/me/mfa/totp", Some(json!({"password": ATTACKER_PASSWORD})), Some(&squatter));
    enrol.await.assert_problem(403);
    let body = json!({"new_email": attacker, "password": ATTACKER_PASSWORD});
    app.call(Method::POST, "/me/email", Some(body), Some(&squatter)).await.assert_problem(403);
    // A factor set up there before this rule existed (made here by hand) goes too.
    app.sql(&format!("UPDATE users SET email_verified_at = now() WHERE id = '{id}'")).await;
    let (squatter, _) = app.login(&victim, ATTACKER_PASSWORD).await;
    app.enrol_totp(&squatter, ATTACKER_PASSWORD).await;
    app.sql(&format!("UPDATE users SET email_verified_at = NULL WHERE id = '{id}'")).await;
    let waiting = app.post("/auth/login", json!({"email": victim, "password": ATTACKER_PASSWORD})).await;
    let waiting_token = waiting.json["mfa_token"].as_str().expect("the attacker's code step").to_owned();

    // The victim is invited, and claims the address by a password reset.
    app.invited_to_acme(&victim, json!(["admin"])).await;
    assert_eq!(app.post("/auth/password/forgot", json!({"email": victim})).await.status, 202);
    let reset = ses::token_in(&ses::mail_with_subject(&victim, "Reset your password").await);
    let body = json!({"token": reset, "new_password": "the victim's password"});
    assert_eq!(app.post("/auth/password/reset", body).await.status, 204);

    // Everything the attacker set up is gone: sessions, the factor, the waiting sign-in.
    app.get("/me", Some(&squatter)).await.assert_problem(401);
    app.post("/auth/refresh", json!({"refresh_token": squatter_refresh})).await.assert_problem(401);
    let factors = app.sql(&format!("SELECT count(*) FROM mfa_factors WHERE user_id = '{id}'")).await;
    assert_eq!(factors[0].get::<_, i64>(0), 0);
    let res = app.post("/auth/mfa/verify", json!({"mfa_token": waiting_token, "code": "000000"})).await;
    res.assert_problem(401);
    let login = app.post("/auth/login", json!({"email": victim, "password": "the victim's password"})).await;
    assert_eq!(login.status, 200, "the victim signs in with the password alone: {}", login.json);
    assert!(login.json["access_token"].is_string(), "{}", login.json);
}

#[tokio::test]
async fn verifying_a_never_proven_address_ends_what_came_before_it() {
    let app = app_with_ses().await;
    let victim = unique("victim");
    let (squatter, _) = app.unverified_signed_in(&victim, ATTACKER_PASSWORD).await;
    let verify = ses::token_in(&ses::mail_with_subject(&victim, "Confirm your email address").await);
    assert_eq!(app.post("/auth/verify-email", json!({"token": verify})).await.status, 200);
    app.get("/me", Some(&squatter)).await.assert_problem(401);
}

#[tokio::test]
async fn a_refused_enrolment_spends_no_code() {
    let app = app().await;
    let ada = unique("ada");
    let (session, _) = app.signed_in(&ada, PASSWORD).await;
    let factor = app.enrol_totp(&session, PASSWORD).await;
    app.forget_used_steps().await;
    let code = factor.code(0);
    // An authenticator is already active: 409, and the code stays unspent...
    let res = app.call(Method::POST, "/me/mfa/totp", Some(json!({"code": code})), Some(&session)).await;
    res.assert_problem(409);
    let recovery = factor.recovery_codes[0].clone();
    let res = app.call(Method::POST, "/me/mfa/totp", Some(json!({"recovery_code": recovery})), Some(&session)).await;
    res.assert_problem(409);
    assert_eq!(app.get("/me/mfa", Some(&session)).await.json["recovery_codes_remaining"], 10);
    // ...so it still proves the next request.
    let res = app.call(Method::POST, "/me/mfa/recovery-codes", Some(json!({"code": code})), Some(&session)).await;
    assert_eq!(res.status, 200, "{}", res.json);
}

#[tokio::test]
async fn right_passwords_given_as_proof_never_lock_the_account() {
    let app = app_with(&[("LOGIN_MAX_FAILURES", "3")]).await;
    let ada = unique("ada");
    let (session, _) = app.signed_in(&ada, PASSWORD).await;
    app.enrol_totp(&session, PASSWORD).await;
    for _ in 0..6 {
        let res =
            app.call(Method::POST, "/me/mfa/recovery-codes", Some(json!({"password": PASSWORD})), Some(&session)).await;
        assert_eq!(res.status, 200, "{}", res.json);
    }
}

#[tokio::test]
async fn an_admin_resetting_their_own_factors_gives_the_same_fresh_proof() {
    let app = app().await;
    let admin = unique("admin");
    let (session, _) = app.signed_in(&admin, PASSWORD).await;
    let id = crate::user_id(&app, &session);
    app.sql(&format!("UPDATE users SET is_platform_admin = true WHERE id = '{id}'")).await;
    app.enrol_totp(&session, PASSWORD).await;
    let path = format!("/users/{id}/mfa");
    let bare = app.call(Method::DELETE, &path, None, Some(&session)).await;
    assert_eq!(bare.assert_problem(422)["errors"][0]["field"], "password");
    let wrong = app.call(Method::DELETE, &path, Some(json!({"password": "not it"})), Some(&session)).await;
    assert_eq!(wrong.assert_problem(422)["errors"][0]["field"], "password");
    let factors = format!("SELECT count(*) FROM mfa_factors WHERE user_id = '{id}'");
    assert_eq!(app.sql(&factors).await[0].get::<_, i64>(0), 1, "nothing removed without the proof");
    let res = app.call(Method::DELETE, &path, Some(json!({"password": PASSWORD})), Some(&session)).await;
    assert_eq!(res.status, 204, "{}", res.json);
    assert_eq!(app.sql(&factors).await[0].get::<_, i64>(0), 0);
}

#[tokio::test]
async fn a_password_change_keeps_the_asking_session_and_a_stale_one_cannot_make_it() {
    let app = app().await;
    let ada = unique("ada");
    let (asking, _) = app.signed_in(&ada, PASSWORD).await;
    let (other, _) = app.login(&ada, PASSWORD).await;
    let body = json!({"current_password": PASSWORD, "new_password": "a second password"});
    assert_eq!(app.call(Method::POST, "/me/password", Some(body), Some(&asking)).await.status, 204);
    assert_eq!(app.get("/me", Some(&asking)).await.status, 200, "the asking session carries over");
    app.get("/me", Some(&other)).await.assert_problem(401);
    let body = json!({"current_password": "a second password", "new_password": "a third password"});
    app.call(Method::POST, "/me/password", Some(body), Some(&other)).await.assert_problem(401);
}

#[tokio::test]
async fn an_invitation_grants_nothing_its_inviter_can_no_longer_grant() {
    let app = app_with_ses().await;
    let (owner, _) = app.signed_in(&unique("owner"), PASSWORD).await;
    let org = crate::create_org(&app, &owner, "Acme").await;
    let admin_email = unique("admin");
    let admin_id = app.user(&admin_email, PASSWORD).await;
    app.add_member(org, admin_id, &["admin"]).await;
    let (admin, _) = app.login(&admin_email, PASSWORD).await;
    let second_owner_email = unique("second.owner");
    let second_owner = app.user(&second_owner_email, PASSWORD).await;
    app.add_member(org, second_owner, &["owner"]).await;
    let (second, _) = app.login(&second_owner_email, PASSWORD).await;
    let invite = |by: String, email: String, roles: serde_json::Value| {
        let app = &app;
        async move {
            let body = json!({"email": email, "roles": roles});
            let res = app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(body), Some(&by)).await;
            assert_eq!(res.status, 201, "{}", res.json);
            ses::token_in(ses::mails_to(&email).await.last().expect("the invitation mail"))
        }
    };
    let accept = |token: String| {
        let app = &app;
        async move {
            let body = json!({"token": token, "name": "New", "password": "a new member's password"});
            app.post("/invitations/accept", body).await
        }
    };
    // An admin's invitation, then the admin is removed from the organization.
    let (to_admins, to_owners) = (unique("via.admin"), unique("via.owner"));
    let by_admin = invite(admin.clone(), to_admins.clone(), json!(["member"])).await;
    // An owner's invitation as owner, then that owner is made an admin (who cannot grant owner).
    let by_owner = invite(second.clone(), to_owners.clone(), json!(["owner"])).await;
    let res = app.call(Method::DELETE, format!("/orgs/{org}/members/{admin_id}"), None, Some(&owner)).await;
    assert_eq!(res.status, 204, "{}", res.json);
    let body = json!({"roles": ["admin"]});
    let path = format!("/orgs/{org}/members/{second_owner}/roles");
    assert_eq!(app.call(Method::PUT, path, Some(body), Some(&owner)).await.status, 200);

    for (token, email) in [(by_admin, to_admins), (by_owner, to_owners)] {
        let refused = accept(token).await;
        assert!(refused.assert_problem(409)["detail"].as_str().unwrap().contains("can no longer grant"));
        let pending = app.sql(&format!("SELECT status FROM invitations WHERE email = '{email}'")).await;
        assert_eq!(pending[0].get::<_, String>(0), "pending", "nothing half-written");
        let users = app.sql(&format!("SELECT count(*) FROM users WHERE email = '{email}'")).await;
        assert_eq!(users[0].get::<_, i64>(0), 0, "no account made");
    }
    let audit = app.sql("SELECT count(*) FROM audit_log WHERE action = 'invitation.refused'").await;
    assert_eq!(audit[0].get::<_, i64>(0), 2, "the org's admins see each refusal");

    // A disabled inviter's invitation is refused too.
    let third = unique("third");
    let by_second = invite(second.clone(), third.clone(), json!(["member"])).await;
    app.sql(&format!("UPDATE users SET status = 'disabled' WHERE id = '{second_owner}'")).await;
    accept(by_second).await.assert_problem(409);
}
