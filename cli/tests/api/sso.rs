//! Single sign-on connections through the HTTP surface, against oidc-provider-mock (PyPI) as
//! the organization's provider: discovery checked (its issuer, the outbound rules with a
//! resolver faked in the process), the secret sealed, one active connection while a verified
//! domain is held, `sso:manage` for each route, password sign-in refused where SSO is
//! required, and a provider that is down or a spent `state` met with a page, not a 500. The
//! sign-ins themselves, in Chromium through the hosted pages, are in the browser tests.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::Method;
use identity_shared::egress::resolver::Resolve;
use identity_testkit::idp::MockProvider;
use identity_testkit::{TestApp, dns};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::provider::{Browser, Landed, authorize_path, web_app};
use crate::{PASSWORD, create_org};

/// Loopback providers are this deployment's to reach (its issuer is loopback too).
const LOCAL: (&str, &str) = ("SSO_ALLOW_LOCAL_PROVIDERS", "true");

/// A new connection's body.
fn connection(issuer: &str) -> Value {
    json!({"name": "Acme Okta", "issuer": issuer, "client_id": "identity-app", "client_secret": "s3cret-at-the-idp"})
}

/// An owner and their organization, with `domain` verified.
async fn org_with_domain(app: &TestApp, domain: &str) -> (String, Uuid) {
    let (token, _) = app.signed_in(&format!("owner@{domain}"), PASSWORD).await;
    let org = create_org(app, &token, "Acme").await;
    crate::domains::verified(app, &token, org, domain, "manual").await;
    (token, org)
}

async fn create(app: &TestApp, token: &str, org: Uuid, body: Value) -> identity_testkit::TestResponse {
    app.call(Method::POST, format!("/orgs/{org}/sso/connections"), Some(body), Some(token)).await
}

#[tokio::test]
async fn connections_are_discovered_sealed_activated_one_at_a_time_and_kept_to_sso_managers() {
    let idp = MockProvider::start(&[]).await;
    let app = crate::app_with(&[LOCAL]).await;
    let (token, _) = app.signed_in("owner@owners.example.net", PASSWORD).await;
    let org = create_org(&app, &token, "Acme").await;

    let res = create(&app, &token, org, connection(&idp.issuer)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    let c = res.json.clone();
    assert_eq!((c["type"].as_str(), c["status"].as_str()), (Some("oidc"), Some("inactive")));
    assert_eq!(c["token_endpoint"], format!("{}/oauth2/token", idp.issuer), "from the discovery document");
    assert_eq!(c["scopes"], json!(["openid", "email", "profile"]));
    assert!(c["redirect_uri"].as_str().unwrap().ends_with("/pages/sso-callback"), "{c}");
    assert!(!res.json.to_string().contains("s3cret"), "the secret is never shown");
    let id = c["id"].as_str().unwrap();
    let stored = app.sql(&format!("SELECT client_secret_sealed FROM sso_connections WHERE id = '{id}'")).await;
    let sealed: Vec<u8> = stored[0].get(0);
    assert!(!String::from_utf8_lossy(&sealed).contains("s3cret"), "sealed at rest");

    // The issuer must be the one the document names, exactly.
    let res = create(&app, &token, org, connection(&format!("{}/", idp.issuer))).await;
    let problem = res.assert_problem(422);
    assert_eq!(problem["errors"][0]["field"], "issuer", "{problem}");
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("names the issuer"), "{problem}");
    // Nothing answers at a path of the provider that is no issuer.
    let res = create(&app, &token, org, connection(&format!("{}/nowhere", idp.issuer))).await;
    assert!(res.assert_problem(422)["errors"][0]["message"].as_str().unwrap().contains("HTTP 404"), "{}", res.json);
    for (body, field) in [
        (json!({"issuer": "ftp://idp.example.com", "client_id": "a", "client_secret": "b"}), "issuer"),
        (json!({"issuer": idp.issuer, "client_id": "", "client_secret": "b"}), "client_id"),
        (json!({"issuer": idp.issuer, "client_id": "a", "client_secret": "b", "scopes": ["email"]}), "scopes"),
        (json!({"issuer": idp.issuer, "client_id": "a", "client_secret": "b", "type": "saml"}), "type"),
    ] {
        let res = create(&app, &token, org, body).await;
        assert_eq!(res.assert_problem(422)["errors"][0]["field"], field, "{}", res.json);
    }

    // Active only while the organization holds a verified domain.
    let path = format!("/orgs/{org}/sso/connections/{id}");
    let activate = json!({"status": "active"});
    let res = app.call(Method::PATCH, &path, Some(activate.clone()), Some(&token)).await;
    assert!(res.assert_problem(422)["errors"][0]["message"].as_str().unwrap().contains("verified domain"));
    let domain = dns::unique_domain("acme-sso");
    crate::domains::verified(&app, &token, org, &domain, "manual").await;
    let res = app.call(Method::PATCH, &path, Some(activate.clone()), Some(&token)).await;
    assert_eq!((res.status.as_u16(), res.json["status"].as_str()), (200, Some("active")), "{}", res.json);
    assert_eq!(res.json["domains"], json!([domain]));
    // One active connection per organization.
    let second = create(&app, &token, org, connection(&idp.issuer)).await.json["id"].as_str().unwrap().to_owned();
    let res =
        app.call(Method::PATCH, format!("/orgs/{org}/sso/connections/{second}"), Some(activate), Some(&token)).await;
    res.assert_problem(409);

    // A member without sso:manage reads nothing of it and changes nothing.
    let (member, member_id) = {
        let email = format!("member@{domain}");
        let id = app.user(&email, PASSWORD).await;
        app.add_member(org, id, &["member"]).await;
        (app.login(&email, PASSWORD).await.0, id)
    };
    assert_ne!(member_id, Uuid::nil());
    for (method, url) in [
        (Method::GET, format!("/orgs/{org}/sso/connections")),
        (Method::GET, path.clone()),
        (Method::PATCH, path.clone()),
        (Method::DELETE, path.clone()),
        (Method::POST, format!("{path}/test")),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"name": "x"}));
        app.call(method.clone(), &url, body, Some(&member)).await.assert_problem(403);
    }
    // The owner lists, tests and deletes; each change is in the log, never with the secret.
    let list = app.call(Method::GET, format!("/orgs/{org}/sso/connections"), None, Some(&token)).await;
    assert_eq!(list.json["items"].as_array().unwrap().len(), 2);
    let test = app.call(Method::POST, format!("{path}/test"), None, Some(&token)).await;
    assert_eq!(test.status, 200, "{}", test.json);
    assert!(test.json["url"].as_str().unwrap().starts_with(&format!("{}/oauth2/authorize?", idp.issuer)));
    let renamed = app
        .call(Method::PATCH, &path, Some(json!({"name": "Okta EU", "client_secret": "n3w-secret"})), Some(&token))
        .await;
    assert_eq!(renamed.json["name"], "Okta EU");
    assert_eq!(app.call(Method::DELETE, &path, None, Some(&token)).await.status, 204);
    assert_eq!(app.call(Method::GET, &path, None, Some(&token)).await.status, 404);
    let log = app.call(Method::GET, format!("/orgs/{org}/audit-log"), None, Some(&token)).await;
    let actions: Vec<&str> =
        log.json["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["sso_connection.created", "sso_connection.updated", "sso_connection.deleted"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(!log.json.to_string().contains("s3cret") && !log.json.to_string().contains("n3w-secret"));
}

/// A resolver that answers every name with these addresses, counting the lookups.
#[derive(Debug)]
struct Pointing(Vec<&'static str>, AtomicUsize);

impl Resolve for Pointing {
    fn resolve<'a>(
        &'a self,
        _host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        self.1.fetch_add(1, Ordering::SeqCst);
        let addrs = self.0.iter().map(|a| SocketAddr::new(a.parse().unwrap(), port)).collect();
        Box::pin(async move { Ok(addrs) })
    }
}

#[tokio::test]
async fn discovery_at_a_name_that_points_at_private_addresses_is_refused_before_any_connection() {
    for addresses in [vec!["10.0.0.7"], vec!["169.254.169.254"], vec!["127.0.0.1"], vec!["::1", "192.168.1.1"]] {
        let resolver = Arc::new(Pointing(addresses.clone(), AtomicUsize::new(0)));
        // A deployed API: providers must be public.
        let app = TestApp::with_resolver(identity_cli::routes(), &[], resolver.clone()).await;
        let (token, _) = app.signed_in("owner@owners.example.net", PASSWORD).await;
        let org = create_org(&app, &token, "Acme").await;
        let res = create(&app, &token, org, connection("https://idp.acme-corp.com")).await;
        let problem = res.assert_problem(422);
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("private or reserved"), "{addresses:?}: {message}");
        assert_eq!(resolver.1.load(Ordering::SeqCst), 1, "looked up once, and refused before dialing");
    }
    // An issuer written as an address, or plain http, is refused before any lookup.
    let resolver = Arc::new(Pointing(vec!["10.0.0.7"], AtomicUsize::new(0)));
    let app = TestApp::with_resolver(identity_cli::routes(), &[], resolver.clone()).await;
    let (token, _) = app.signed_in("owner@owners.example.net", PASSWORD).await;
    let org = create_org(&app, &token, "Acme").await;
    for issuer in ["https://10.0.0.7", "http://idp.acme-corp.com", "https://metadata.google.internal"] {
        create(&app, &token, org, connection(issuer)).await.assert_problem(422);
    }
    assert_eq!(resolver.1.load(Ordering::SeqCst), 0);
}

/// An active connection for a fresh verified domain, with these extra settings; (owner's
/// token, org, domain, connection id).
async fn active(app: &TestApp, idp: &MockProvider, extra: Value) -> (String, Uuid, String, String) {
    let domain = dns::unique_domain("acme");
    let (token, org) = org_with_domain(app, &domain).await;
    let mut body = connection(&idp.issuer);
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let id = create(app, &token, org, body).await.json["id"].as_str().unwrap().to_owned();
    let res = app
        .call(
            Method::PATCH,
            format!("/orgs/{org}/sso/connections/{id}"),
            Some(json!({"status": "active"})),
            Some(&token),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.json);
    (token, org, domain, id)
}

#[tokio::test]
async fn password_sign_in_is_refused_where_the_organization_requires_sso_and_says_where_to_go() {
    let idp = MockProvider::start(&[]).await;
    let app = crate::app_with(&[LOCAL]).await;
    let (_, _, domain, _) = active(&app, &idp, json!({"sso_required": true})).await;
    let ada = format!("ada@{domain}");
    app.user(&ada, PASSWORD).await;
    let res = app.post("/auth/login", json!({"email": ada, "password": PASSWORD})).await;
    let problem = res.assert_problem(403);
    assert!(problem["detail"].as_str().unwrap().contains("single sign-on"), "{problem}");
    // The same words for an address with no account (and a wrong password): nothing told.
    let stranger =
        app.post("/auth/login", json!({"email": format!("nobody@{domain}"), "password": "wrong one here"})).await;
    assert_eq!(stranger.assert_problem(403)["detail"], problem["detail"]);
    // Another domain signs in with its password as before.
    app.user("bob@elsewhere.example.net", PASSWORD).await;
    assert_eq!(
        app.post("/auth/login", json!({"email": "bob@elsewhere.example.net", "password": PASSWORD})).await.status,
        200
    );
}

/// Starts a hosted sign-in for `email` at a domain routed to the provider: the provider URL the
/// "continue" page moves on to (its `Refresh`), with the browser holding the binding cookie.
async fn sent_to_provider(browser: &mut Browser, app: &TestApp, client_id: &str, email: &str) -> url::Url {
    let page = browser.get(app, &authorize_path(client_id, "")).await.page();
    let page = browser.submit(app, &page, "sign-in", &[("email", email)]).await.page();
    assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
    let refresh = page.header("refresh").expect("the continue page moves on by itself").to_owned();
    url::Url::parse(refresh.strip_prefix("0;url=").unwrap()).unwrap()
}

#[tokio::test]
async fn a_provider_that_is_down_gets_a_page_and_a_spent_state_is_refused() {
    let idp = MockProvider::start(&[]).await;
    let app = crate::app_with(&[LOCAL, ("JWT_PRIVATE_KEY", &crate::provider::rsa_keys())]).await;
    let (_, _, domain, _) = active(&app, &idp, json!({})).await;
    let (client_id, _) = web_app(&app).await;
    let mut browser = Browser::default();
    let to = sent_to_provider(&mut browser, &app, &client_id, &format!("ada@{domain}")).await;
    assert!(to.as_str().starts_with(&format!("{}/oauth2/authorize?", idp.issuer)), "{to}");
    let param = |name: &str| to.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param("login_hint"), Some(format!("ada@{domain}")));
    let state = param("state").unwrap();
    drop(idp);
    // The provider is gone: its token endpoint cannot be reached.
    let callback = format!("/pages/sso-callback?state={state}&code=a-code");
    let Landed::Page(page) = browser.get(&app, &callback).await else { panic!("a page") };
    assert_eq!(page.status, 503, "{}", String::from_utf8_lossy(&page.body));
    assert!(String::from_utf8_lossy(&page.body).contains("cannot be reached"));
    // The state was spent by that callback: a second one is refused.
    let Landed::Page(page) = browser.get(&app, &callback).await else { panic!("a page") };
    assert_eq!(page.status, 410, "{}", String::from_utf8_lossy(&page.body));
    // Another browser (without the binding cookie) cannot finish a sign-in it did not start.
    let idp = MockProvider::start(&[]).await;
    let app = crate::app_with(&[LOCAL, ("JWT_PRIVATE_KEY", &crate::provider::rsa_keys())]).await;
    let (_, _, domain, _) = active(&app, &idp, json!({})).await;
    let (client_id, _) = web_app(&app).await;
    let to = sent_to_provider(&mut Browser::default(), &app, &client_id, &format!("ada@{domain}")).await;
    let state = to.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let Landed::Page(page) = Browser::default().get(&app, &format!("/pages/sso-callback?state={state}&code=c")).await
    else {
        panic!("a page")
    };
    assert_eq!(page.status, 403, "{}", String::from_utf8_lossy(&page.body));
    assert!(String::from_utf8_lossy(&page.body).contains("another browser"));
}
