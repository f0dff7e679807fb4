//! The hosted pages through the router: what a GET shows (and spends: nothing), what each
//! form does, the CSRF check, the headers, and error pages for every kind of bad link. The
//! same flows in a real browser are in the `browser` test binary.

use axum::body::Body;
use axum::http::{Method, Request};
use identity_testkit::{TestApp, TestResponse, ses};
use serde_json::json;
use uuid::Uuid;

use crate::{PASSWORD, app, app_with_ses, unique};

/// A page as a browser holds it: the answer, the CSRF cookie it set and its form's field.
pub(crate) struct Shown {
    pub(crate) res: TestResponse,
    pub(crate) cookie: Option<String>,
    pub(crate) csrf: Option<String>,
}

impl Shown {
    fn html(&self) -> String {
        String::from_utf8_lossy(&self.res.body).into_owned()
    }
}

pub(crate) async fn show(app: &TestApp, path: &str) -> Shown {
    let res = app.call(Method::GET, path, None, None).await;
    let cookie = res.header("set-cookie").map(|c| c.split(';').next().unwrap().to_owned());
    let html = String::from_utf8_lossy(&res.body).into_owned();
    let csrf = html.split(r#"name="csrf" value=""#).nth(1).map(|rest| rest.split('"').next().unwrap().to_owned());
    Shown { res, cookie, csrf }
}

pub(crate) async fn submit(app: &TestApp, path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> TestResponse {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let mut req = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    app.send(req.body(Body::from(body)).unwrap()).await
}

fn text(res: &TestResponse) -> String {
    String::from_utf8_lossy(&res.body).into_owned()
}

/// An org whose owner invited `who`; the mailed link's token, the org and the owner's token.
async fn invited(app: &TestApp, who: &str, roles: serde_json::Value) -> (String, Uuid, String) {
    let (owner, org) = app.invited_to_acme(who, roles).await;
    let token = ses::token_in(ses::mails_to(who).await.last().unwrap());
    (token, org, owner)
}

fn assert_page(res: &TestResponse, status: u16) {
    assert_eq!(res.status.as_u16(), status, "{}", text(res));
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.header("x-frame-options"), Some("DENY"));
    assert_eq!(res.header("referrer-policy"), Some("no-referrer"));
    let csp = res.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("script-src"), "no script is allowed at all: {csp}");
}

/// Every visible input, select and textarea has a label naming it by id.
fn assert_labelled(html: &str) {
    for input in html.split("<input").skip(1).map(|rest| rest.split('>').next().unwrap()) {
        if input.contains(r#"type="hidden""#) {
            continue;
        }
        let id = input
            .split(r#"id=""#)
            .nth(1)
            .map(|r| r.split('"').next().unwrap())
            .unwrap_or_else(|| panic!("no id: {input}"));
        assert!(html.contains(&format!(r#"<label for="{id}""#)), "input #{id} has no label");
    }
    assert!(!html.contains("<script"), "no page carries script");
}

async fn pending(app: &TestApp) -> i64 {
    app.sql("SELECT count(*) FROM invitations WHERE status = 'pending'").await[0].get(0)
}

#[tokio::test]
async fn the_invitation_page_shows_who_invites_whom_and_a_scanner_spends_nothing() {
    let app = app_with_ses().await;
    let kim = unique("kim");
    let (token, _, _) = invited(&app, &kim, json!(["admin"])).await;
    for _ in 0..3 {
        let page = show(&app, &format!("/pages/invitations/accept?token={token}")).await;
        assert_page(&page.res, 200);
        let html = page.html();
        for want in ["Join Acme Corp", &kim, "admin", "Create account and join", "Decline the invitation"] {
            assert!(html.contains(want), "{want} missing from {html}");
        }
        assert!(html.contains(r#"href="../style.css""#) && html.contains(r#"action="accept""#), "links are relative");
        assert_labelled(&html);
        let cookie = page.res.header("set-cookie").unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    }
    assert_eq!(pending(&app).await, 1, "showing the page spends nothing");
    let css = app.get("/pages/style.css", None).await;
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
}

#[tokio::test]
async fn a_form_without_its_cookie_or_field_is_refused_with_a_page() {
    let app = app_with_ses().await;
    let kim = unique("kim");
    let (token, _, _) = invited(&app, &kim, json!(["member"])).await;
    let page = show(&app, &format!("/pages/invitations/accept?token={token}")).await;
    let (cookie, csrf) = (page.cookie.clone().unwrap(), page.csrf.clone().unwrap());
    let decline = |cookie: Option<String>, csrf: String| {
        let app = &app;
        let token = token.clone();
        async move {
            submit(
                app,
                "/pages/invitations/accept",
                cookie.as_deref(),
                &[("token", &token), ("csrf", &csrf), ("action", "decline")],
            )
            .await
        }
    };
    // No cookie (another site's form), a cookie from another browser, a field for another link.
    assert_page(&decline(None, csrf.clone()).await, 403);
    let stranger = show(&app, "/pages/forgot-password").await.cookie.unwrap();
    assert_page(&decline(Some(stranger), csrf.clone()).await, 403);
    let other_link = identity_shared::pages::Csrf::from_cookie(&{
        let mut h = axum::http::HeaderMap::new();
        h.insert("cookie", cookie.parse().unwrap());
        h
    })
    .unwrap()
    .field(&identity_shared::auth::tokens::generate());
    assert_page(&decline(Some(cookie.clone()), other_link).await, 403);
    assert_eq!(pending(&app).await, 1, "nothing was declined");
    // JSON is not what the page sends: a page, not problem+json.
    let req =
        Request::post("/pages/invitations/accept").header("content-type", "application/json").body(Body::from("{}"));
    assert_page(&app.send(req.unwrap()).await, 415);

    let res = decline(Some(cookie), csrf).await;
    assert_page(&res, 200);
    assert!(text(&res).contains("Invitation declined"));
    assert_eq!(pending(&app).await, 0);
}

#[tokio::test]
async fn creating_the_account_on_the_page_joins_with_the_invited_roles_and_signs_nothing_in() {
    let app = app_with_ses().await;
    let kim = unique("kim");
    let (token, org, owner) = invited(&app, &kim, json!(["admin"])).await;
    let page = show(&app, &format!("/pages/invitations/accept?token={token}")).await;
    let (cookie, csrf) = (page.cookie.unwrap(), page.csrf.unwrap());
    let join = |name: &'static str, password: &'static str, confirm: &'static str| {
        let (app, token, cookie, csrf) = (&app, token.clone(), cookie.clone(), csrf.clone());
        async move {
            let fields = [
                ("token", token.as_str()),
                ("csrf", &csrf),
                ("action", "join"),
                ("name", name),
                ("password", password),
                ("password_confirm", confirm),
            ];
            submit(app, "/pages/invitations/accept", Some(&cookie), &fields).await
        }
    };
    let mismatch = join("Kim", PASSWORD, "something else").await;
    assert_page(&mismatch, 422);
    assert!(text(&mismatch).contains("does not match"), "{}", text(&mismatch));
    assert!(text(&mismatch).contains(r#"value="Kim""#), "the name typed is kept");
    let short = join("Kim", "short", "short").await;
    assert_page(&short, 422);
    assert!(text(&short).contains("at least 8 characters"));
    assert_eq!(app.sql(&format!("SELECT count(*) FROM users WHERE email = '{kim}'")).await[0].get::<_, i64>(0), 0);

    let res = join("Kim", PASSWORD, PASSWORD).await;
    assert_page(&res, 200);
    assert!(text(&res).contains("You joined Acme Corp") && text(&res).contains("as admin"), "{}", text(&res));
    let members = app.get(&format!("/orgs/{org}/members"), Some(&owner)).await;
    let joined =
        members.json["items"].as_array().unwrap().iter().find(|m| m["email"] == kim.as_str()).cloned().unwrap();
    assert_eq!(joined["roles"], json!(["admin"]));
    let user = app.sql(&format!("SELECT id, email_verified_at IS NOT NULL FROM users WHERE email = '{kim}'")).await;
    assert!(user[0].get::<_, bool>(1), "the link proved the address");
    let sessions: i64 =
        app.sql(&format!("SELECT count(*) FROM sessions WHERE user_id = '{}'", user[0].get::<_, Uuid>(0))).await[0]
            .get(0);
    assert_eq!(sessions, 0, "the page signs nobody in: no token left the server");
    assert_eq!(app.post("/auth/login", json!({"email": kim, "password": PASSWORD})).await.status, 200);
    // The link is spent: the same form again says so.
    let again = join("Kim", PASSWORD, PASSWORD).await;
    assert_page(&again, 409);
}

#[tokio::test]
async fn an_existing_account_joins_with_its_password_under_the_lockout() {
    let app = app_with_ses().await;
    let kim = unique("kim");
    app.user(&kim, PASSWORD).await;
    let (token, org, owner) = invited(&app, &kim, json!(["member"])).await;
    let page = show(&app, &format!("/pages/invitations/accept?token={token}")).await;
    assert!(page.html().contains("Sign in and join") && !page.html().contains("Create account"), "{}", page.html());
    assert_labelled(&page.html());
    let (cookie, csrf) = (page.cookie.unwrap(), page.csrf.unwrap());
    let join = |password: &'static str| {
        let (app, token, cookie, csrf) = (&app, token.clone(), cookie.clone(), csrf.clone());
        async move {
            let fields = [("token", token.as_str()), ("csrf", &csrf), ("action", "join"), ("password", password)];
            submit(app, "/pages/invitations/accept", Some(&cookie), &fields).await
        }
    };
    let wrong = join("not the password").await;
    assert_page(&wrong, 401);
    assert!(text(&wrong).contains("is not this account"), "{}", text(&wrong));
    let failures: i64 =
        app.sql(&format!("SELECT failures::int8 FROM login_lockouts WHERE email = '{kim}'")).await[0].get(0);
    assert_eq!(failures, 1, "a wrong password here counts as a failed login");
    assert_page(&join(PASSWORD).await, 200);
    let members = app.get(&format!("/orgs/{org}/members"), Some(&owner)).await;
    assert_eq!(members.json["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn every_kind_of_bad_invitation_link_gets_its_own_page() {
    let app = app_with_ses().await;
    let malformed = show(&app, "/pages/invitations/accept?token=not-a-token").await;
    assert_page(&malformed.res, 422);
    assert!(malformed.html().contains("This link is not valid"));
    let unknown =
        show(&app, &format!("/pages/invitations/accept?token={}", identity_shared::auth::tokens::generate())).await;
    assert_page(&unknown.res, 404);
    assert_page(&show(&app, "/pages/invitations/accept").await.res, 422);

    let (token, _, _) = invited(&app, &unique("kim"), json!(["member"])).await;
    let path = format!("/pages/invitations/accept?token={token}");
    app.sql("UPDATE invitations SET expires_at = now() - interval '1 minute'").await;
    let expired = show(&app, &path).await;
    assert_page(&expired.res, 410);
    assert!(expired.html().contains("This invitation has expired") && !expired.html().contains("<form"));
    app.sql("UPDATE invitations SET expires_at = now() + interval '1 day', status = 'revoked'").await;
    assert!(show(&app, &path).await.html().contains("withdrawn"));
    app.sql("UPDATE invitations SET status = 'accepted'").await;
    let used = show(&app, &path).await;
    assert_page(&used.res, 409);
    assert!(used.html().contains("already accepted"));
    for nowhere in ["/pages/no-such-page", "/pages/invitations/nowhere", "/pages/invitations/accept/more"] {
        assert_page(&app.get(nowhere, None).await, 404);
    }
}

#[tokio::test]
async fn verify_reset_forgot_and_email_change_pages_act_only_on_their_forms() {
    let app = app_with_ses().await;
    let ada = unique("ada");
    let (access, _) = app.unverified_signed_in(&ada, PASSWORD).await;
    let verify = ses::token_in(ses::mails_to(&ada).await.last().unwrap());
    let page = show(&app, &format!("/pages/verify-email?token={verify}")).await;
    assert_page(&page.res, 200);
    assert_labelled(&page.html());
    let verified = || async { app.get("/me", Some(&access)).await.json["email_verified"].clone() };
    assert_eq!(verified().await, false, "showing the page verifies nothing");
    let (cookie, csrf) = (page.cookie.unwrap(), page.csrf.unwrap());
    let res = submit(&app, "/pages/verify-email", Some(&cookie), &[("token", &verify), ("csrf", &csrf)]).await;
    assert_page(&res, 200);
    assert!(text(&res).contains("is confirmed"));
    // The proof of the address ended the session that predates it.
    app.get("/me", Some(&access)).await.assert_problem(401);
    let (access, _) = app.login(&ada, PASSWORD).await;
    assert_eq!(app.get("/me", Some(&access)).await.json["email_verified"], true);
    let again = submit(&app, "/pages/verify-email", Some(&cookie), &[("token", &verify), ("csrf", &csrf)]).await;
    assert_page(&again, 422);

    // Forgot, then reset: the forgot form answers alike for any address.
    let forgot = show(&app, "/pages/forgot-password").await;
    assert_labelled(&forgot.html());
    let (cookie, csrf) = (forgot.cookie.unwrap(), forgot.csrf.unwrap());
    let ask = |email: String| {
        let (app, cookie, csrf) = (&app, cookie.clone(), csrf.clone());
        async move {
            submit(app, "/pages/forgot-password", Some(&cookie), &[("token", ""), ("csrf", &csrf), ("email", &email)])
                .await
        }
    };
    let known = ask(ada.clone()).await;
    let unknown = ask(unique("nobody")).await;
    assert_page(&known, 200);
    assert_eq!(text(&known).replace(&ada, "X"), text(&unknown).replace(&unknown_email(&unknown), "X"));
    assert_page(&ask("not an address".into()).await, 422);
    let reset =
        ses::token_in(ses::mails_to(&ada).await.iter().rev().find(|m| m["subject"] == "Reset your password").unwrap());
    let page = show(&app, &format!("/pages/reset-password?token={reset}")).await;
    assert_page(&page.res, 200);
    assert!(page.html().contains("8 to 1024 characters"), "the rules are shown");
    assert_labelled(&page.html());
    let (cookie, csrf) = (page.cookie.unwrap(), page.csrf.unwrap());
    let new = "a much newer password";
    let mismatch = submit(
        &app,
        "/pages/reset-password",
        Some(&cookie),
        &[("token", &reset), ("csrf", &csrf), ("password", new), ("password_confirm", "other")],
    )
    .await;
    assert_page(&mismatch, 422);
    let res = submit(
        &app,
        "/pages/reset-password",
        Some(&cookie),
        &[("token", &reset), ("csrf", &csrf), ("password", new), ("password_confirm", new)],
    )
    .await;
    assert_page(&res, 200);
    app.get("/me", Some(&access)).await.assert_problem(401);
    assert_eq!(app.post("/auth/login", json!({"email": ada, "password": new})).await.status, 200);
    assert_page(&show(&app, &format!("/pages/reset-password?token={reset}")).await.res, 422);

    // The email change link mailed to the new address.
    let (access, _) = app.login(&ada, new).await;
    let moved = unique("ada.moved");
    let asked =
        app.call(Method::POST, "/me/email", Some(json!({"new_email": moved, "password": new})), Some(&access)).await;
    assert_eq!(asked.status, 202);
    let change = ses::token_in(ses::mails_to(&moved).await.last().unwrap());
    let page = show(&app, &format!("/pages/confirm-email-change?token={change}")).await;
    assert_page(&page.res, 200);
    let shown = page.html();
    assert!(shown.contains(&ada) && shown.contains(&moved), "the page names the account moving, from and to: {shown}");
    let (cookie, csrf) = (page.cookie.unwrap(), page.csrf.unwrap());
    let res = submit(&app, "/pages/confirm-email-change", Some(&cookie), &[("token", &change), ("csrf", &csrf)]).await;
    assert_page(&res, 200);
    assert!(text(&res).contains(&moved));
    assert_eq!(app.get("/me", Some(&access)).await.json["email"], moved.as_str());
}

/// The address a forgot-password answer names.
fn unknown_email(res: &TestResponse) -> String {
    let html = text(res);
    let start = html.find("If ").unwrap() + 3;
    html[start..].split(' ').next().unwrap().to_owned()
}

#[tokio::test]
async fn links_in_mail_default_to_the_apis_own_pages() {
    let app = app().await;
    let base = &app.state.config().mail.app_base_url;
    assert_eq!(base, &format!("{}/pages", app.state.config().jwt_issuer));
}

#[tokio::test]
async fn hostile_input_on_every_page_gets_a_page_and_never_a_server_error() {
    let app = app_with_ses().await;
    let (token, _, _) = invited(&app, &unique("kim"), json!(["member"])).await;
    let page = show(&app, &format!("/pages/invitations/accept?token={token}")).await;
    let (cookie, csrf) = (page.cookie.unwrap(), page.csrf.unwrap());
    let paths = [
        "/pages/invitations/accept",
        "/pages/verify-email",
        "/pages/reset-password",
        "/pages/forgot-password",
        "/pages/confirm-email-change",
    ];
    let huge = "a".repeat(70 * 1024);
    let long_token = "A".repeat(5000);
    let bodies: Vec<Vec<u8>> = vec![
        vec![],
        b"\xff\xfe\xfd".to_vec(),
        b"token=%ZZ&csrf=%".to_vec(),
        format!("token={token}&csrf={csrf}&action=join&name=%00&password=%00&password_confirm=%00").into_bytes(),
        format!("token={token}&csrf={csrf}&action=join&name={huge}").into_bytes(),
        format!("token={token}&token=other&csrf={csrf}&csrf=x&action=join&action=decline").into_bytes(),
        format!("token={token}&csrf={csrf}&action=explode").into_bytes(),
        format!("token={long_token}&csrf={csrf}&email=' OR 1=1 --").into_bytes(),
        format!("token={token}&csrf={csrf}&email=%3Cscript%3Ealert(1)%3C/script%3E%40x.com").into_bytes(),
    ];
    let mut sent = 0;
    for path in paths {
        for body in &bodies {
            for content_type in ["application/x-www-form-urlencoded", "multipart/form-data", "application/json"] {
                let req = Request::post(path).header("content-type", content_type).header("cookie", &cookie);
                let res = app.send(req.body(Body::from(body.clone())).unwrap()).await;
                sent += 1;
                assert!(
                    res.status.is_client_error() || res.status.is_success(),
                    "{path} {content_type}: {}",
                    res.status
                );
                assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"), "{path}: a page, not JSON");
                assert!(!text(&res).contains("<script>alert"), "{path}: input is escaped");
            }
        }
        for query in ["token=", "token=%00", "token=%F0%9F%92%A9", &format!("token={long_token}"), "token=a&token=b"] {
            let res = app.get(&format!("{path}?{query}"), None).await;
            sent += 1;
            assert!(res.status.is_client_error() || res.status.is_success(), "{path}?{query}: {}", res.status);
        }
        for method in [Method::PUT, Method::DELETE, Method::PATCH] {
            let res = app.call(method.clone(), path, None, None).await;
            assert_page(&res, 405);
        }
    }
    assert_eq!(pending(&app).await, 1, "none of {sent} hostile requests answered the invitation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_32_simultaneous_joins_from_one_page_exactly_one_makes_the_account() {
    let app = std::sync::Arc::new(app_with_ses().await);
    let kim = unique("kim");
    let (token, org, _) = invited(&app, &kim, json!(["member"])).await;
    let page = show(&app, &format!("/pages/invitations/accept?token={token}")).await;
    let (cookie, csrf) = (page.cookie.unwrap(), page.csrf.unwrap());
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (app, token, cookie, csrf) = (app.clone(), token.clone(), cookie.clone(), csrf.clone());
            tokio::spawn(async move {
                let fields = [
                    ("token", token.as_str()),
                    ("csrf", &csrf),
                    ("action", "join"),
                    ("name", "Kim"),
                    ("password", PASSWORD),
                    ("password_confirm", PASSWORD),
                ];
                submit(&app, "/pages/invitations/accept", Some(&cookie), &fields).await.status.as_u16()
            })
        })
        .collect();
    let mut statuses = vec![];
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| [200, 409].contains(s)), "{statuses:?}");
    let accounts: i64 = app.sql(&format!("SELECT count(*) FROM users WHERE email = '{kim}'")).await[0].get(0);
    assert_eq!(accounts, 1);
    let members: i64 = app.sql(&format!("SELECT count(*) FROM memberships WHERE org_id = '{org}'")).await[0].get(0);
    assert_eq!(members, 2);
}

#[tokio::test]
async fn sign_in_and_join_asks_an_account_with_an_authenticator_for_its_code() {
    let app = app_with_ses().await;
    let kim = unique("kim");
    let (kim_token, _) = app.signed_in(&kim, PASSWORD).await;
    let factor = app.enrol_totp(&kim_token, PASSWORD).await;
    let (token, org, owner) = invited(&app, &kim, json!(["member"])).await;
    let page = show(&app, &format!("/pages/invitations/accept?token={token}")).await;
    let (cookie, csrf) = (page.cookie.unwrap(), page.csrf.unwrap());
    let fields = [("token", token.as_str()), ("csrf", &csrf), ("action", "join"), ("password", PASSWORD)];
    let step = submit(&app, "/pages/invitations/accept", Some(&cookie), &fields).await;
    assert_page(&step, 200);
    let html = text(&step);
    assert!(html.contains("Code from your authenticator app"), "{html}");
    assert_labelled(&html);
    // The password alone joined nobody.
    let members_path = format!("/orgs/{org}/members");
    let members = || app.get(&members_path, Some(&owner));
    assert_eq!(members().await.json["items"].as_array().unwrap().len(), 1);
    let mfa_token = html.split(r#"name="mfa_token" value=""#).nth(1).unwrap().split('"').next().unwrap().to_owned();
    let code = |code: String| {
        let (app, token, cookie, csrf, mfa_token) =
            (&app, token.clone(), cookie.clone(), csrf.clone(), mfa_token.clone());
        async move {
            let fields = [
                ("token", token.as_str()),
                ("csrf", &csrf),
                ("action", "code"),
                ("mfa_token", &mfa_token),
                ("code", &code),
            ];
            submit(app, "/pages/invitations/accept", Some(&cookie), &fields).await
        }
    };
    let right: Vec<String> = (-1..=1).map(|o| factor.code(o)).collect();
    let wrong_code = (0..).map(|n| format!("{n:06}")).find(|c| !right.contains(c)).unwrap();
    let wrong = code(wrong_code).await;
    assert_page(&wrong, 401);
    assert!(text(&wrong).contains("is wrong"), "{}", text(&wrong));
    assert_eq!(members().await.json["items"].as_array().unwrap().len(), 1);
    app.forget_used_steps().await;
    let joined = code(factor.code(0)).await;
    assert_page(&joined, 200);
    assert!(text(&joined).contains("You joined Acme Corp"), "{}", text(&joined));
    assert_eq!(members().await.json["items"].as_array().unwrap().len(), 2);
    // The step's token was for this sign-in only: it cannot be used again.
    assert_eq!(app.sql("SELECT 1 FROM mfa_challenges WHERE used_at IS NULL").await.len(), 0);
}
