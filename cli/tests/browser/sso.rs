//! Single sign-on through an organization's own identity provider, in headless Chromium
//! through the hosted sign-in, with providers no one here wrote: panva's oidc-provider (RS256
//! and ES256 keys, its own login form) for the way it should go, and oidc-provider-mock for
//! what a real provider will not send. openid-client is the application on the other side.

use std::time::{Duration, Instant};

use axum::http::Method;
use identity_testkit::TestApp;
use identity_testkit::dns::{self, Answer};
use identity_testkit::idp::{MockProvider, OidcProvider};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::driver::Browser;
use crate::relying_parties::{
    Application, DESKTOP, Library, Provider, Rp, continue_as, create_org, provider_with, register,
};
use crate::{PASSWORD, unique};

/// Our server, allowed to reach providers on loopback (its own issuer is loopback).
async fn server() -> Provider {
    provider_with(&[("SSO_ALLOW_LOCAL_PROVIDERS", "true")]).await
}

/// A domain no other test uses, short enough to read in a screenshot.
fn short_domain(label: &str) -> String {
    let id = Uuid::now_v7().simple().to_string();
    format!("{label}-{}.example.com", &id[id.len() - 8..])
}

/// Claims, proves (at the tests' DNS server) and verifies `domain` for `org`.
async fn verified_domain(app: &TestApp, token: &str, org: Uuid, domain: &str) {
    let res =
        app.call(Method::POST, format!("/orgs/{org}/domains"), Some(json!({"domain": domain})), Some(token)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    let record = &res.json["verification"];
    dns::publish(record["record_name"].as_str().unwrap(), Answer::txt(record["record_value"].as_str().unwrap()));
    let id = res.json["id"].as_str().unwrap();
    let res = app.call(Method::POST, format!("/orgs/{org}/domains/{id}/verify"), None, Some(token)).await;
    assert_eq!(res.json["state"], "verified", "{}", res.json);
}

/// An organization whose IT admin connected `issuer` (with this client) and made it active.
struct Org {
    token: String,
    id: Uuid,
    domain: String,
    connection: String,
}

async fn connected_org(p: &Provider, issuer: &str, client: (&str, &str), extra: Value) -> Org {
    let (token, _) = p.app.signed_in(&unique("it-admin"), PASSWORD).await;
    let id = create_org(&p.app, &token, "Acme Corp").await;
    let domain = short_domain("acme");
    verified_domain(&p.app, &token, id, &domain).await;
    let mut body = json!({"name": "Acme Okta", "issuer": issuer, "client_id": client.0, "client_secret": client.1});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let res = p.app.call(Method::POST, format!("/orgs/{id}/sso/connections"), Some(body), Some(&token)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    let connection = res.json["id"].as_str().unwrap().to_owned();
    let path = format!("/orgs/{id}/sso/connections/{connection}");
    let res = p.app.call(Method::PATCH, &path, Some(json!({"status": "active"})), Some(&token)).await;
    assert_eq!(res.status, 200, "{}", res.json);
    Org { token, id, domain, connection }
}

/// Waits until the browser is at one of these URL prefixes; which one, and the URL.
async fn wait_for_any(browser: &Browser, prefixes: &[&str]) -> (usize, String) {
    let started = Instant::now();
    loop {
        let now = browser.client.current_url().await.unwrap().to_string();
        if let Some(i) = prefixes.iter().position(|p| now.starts_with(p)) {
            return (i, now);
        }
        assert!(started.elapsed() < Duration::from_secs(15), "waited for {prefixes:?}, the browser is at {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the browser is back at the application; if it stays at a page of ours, the
/// test fails with that page's text.
async fn back_at(browser: &Browser, application: &Application) -> String {
    let started = Instant::now();
    loop {
        let now = browser.client.current_url().await.unwrap().to_string();
        if now.starts_with(&application.callback()) {
            return now;
        }
        if started.elapsed() > Duration::from_secs(15) {
            panic!("stopped at {now}: {}", browser.text().await);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Signs in on oidc-provider's own login form as `sub` (any password), if it asks.
async fn at_oidc_provider(browser: &Browser, idp: &OidcProvider, sub: &str, back: &str) {
    let (which, _) = wait_for_any(browser, &[&format!("{}/interaction/", idp.issuer), back]).await;
    if which == 0 {
        browser.wait_for("input[name=login]").await;
        // The form starts with our login_hint (the typed email) in it.
        browser.run("document.querySelector('input[name=login]').value = ''").await;
        browser.fill("input[name=login]", sub).await;
        browser.fill("input[name=password]", "anything").await;
        browser.click("button[type=submit]").await;
    }
}

/// The CRM, through openid-client, as the application on the other side.
fn crm<'a>(p: &'a Provider, client: &'a (String, String), application: &'a Application) -> Rp<'a> {
    Rp { library: Library::OpenidClient, issuer: &p.issuer, client_id: &client.0, secret: &client.1, app: application }
}

fn id_in(claims: &Value) -> String {
    claims["sub"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn employees_sign_in_through_their_organizations_provider_join_return_and_survive_its_key_rotation() {
    let p = server().await;
    let application = Application::start(None).await;
    let body = json!({"name": "Acme CRM", "kind": "web", "redirect_uris": [application.callback()]});
    let client = register(&p, body).await;
    let callback = format!("{}/pages/sso-callback", p.issuer);
    let idp = OidcProvider::start(json!([
        {"client_id": "identity-rs", "client_secret": "rs-secret-at-the-idp", "redirect_uris": [callback]},
        {"client_id": "identity-es", "client_secret": "es-secret-at-the-idp", "redirect_uris": [callback],
         "id_token_signed_response_alg": "ES256"},
    ]))
    .await;
    let org = connected_org(&p, &idp.issuer, ("identity-rs", "rs-secret-at-the-idp"), json!({})).await;
    let ada = format!("ada@{}", org.domain);
    idp.set_account("emp-001", json!({"email": ada, "email_verified": true, "name": "Ada Lovelace"})).await;

    // The IT admin tests the connection first: the provider's answer, and what a sign-in would
    // do, with nothing changed.
    let test = p
        .app
        .call(Method::POST, format!("/orgs/{}/sso/connections/{}/test", org.id, org.connection), None, Some(&org.token))
        .await;
    assert_eq!(test.status, 200, "{}", test.json);
    let admin_browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    admin_browser.open(test.json["url"].as_str().unwrap()).await;
    at_oidc_provider(&admin_browser, &idp, "emp-001", &callback).await;
    admin_browser.wait_for_heading("Connection test").await;
    let report = admin_browser.text().await;
    assert!(report.contains("creates an account") && report.contains(&ada), "{report}");
    crate::flows::assert_accessible(&admin_browser, "the connection test's report").await;
    admin_browser.screenshot("sso-connection-test").await;
    // A test's state is spent: the same callback again is refused.
    let spent = admin_browser.client.current_url().await.unwrap().to_string();
    admin_browser.open(&spent).await;
    admin_browser.wait_for_heading("expired").await;
    admin_browser.close().await;
    assert!(p.app.sql(&format!("SELECT 1 FROM users WHERE email = '{ada}'")).await.is_empty(), "the test made nothing");

    // Ada signs in to the CRM: her email, then her organization's provider, then back.
    let rp = crm(&p, &client, &application);
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    let started = rp.start(json!({})).await;
    browser.open(&started.url).await;
    browser.wait_for_heading("Sign in").await;
    browser.fill("#email", &ada).await;
    crate::flows::assert_accessible(&browser, "the sign-in's email step").await;
    browser.screenshot("sso-email-step").await;
    browser.click("form button[type=submit]").await;
    wait_for_any(&browser, &[&format!("{}/interaction/", idp.issuer)]).await;
    browser.wait_for("input[name=login]").await;
    browser.screenshot("sso-at-the-provider").await;
    at_oidc_provider(&browser, &idp, "emp-001", &application.callback()).await;
    let back = back_at(&browser, &application).await;
    let got = rp.finish(&started, &back).await;
    assert!(got.get("refused").is_none(), "{got}");
    assert_eq!(got["claims"]["email"], ada.as_str());
    assert_eq!(got["claims"]["amr"], json!(["sso"]));
    assert_eq!(got["claims"]["email_verified"], true, "an address at a verified domain counts as verified");
    let ada_id = id_in(&got["claims"]);

    // She joined with the organization's default role, and the log says how.
    let members = p.app.call(Method::GET, format!("/orgs/{}/members", org.id), None, Some(&org.token)).await;
    let member = members.json["items"].as_array().unwrap().iter().find(|m| m["email"] == ada.as_str()).cloned();
    assert_eq!(member.expect("a member")["roles"], json!(["member"]));
    let log = p.app.call(Method::GET, format!("/orgs/{}/audit-log", org.id), None, Some(&org.token)).await;
    let entries = log.json["items"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["action"] == "user.sso_linked"), "{log:?}", log = log.json);
    assert!(entries.iter().any(|e| e["action"] == "member.added" && e["metadata"]["source"] == "sso"));

    // She returns (a fresh sign-in is asked for): the same account, the same one link.
    let again = rp.start(json!({"prompt": "login"})).await;
    browser.open(&again.url).await;
    continue_as(&browser, &ada).await;
    at_oidc_provider(&browser, &idp, "emp-001", &application.callback()).await;
    let back = back_at(&browser, &application).await;
    let returning = rp.finish(&again, &back).await;
    assert_eq!(id_in(&returning["claims"]), ada_id);
    let links = p.app.sql(&format!("SELECT count(*) FROM user_identities WHERE user_id = '{ada_id}'")).await;
    assert_eq!(links[0].get::<_, i64>(0), 1);

    // The provider rotates its keys: the next token names a key we have not seen, which is
    // fetched once.
    idp.rotate_keys().await;
    let rotated = rp.start(json!({"prompt": "login"})).await;
    browser.open(&rotated.url).await;
    continue_as(&browser, &ada).await;
    at_oidc_provider(&browser, &idp, "emp-001", &application.callback()).await;
    let back = back_at(&browser, &application).await;
    assert_eq!(id_in(&rp.finish(&rotated, &back).await["claims"]), ada_id);
    let kids = p.app.sql(&format!("SELECT jwks::text FROM sso_connections WHERE id = '{}'", org.connection)).await;
    assert!(kids[0].get::<_, String>(0).contains("rs256-2"), "the new keys were fetched");
    browser.close().await;

    // The same provider signing with ES256 (another client of it): a second person joins.
    let path = format!("/orgs/{}/sso/connections/{}", org.id, org.connection);
    let change = json!({"client_id": "identity-es", "client_secret": "es-secret-at-the-idp"});
    assert_eq!(p.app.call(Method::PATCH, &path, Some(change), Some(&org.token)).await.status, 200);
    let bob = format!("bob@{}", org.domain);
    idp.set_account("emp-002", json!({"email": bob, "name": "Bob"})).await;
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    let started = rp.start(json!({"prompt": "login"})).await;
    browser.open(&started.url).await;
    continue_as(&browser, &bob).await;
    at_oidc_provider(&browser, &idp, "emp-002", &application.callback()).await;
    let back = back_at(&browser, &application).await;
    let got = rp.finish(&started, &back).await;
    assert_eq!(got["claims"]["email"], bob.as_str(), "{got}");
    browser.close().await;
}

/// One sign-in attempt through oidc-provider-mock as `sub`, after typing `email`: the URL the
/// browser stopped at, the page's text there, and (back at the application) what the library got.
async fn attempt(
    browser: &Browser,
    rp: &Rp<'_>,
    idp: &MockProvider,
    email: &str,
    sub: &str,
) -> (String, String, Value) {
    let started = through_mock(browser, rp, idp, json!({"prompt": "login"}), Some(email), sub).await;
    let (which, url) = wait_for_any(browser, &[&rp.app.callback(), &format!("{}/pages/", rp.issuer)]).await;
    if which == 0 {
        return (url.clone(), String::new(), rp.finish(&started, &url).await);
    }
    browser.wait_for("h1").await;
    (url, browser.text().await, Value::Null)
}

#[tokio::test]
async fn what_a_provider_should_never_send_signs_no_one_in_and_takes_over_no_account() {
    let p = server().await;
    let application = Application::start(None).await;
    let body = json!({"name": "Acme CRM", "kind": "web", "redirect_uris": [application.callback()]});
    let client = register(&p, body).await;
    let idp = MockProvider::start(&[]).await;
    let org = connected_org(&p, &idp.issuer, ("identity-app", "any-secret"), json!({})).await;
    // Another organization, with its own verified domain.
    let other = {
        let (token, _) = p.app.signed_in(&unique("beta-admin"), PASSWORD).await;
        let id = create_org(&p.app, &token, "Beta Works").await;
        let domain = short_domain("beta");
        verified_domain(&p.app, &token, id, &domain).await;
        domain
    };
    let rp = crm(&p, &client, &application);
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    let now = chrono::Utc::now().timestamp();
    let at = |name: &str| format!("{name}@{}", org.domain);

    for (case, claims, words) in [
        ("a nonce that is not ours", json!({"email": at("n1"), "nonce": "not-our-nonce"}), "nonce"),
        ("another audience", json!({"email": at("n2"), "aud": "another-application"}), "audience"),
        ("an expired token", json!({"email": at("n3"), "exp": now - 3600, "iat": now - 3700}), "expired"),
        ("an address outside the verified domains", json!({"email": "eve@elsewhere.example.org"}), "not at a domain"),
        ("another organization's domain", json!({"email": format!("eve@{other}")}), "not at a domain"),
        ("no email at all", json!({"email": null}), "no email"),
    ] {
        let sub = format!("sub-{}", Uuid::now_v7().simple());
        idp.set_user(&sub, claims).await;
        let (url, text, _) = attempt(&browser, &rp, &idp, &at("someone"), &sub).await;
        assert!(url.contains("/pages/sso-callback"), "{case}: stopped at {url}");
        assert!(text.contains(words), "{case}: {text}");
        let linked = p.app.sql(&format!("SELECT 1 FROM user_identities WHERE subject = '{sub}'")).await;
        assert!(linked.is_empty(), "{case}: nothing linked");
    }
    browser.screenshot("sso-refused").await;

    // An account someone registered with an address at the domain but never confirmed is not
    // captured by a provider asserting that address.
    let carol = at("carol");
    p.app.unverified_user(&carol, PASSWORD).await;
    idp.set_user("sub-carol", json!({"email": carol, "email_verified": true})).await;
    let (_, text, _) = attempt(&browser, &rp, &idp, &carol, "sub-carol").await;
    assert!(text.contains("never confirmed"), "{text}");
    assert!(p.app.sql("SELECT 1 FROM user_identities WHERE subject = 'sub-carol'").await.is_empty());

    // A known subject whose provider now asserts the CEO's address still signs in only as
    // itself (the identity is the pair, never the email).
    let ceo = at("ceo");
    p.app.user(&ceo, PASSWORD).await;
    let dan = at("dan");
    idp.set_user("sub-dan", json!({"email": dan})).await;
    let (_, _, first) = attempt(&browser, &rp, &idp, &dan, "sub-dan").await;
    assert_eq!(first["claims"]["email"], dan.as_str(), "{first}");
    idp.set_user("sub-dan", json!({"email": ceo})).await;
    let (_, _, second) = attempt(&browser, &rp, &idp, &ceo, "sub-dan").await;
    assert_eq!(second["claims"]["email"], dan.as_str(), "still Dan's account: {second}");
    assert_eq!(second["claims"]["sub"], first["claims"]["sub"]);
    browser.close().await;
}

/// Through the mock's form as `sub` from an application's sign-in begun with `extra`: typing
/// `email` first unless the request names the organization.
async fn through_mock(
    browser: &Browser,
    rp: &Rp<'_>,
    idp: &MockProvider,
    extra: Value,
    email: Option<&str>,
    sub: &str,
) -> crate::relying_parties::Started {
    let started = rp.start(extra).await;
    browser.open(&started.url).await;
    if let Some(email) = email {
        continue_as(browser, email).await;
    }
    wait_for_any(browser, &[&format!("{}/oauth2/authorize", idp.issuer)]).await;
    browser.wait_for("input[name=sub]").await;
    browser.fill("input[name=sub]", sub).await;
    browser.click("form button[type=submit]").await;
    started
}

#[tokio::test]
async fn the_accounts_own_factor_the_organizations_mfa_policy_and_its_seats_still_hold() {
    let p = server().await;
    let application = Application::start(None).await;
    let body = json!({"name": "Acme CRM", "kind": "web", "redirect_uris": [application.callback()]});
    let client = register(&p, body).await;
    let idp = MockProvider::start(&[]).await;
    let org = connected_org(&p, &idp.issuer, ("identity-app", "any-secret"), json!({})).await;
    let rp = crm(&p, &client, &application);
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;

    // Eve has an account with its own authenticator: after her provider, her code.
    let eve = format!("eve@{}", org.domain);
    p.app.user(&eve, PASSWORD).await;
    let (eve_token, _) = p.app.login(&eve, PASSWORD).await;
    let factor = p.app.enrol_totp(&eve_token, PASSWORD).await;
    idp.set_user("sub-eve", json!({"email": eve})).await;
    let started = through_mock(&browser, &rp, &idp, json!({"prompt": "login"}), Some(&eve), "sub-eve").await;
    browser.wait_for_heading("Enter your code").await;
    p.app.forget_used_steps().await;
    browser.fill("#code", &factor.code(0)).await;
    browser.click("form button[type=submit]").await;
    let back = back_at(&browser, &application).await;
    let got = rp.finish(&started, &back).await;
    assert_eq!(got["claims"]["amr"], json!(["sso", "otp"]), "{got}");

    // The organization requires MFA: a request naming it goes straight to its provider, and
    // the provider's sign-in counts only once the connection vouches for the provider's MFA.
    p.app.sql(&format!("UPDATE organizations SET require_mfa = true WHERE id = '{}'", org.id)).await;
    let frank = format!("frank@{}", org.domain);
    idp.set_user("sub-frank", json!({"email": frank})).await;
    let scoped = json!({"organization": org.id.to_string(), "prompt": "login"});
    let started = through_mock(&browser, &rp, &idp, scoped.clone(), None, "sub-frank").await;
    let back = back_at(&browser, &application).await;
    assert_eq!(rp.finish(&started, &back).await["error"], "access_denied");
    let path = format!("/orgs/{}/sso/connections/{}", org.id, org.connection);
    // (The IT admin has no factor of their own: the policy is lifted while they change it.)
    let policy = |on: bool| format!("UPDATE organizations SET require_mfa = {on} WHERE id = '{}'", org.id);
    p.app.sql(&policy(false)).await;
    let vouch = json!({"idp_enforces_mfa": true});
    assert_eq!(p.app.call(Method::PATCH, &path, Some(vouch), Some(&org.token)).await.status, 200);
    p.app.sql(&policy(true)).await;
    let started = through_mock(&browser, &rp, &idp, scoped, None, "sub-frank").await;
    let back = back_at(&browser, &application).await;
    let got = rp.finish(&started, &back).await;
    assert_eq!(got["claims"]["amr"], json!(["sso", "mfa"]), "{got}");
    assert_eq!(got["claims"]["org_id"], org.id.to_string());

    // Its seats are taken: a new person is told so, and no account is left half-made.
    let seats = p.app.sql(&format!("SELECT count(*) FROM memberships WHERE org_id = '{}'", org.id)).await;
    let taken: i64 = seats[0].get(0);
    p.app.sql(&format!("UPDATE organizations SET max_members = {taken} WHERE id = '{}'", org.id)).await;
    let gina = format!("gina@{}", org.domain);
    idp.set_user("sub-gina", json!({"email": gina})).await;
    through_mock(&browser, &rp, &idp, json!({"prompt": "login"}), Some(&gina), "sub-gina").await;
    browser.wait_for_heading("not allowed").await;
    assert!(browser.text().await.contains("no free seat"));
    assert!(p.app.sql(&format!("SELECT 1 FROM users WHERE email = '{gina}'")).await.is_empty());
    browser.close().await;
}
