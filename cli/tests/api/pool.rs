//! The pool under load: no request holds a connection while it waits for another, so every
//! route that mails works with one connection, and bursts at the default pool answer no 5xx.

use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use identity_testkit::TestApp;
use serde_json::{Value, json};

use crate::{PASSWORD, app_with, create_org, unique};

/// Mail still waiting in the outbox: each route sends its mail before it answers (forgot
/// password just after), so none should stay unsent.
async fn unsent(app: &TestApp) -> i64 {
    app.sql("SELECT count(*) FROM email_outbox WHERE status <> 'sent'").await[0].get(0)
}

/// Waits a moment for a mail sent just after the answer (forgot password).
async fn all_sent_soon(app: &TestApp) -> bool {
    for _ in 0..100 {
        if unsent(app).await == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_that_mails_works_with_a_pool_of_one() {
    // A short wait for a connection: a route that wanted a second would time out on it.
    let app = app_with(&[("DATABASE_POOL_SIZE", "1"), ("DATABASE_TIMEOUT_MS", "1000")]).await;
    let ada = unique("ada");
    let register = json!({"email": ada, "password": PASSWORD, "name": "Ada"});
    assert_eq!(app.post("/auth/register", register.clone()).await.status, 202);
    assert_eq!(unsent(&app).await, 0, "the verification mail went out before the answer");
    assert_eq!(app.post("/auth/register", register).await.status, 202, "a second sign-up mails a notice");
    assert_eq!(unsent(&app).await, 0, "the notice went out before the answer");

    let (token, _) = app.login(&ada, PASSWORD).await;
    let resend = app.call(Method::POST, "/auth/verify-email/resend", None, Some(&token)).await;
    assert_eq!(resend.status, 202, "{}", resend.json);
    assert_eq!(unsent(&app).await, 0);

    assert_eq!(app.post("/auth/password/forgot", json!({"email": ada})).await.status, 202);
    assert!(all_sent_soon(&app).await, "the reset mail went out");

    let org = create_org(&app, &token, "Acme").await;
    let invite = app
        .call(Method::POST, format!("/orgs/{org}/invitations"), Some(json!({"email": unique("kim")})), Some(&token))
        .await;
    assert_eq!(invite.status, 201, "{}", invite.json);
    assert_eq!(unsent(&app).await, 0);
    let id = invite.json["id"].as_str().unwrap();
    let resent = app.call(Method::POST, format!("/orgs/{org}/invitations/{id}/resend"), None, Some(&token)).await;
    assert_eq!(resent.status, 200, "{}", resent.json);
    assert_eq!(unsent(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_routes_and_hosted_pages_work_with_a_pool_of_one() {
    use crate::pages::{show, submit};
    use identity_testkit::ses;
    let one = [("DATABASE_POOL_SIZE", "1"), ("DATABASE_TIMEOUT_MS", "1000")];
    let app = crate::app_with_ses_at(&ses::url(), &one).await;
    // Joining from the invitation page: a new account, then an existing one by its password.
    let (kim, lee) = (unique("kim"), unique("lee"));
    app.user(&lee, PASSWORD).await;
    let (owner, org) = app.invited_to_acme(&kim, json!(["member"])).await;
    let invited =
        app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(json!({"email": lee})), Some(&owner)).await;
    assert_eq!(invited.status, 201, "{}", invited.json);
    for (who, fields) in [
        (&kim, vec![("name", "Kim"), ("password", PASSWORD), ("password_confirm", PASSWORD)]),
        (&lee, vec![("password", PASSWORD)]),
    ] {
        let token = ses::token_in(ses::mails_to(who).await.last().unwrap());
        let page = show(&app, &format!("/pages/invitations/accept?token={token}")).await;
        assert_eq!(page.res.status, 200);
        let (cookie, csrf) = (page.cookie.unwrap(), page.csrf.unwrap());
        let mut form = vec![("token", token.as_str()), ("csrf", csrf.as_str()), ("action", "join")];
        form.extend(fields);
        let joined = submit(&app, "/pages/invitations/accept", Some(&cookie), &form).await;
        assert_eq!(joined.status, 200, "{who}: {}", String::from_utf8_lossy(&joined.body));
    }
    // Sessions, the profile, an email change and deleting the account.
    let (token, _) = app.login(&kim, PASSWORD).await;
    app.login(&kim, PASSWORD).await;
    assert_eq!(app.get("/me/sessions", Some(&token)).await.status, 200);
    let revoked = app.call(Method::POST, "/me/sessions/revoke-others", None, Some(&token)).await;
    assert_eq!(revoked.json, json!({"revoked": 1}));
    let renamed = app.call(Method::PATCH, "/me", Some(json!({"name": "Kim Lee"})), Some(&token)).await;
    assert_eq!(renamed.status, 200);
    let moved = unique("kim.moved");
    let asked = app
        .call(Method::POST, "/me/email", Some(json!({"new_email": moved, "password": PASSWORD})), Some(&token))
        .await;
    assert_eq!(asked.status, 202, "{}", asked.json);
    assert_eq!(unsent(&app).await, 0, "both mails went out before the answer");
    let link = ses::token_in(ses::mails_to(&moved).await.last().unwrap());
    assert_eq!(app.post("/auth/email/confirm", json!({"token": link})).await.status, 200);
    let deleted = app.call(Method::DELETE, "/me", Some(json!({"password": PASSWORD})), Some(&token)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.json);
}

/// Sends `count` copies of one request at once; returns their statuses.
async fn burst(
    app: &Arc<TestApp>,
    count: usize,
    method: Method,
    path: String,
    body: Value,
    bearer: Option<String>,
) -> Vec<u16> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..count {
        let (app, method, path, body, bearer) =
            (app.clone(), method.clone(), path.clone(), body.clone(), bearer.clone());
        tasks.spawn(async move { app.call(method, path, Some(body), bearer.as_deref()).await.status.as_u16() });
    }
    tasks.join_all().await
}

fn server_errors(statuses: &[u16]) -> Vec<u16> {
    statuses.iter().copied().filter(|s| *s >= 500).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_parallel_sign_ups_of_one_email_make_one_account_and_no_5xx() {
    let app = Arc::new(app_with(&[]).await);
    let email = unique("rush");
    let body = json!({"email": email, "password": PASSWORD, "name": "Rush"});
    let statuses = burst(&app, 64, Method::POST, "/auth/register".into(), body, None).await;
    assert!(server_errors(&statuses).is_empty(), "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    let accounts: i64 = app.sql(&format!("SELECT count(*) FROM users WHERE email = '{email}'")).await[0].get(0);
    assert_eq!(accounts, 1);
    assert_eq!(unsent(&app).await, 0, "every mail went out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_parallel_invitations_of_one_email_make_one_pending_invitation_and_no_5xx() {
    let app = Arc::new(app_with(&[]).await);
    let (owner, _) = app.signed_in(&unique("owner"), PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let email = unique("kim");
    let path = format!("/orgs/{org}/invitations");
    let statuses = burst(&app, 64, Method::POST, path, json!({"email": email}), Some(owner)).await;
    assert!(server_errors(&statuses).is_empty(), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "the rest are told it is pending: {statuses:?}");
    let pending: i64 =
        app.sql(&format!("SELECT count(*) FROM invitations WHERE email = '{email}' AND status = 'pending'")).await[0]
            .get(0);
    assert_eq!(pending, 1);
    assert_eq!(unsent(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_parallel_forgotten_passwords_answer_alike_with_no_5xx() {
    let app = Arc::new(app_with(&[]).await);
    let email = unique("lee");
    app.user(&email, PASSWORD).await;
    let statuses = burst(&app, 64, Method::POST, "/auth/password/forgot".into(), json!({"email": email}), None).await;
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    assert!(all_sent_soon(&app).await, "every reset mail went out");
    let live: i64 =
        app.sql("SELECT count(*) FROM one_time_tokens WHERE purpose = 'reset_password' AND used_at IS NULL").await[0]
            .get(0);
    assert_eq!(live, 1, "only the newest link works");
}
