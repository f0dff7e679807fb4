//! The OpenID Provider judged by relying parties no one here wrote, driving the hosted sign-in
//! in headless Chromium: openid-client (a confidential web app), authlib (the same, in
//! Python) and oauth4webapi (a public single-page app, validating every answer strictly). The
//! libraries build the requests and check the answers; the browser signs in as a person would.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use identity_testkit::TestApp;
use serde_json::{Value, json};

use crate::driver::Browser;
use crate::{PASSWORD, unique};

pub(crate) const DESKTOP: (u32, u32) = (900, 1000);
const PHONE: (u32, u32) = (390, 844);

/// The provider on a real port, its issuer its own address, signing ID tokens with RS256.
pub(crate) struct Provider {
    pub(crate) app: TestApp,
    pub(crate) issuer: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn provider() -> Provider {
    provider_with(&[]).await
}

pub(crate) async fn provider_with(settings: &[(&str, &str)]) -> Provider {
    use identity_shared::auth::jwk::{SigningAlg, generate};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let keys = format!("{},{}", generate(SigningAlg::EdDSA).0, generate(SigningAlg::RS256).0);
    let mut all = vec![("JWT_ISSUER", issuer.as_str()), ("JWT_PRIVATE_KEY", keys.as_str())];
    all.extend_from_slice(settings);
    let app = TestApp::new(identity_cli::routes(), &all).await;
    let router = app.router.clone().into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Provider { app, issuer, server }
}

/// The application's own pages: where the provider sends the browser back (a heading to wait
/// for), and a page that tries to frame the sign-in.
pub(crate) struct Application {
    pub(crate) base: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Application {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Application {
    pub(crate) async fn start(frame: Option<String>) -> Application {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let back = || async { Html("<!doctype html><html lang=en><title>App</title><h1>Back at the application</h1>") };
        let frame = frame.unwrap_or_default();
        let framing = move || {
            let frame = frame.clone();
            async move {
                Html(format!("<!doctype html><title>Framing</title><h1>Framing</h1><iframe src=\"{frame}\"></iframe>"))
            }
        };
        // A logo, as a product's CDN would serve it.
        let logo = || async {
            (
                [(axum::http::header::CONTENT_TYPE, "image/svg+xml")],
                "<svg xmlns='http://www.w3.org/2000/svg' width='120' height='32'><rect width='120' height='32' fill='#0b6e4f'/></svg>",
            )
        };
        let router = Router::new()
            .route("/callback", get(back))
            .route("/bye", get(back))
            .route("/frame", get(framing))
            .route("/logo.svg", get(logo));
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Application { base, server }
    }

    pub(crate) fn callback(&self) -> String {
        format!("{}/callback", self.base)
    }

    fn bye(&self) -> String {
        format!("{}/bye", self.base)
    }
}

/// Registers an application as a platform admin: (client_id, secret or "-").
pub(crate) async fn register(p: &Provider, body: Value) -> (String, String) {
    let admin = unique("admin");
    let (token, _) = p.app.signed_in(&admin, PASSWORD).await;
    let email = identity_shared::models::Email::parse(&admin).unwrap();
    identity_shared::services::users::grant_platform_admin(p.app.state.pool(), &email).await.unwrap();
    let res = p.app.call(axum::http::Method::POST, "/oauth2/clients", Some(body), Some(&token)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    let secret = res.json["client_secret"].as_str().unwrap_or("-").to_owned();
    (res.json["client_id"].as_str().unwrap().to_owned(), secret)
}

/// A relying party's library: which script, and how it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Library {
    OpenidClient,
    Oauth4webapi,
    Authlib,
}

/// Runs the library's script for `step` with `args` and `stdin`; its JSON.
async fn rp(library: Library, step: &str, args: &[&str], stdin: Value) -> Value {
    let dir = PathBuf::from(
        std::env::var("JWT_VERIFIERS")
            .expect("set JWT_VERIFIERS to what scripts/lib/verifiers.sh installs (scripts/test exports it)"),
    );
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/lib/verifiers");
    let mut command = match library {
        Library::Authlib => {
            let mut c = std::process::Command::new(dir.join("venv/bin/python"));
            c.arg(scripts.join("oidc_rp.py")).arg(step);
            c
        }
        Library::OpenidClient | Library::Oauth4webapi => {
            let mut c = std::process::Command::new("node");
            let name = if library == Library::OpenidClient { "openid-client" } else { "oauth4webapi" };
            c.arg(scripts.join("oidc_rp.mjs")).arg(name).arg(step);
            c
        }
    };
    command.args(args).env("JWT_VERIFIERS", &dir);
    let output = tokio::task::spawn_blocking(move || {
        let mut child = command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the relying party runs");
        child.stdin.take().unwrap().write_all(stdin.to_string().as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(output.status.success(), "{library:?} {step}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{library:?} {step} printed {stdout}"))
}

/// One application's sign-in as its library starts it.
pub(crate) struct Started {
    pub(crate) url: String,
    pub(crate) checks: Value,
}

pub(crate) struct Rp<'a> {
    pub(crate) library: Library,
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) secret: &'a str,
    pub(crate) app: &'a Application,
}

impl Rp<'_> {
    pub(crate) async fn start(&self, extra: Value) -> Started {
        let callback = self.app.callback();
        let args = [self.issuer, self.client_id, self.secret, &callback, &extra.to_string()];
        let out = rp(self.library, "start", &args, json!({})).await;
        let url = out["url"].as_str().unwrap().to_owned();
        Started { url, checks: json!({"verifier": out["verifier"], "state": out["state"], "nonce": out["nonce"]}) }
    }

    pub(crate) async fn finish(&self, started: &Started, callback: &str) -> Value {
        let mut checks = started.checks.clone();
        checks["callback"] = json!(callback);
        self.finish_with(checks).await
    }

    async fn finish_with(&self, checks: Value) -> Value {
        let (callback, bye) = (self.app.callback(), self.app.bye());
        let args = [self.issuer, self.client_id, self.secret, callback.as_str(), bye.as_str()];
        rp(self.library, "finish", &args, checks).await
    }
}

/// Waits until the browser is at a URL starting with `prefix`; that URL.
pub(crate) async fn wait_for_url(browser: &Browser, prefix: &str) -> String {
    let started = Instant::now();
    loop {
        let now = browser.client.current_url().await.unwrap().to_string();
        if now.starts_with(prefix) {
            return now;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "waited for {prefix}, the browser is at {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Signs in on the hosted form as `email`: the email step, then the password.
pub(crate) async fn sign_in(browser: &Browser, email: &str) {
    continue_as(browser, email).await;
    browser.wait_for("#password").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
}

/// The sign-in's first step: the email, then "Continue".
pub(crate) async fn continue_as(browser: &Browser, email: &str) {
    browser.wait_for_heading("Sign in").await;
    browser.fill("#email", email).await;
    browser.click("form button[type=submit]").await;
}

fn query(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn openid_client_signs_in_refreshes_signs_a_second_app_in_silently_and_signs_out() {
    let p = provider().await;
    let application = Application::start(None).await;
    let registration = |name: &str| {
        json!({"name": name, "kind": "web", "redirect_uris": [application.callback()],
               "post_logout_redirect_uris": [application.bye()]})
    };
    let (crm, crm_secret) = register(&p, registration("Acme CRM")).await;
    let (wiki, wiki_secret) = register(&p, registration("Acme Wiki")).await;
    let ada = unique("ada");
    p.app.user(&ada, PASSWORD).await;
    let first = Rp {
        library: Library::OpenidClient,
        issuer: &p.issuer,
        client_id: &crm,
        secret: &crm_secret,
        app: &application,
    };
    let second = Rp {
        library: Library::OpenidClient,
        issuer: &p.issuer,
        client_id: &wiki,
        secret: &wiki_secret,
        app: &application,
    };

    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    // Signed out, prompt=none comes straight back with login_required, which the library reports.
    let silent = second.start(json!({"prompt": "none"})).await;
    browser.open(&silent.url).await;
    let back = wait_for_url(&browser, &application.callback()).await;
    let refused = second.finish(&silent, &back).await;
    assert_eq!(refused["error"], "login_required", "{refused}");

    let started = first.start(json!({})).await;
    browser.open(&started.url).await;
    browser.wait_for_heading("Sign in").await;
    assert!(browser.text().await.contains("Acme CRM"), "the sign-in names the application");
    crate::flows::assert_accessible(&browser, "the hosted sign-in").await;
    browser.screenshot("oidc-sign-in").await;
    sign_in(&browser, &ada).await;
    let back = wait_for_url(&browser, &application.callback()).await;
    browser.wait_for_heading("Back at the application").await;
    let got = first.finish(&started, &back).await;
    assert!(got.get("refused").is_none(), "{got}");
    assert_eq!(
        (got["claims"]["email"].as_str(), got["claims"]["aud"].as_str()),
        (Some(ada.as_str()), Some(crm.as_str()))
    );
    assert_eq!(got["claims"]["amr"], json!(["pwd"]));
    assert_eq!(got["userinfo"]["email"], ada.as_str());
    assert_eq!(got["refreshed_claims"]["sub"], got["claims"]["sub"], "a refresh names the same user");
    // The code is spent: the library's second exchange of it is refused.
    let replay = first.finish(&started, &back).await;
    assert_eq!(replay["error"], "invalid_grant", "{replay}");

    // A second application signs in without a password.
    let silent = second.start(json!({"prompt": "none"})).await;
    browser.open(&silent.url).await;
    let back = wait_for_url(&browser, &application.callback()).await;
    let quiet = second.finish(&silent, &back).await;
    assert_eq!(quiet["claims"]["sid"], got["claims"]["sid"], "{quiet}");

    // RP-initiated logout with the library's end-session URL: back to the registered URI.
    browser.open(got["end_session"].as_str().unwrap()).await;
    let bye = wait_for_url(&browser, &application.bye()).await;
    assert_eq!(query(&bye, "state").as_deref(), Some("bye-openid-client"));
    let access = got["access_token"].as_str().unwrap();
    assert_eq!(p.app.get("/me", Some(access)).await.status, 401, "the sessions the browser session opened ended");
    let silent = second.start(json!({"prompt": "none"})).await;
    browser.open(&silent.url).await;
    let back = wait_for_url(&browser, &application.callback()).await;
    assert_eq!(query(&back, "error").as_deref(), Some("login_required"));
    browser.close().await;
}

#[tokio::test]
async fn openid_client_refuses_a_tampered_state_nonce_or_verifier_and_no_redirect_leaves_for_a_look_alike() {
    let p = provider().await;
    let application = Application::start(None).await;
    let body = json!({"name": "Acme CRM", "kind": "web", "redirect_uris": [application.callback()]});
    let (crm, secret) = register(&p, body).await;
    let ada = unique("ada");
    p.app.user(&ada, PASSWORD).await;
    let rp =
        Rp { library: Library::OpenidClient, issuer: &p.issuer, client_id: &crm, secret: &secret, app: &application };
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    let started = rp.start(json!({})).await;
    browser.open(&started.url).await;
    sign_in(&browser, &ada).await;
    let first_back = wait_for_url(&browser, &application.callback()).await;
    for (what, key, value) in [
        ("a tampered state", "state", json!("not-the-state")),
        ("a tampered nonce", "nonce", json!("not-the-nonce")),
        ("a wrong verifier", "verifier", json!("a-verifier-that-is-not-the-one-the-challenge-was-made-from")),
    ] {
        // Each on a code of its own (the browser is signed in: straight back).
        let started = rp.start(json!({})).await;
        browser.open(&started.url).await;
        let back = wait_for_url(&browser, &application.callback()).await;
        let mut checks = started.checks.clone();
        checks["callback"] = json!(back);
        checks[key] = value;
        let refused = rp.finish_with(checks).await;
        assert!(refused.get("refused").is_some(), "{what}: {refused}");
    }
    // A missing verifier: the library cannot even ask without one; the server refuses a
    // request without it (HTTP-level test), and a verifier from another request fails here.
    let other = rp.start(json!({})).await;
    let mut crossed = started.checks.clone();
    crossed["verifier"] = other.checks["verifier"].clone();
    crossed["callback"] = json!(first_back);
    assert_eq!(rp.finish_with(crossed).await["error"], "invalid_grant");
    // A look-alike redirect URI: a page at the provider, and the browser stays there.
    let look_alike = started.url.replace(
        &form_urlencoded::byte_serialize(application.callback().as_bytes()).collect::<String>(),
        &form_urlencoded::byte_serialize(format!("{}/", application.callback()).as_bytes()).collect::<String>(),
    );
    assert_ne!(look_alike, started.url);
    browser.open(&look_alike).await;
    assert!(browser.client.current_url().await.unwrap().as_str().starts_with(&p.issuer));
    assert!(browser.text().await.contains("redirect_uri"), "{}", browser.text().await);
    browser.close().await;
}

#[tokio::test]
async fn the_sign_in_refuses_a_form_without_its_csrf_value_and_being_framed() {
    let p = provider().await;
    let application = Application::start(None).await;
    let body = json!({"name": "Acme CRM", "kind": "web", "redirect_uris": [application.callback()]});
    let (crm, secret) = register(&p, body).await;
    let ada = unique("ada");
    p.app.user(&ada, PASSWORD).await;
    let rp =
        Rp { library: Library::OpenidClient, issuer: &p.issuer, client_id: &crm, secret: &secret, app: &application };
    let started = rp.start(json!({})).await;
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    browser.open(&started.url).await;
    browser.wait_for_heading("Sign in").await;
    let sign_in_url = browser.client.current_url().await.unwrap().to_string();
    browser.run("document.querySelector('input[name=csrf]').remove()").await;
    continue_as(&browser, &ada).await;
    browser.wait_for_heading("This is not allowed").await;
    // Another site framing the sign-in gets nothing inside the frame.
    let framer = Application::start(Some(sign_in_url)).await;
    browser.open(&format!("{}/frame", framer.base)).await;
    browser.wait_for_heading("Framing").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    browser.client.clone().enter_frame(0).await.unwrap();
    let inside =
        browser.run("return document.querySelector('h1') ? document.querySelector('h1').textContent : ''").await;
    assert_ne!(inside, "Sign in", "the sign-in rendered inside another site's frame");
    browser.close().await;
}

#[tokio::test]
async fn authlib_signs_in_with_a_second_factor_into_a_picked_organization() {
    let p = provider().await;
    let application = Application::start(None).await;
    let body = json!({"name": "Acme Portal", "kind": "web", "redirect_uris": [application.callback()],
                      "post_logout_redirect_uris": [application.bye()]});
    let (portal, secret) = register(&p, body).await;
    let kim = unique("kim");
    let (token, _) = p.app.signed_in(&kim, PASSWORD).await;
    let acme = create_org(&p.app, &token, "Acme Corp").await;
    let beta = create_org(&p.app, &token, "Beta Works").await;
    let factor = p.app.enrol_totp(&token, PASSWORD).await;
    let rp =
        Rp { library: Library::Authlib, issuer: &p.issuer, client_id: &portal, secret: &secret, app: &application };
    let started = rp.start(json!({"organization": "select"})).await;
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    browser.open(&started.url).await;
    sign_in(&browser, &kim).await;
    browser.wait_for_heading("Enter your code").await;
    crate::flows::assert_accessible(&browser, "the sign-in's code step").await;
    browser.screenshot("oidc-code-step").await;
    p.app.forget_used_steps().await;
    browser.fill("#code", &factor.code(0)).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_heading("Choose an organization").await;
    let text = browser.text().await;
    assert!(text.contains("Acme Corp") && text.contains("Beta Works"), "{text}");
    crate::flows::assert_accessible(&browser, "the organization picker").await;
    browser.screenshot("oidc-organization-picker").await;
    browser.click(&format!("input[value='{beta}']")).await;
    browser.click("form button[type=submit]").await;
    let back = wait_for_url(&browser, &application.callback()).await;
    let got = rp.finish(&started, &back).await;
    assert!(got.get("refused").is_none(), "{got}");
    assert_eq!(got["claims"]["org_id"], beta.to_string(), "{got}");
    assert_eq!(got["claims"]["org_name"], "Beta Works");
    assert_eq!(got["claims"]["amr"], json!(["pwd", "otp"]));
    assert_eq!(got["userinfo"]["org_id"], beta.to_string());
    assert_eq!(got["refreshed_claims"]["org_id"], beta.to_string(), "a refresh keeps the organization");
    assert_ne!(acme, beta);
    // A tampered state is refused by authlib before it asks for tokens.
    let again = rp.start(json!({})).await;
    browser.open(&again.url).await;
    let back = wait_for_url(&browser, &application.callback()).await;
    let mut checks = again.checks.clone();
    checks["callback"] = json!(back);
    checks["state"] = json!("not-the-state");
    assert!(rp.finish_with(checks).await.get("refused").is_some());
    // Signing out through authlib's end-session URL.
    browser.open(got["end_session"].as_str().unwrap()).await;
    let bye = wait_for_url(&browser, &application.bye()).await;
    assert_eq!(query(&bye, "state").as_deref(), Some("bye-authlib"));
    browser.close().await;
}

#[tokio::test]
async fn oauth4webapi_validates_a_public_single_page_app_strictly_on_a_phone() {
    let p = provider().await;
    let application = Application::start(None).await;
    let body =
        json!({"name": "Acme Mobile", "kind": "spa", "redirect_uris": [application.callback()], "allow_sign_up": true});
    let (spa, secret) = register(&p, body).await;
    assert_eq!(secret, "-", "a public application has no secret");
    let ada = unique("ada");
    p.app.user(&ada, PASSWORD).await;
    let rp =
        Rp { library: Library::Oauth4webapi, issuer: &p.issuer, client_id: &spa, secret: &secret, app: &application };
    let started = rp.start(json!({"login_hint": ada})).await;
    let browser = Browser::start(PHONE.0, PHONE.1).await;
    browser.open(&started.url).await;
    browser.wait_for_heading("Sign in").await;
    assert!(browser.text().await.contains("Create an account"), "sign-up where the application allows it");
    browser.screenshot("oidc-sign-in-phone").await;
    let overflow = browser.run("return document.documentElement.scrollWidth > window.innerWidth").await;
    assert_eq!(overflow, false, "nothing is wider than the phone's screen");
    // The login hint filled the email in.
    browser.click("form button[type=submit]").await;
    browser.wait_for("#password").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    let back = wait_for_url(&browser, &application.callback()).await;
    let got = rp.finish(&started, &back).await;
    assert!(got.get("refused").is_none(), "{got}");
    assert_eq!(got["claims"]["email"], ada.as_str());
    assert_eq!(got["userinfo"]["sub"], got["claims"]["sub"]);
    assert!(got["refreshed_claims"]["sub"].is_string(), "{got}");
    // A tampered state and a tampered nonce are refused by the library.
    for (key, value) in [("state", "not-the-state"), ("nonce", "not-the-nonce")] {
        let again = rp.start(json!({})).await;
        browser.open(&again.url).await;
        let back = wait_for_url(&browser, &application.callback()).await;
        let mut checks = again.checks.clone();
        checks["callback"] = json!(back);
        checks[key] = json!(value);
        assert!(rp.finish_with(checks).await.get("refused").is_some(), "{key}");
    }
    browser.close().await;
}

/// Creates an organization as `token`'s holder; its id.
pub(crate) async fn create_org(app: &TestApp, token: &str, name: &str) -> uuid::Uuid {
    let res = app.call(axum::http::Method::POST, "/orgs", Some(json!({"name": name})), Some(token)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    res.json["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_hosted_sign_in_wears_the_products_brand_and_the_organizations_logo() {
    // The product's CDN (the application's test server) serves the logos.
    let application = Application::start(None).await;
    let logo = format!("{}/logo.svg", application.base);
    let p =
        provider_with(&[("BRAND_NAME", "Acme Cloud"), ("BRAND_ACCENT_COLOR", "#0b6e4f"), ("BRAND_LOGO_URL", &logo)])
            .await;
    let body = json!({"name": "Acme CRM", "kind": "web", "redirect_uris": [application.callback()]});
    let (crm, secret) = register(&p, body).await;
    let ada = unique("ada");
    let (token, _) = p.app.signed_in(&ada, PASSWORD).await;
    let org = create_org(&p.app, &token, "Beta Works").await;
    let set = p
        .app
        .call(axum::http::Method::PATCH, format!("/orgs/{org}"), Some(json!({"logo_url": logo})), Some(&token))
        .await;
    assert_eq!(set.status, 200, "{}", set.json);
    let rp =
        Rp { library: Library::OpenidClient, issuer: &p.issuer, client_id: &crm, secret: &secret, app: &application };
    let started = rp.start(json!({"organization": org.to_string()})).await;
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await;
    browser.open(&started.url).await;
    browser.wait_for_heading("Sign in to Beta Works").await;
    assert!(browser.text().await.contains("Acme Cloud"), "the product's name in the header");
    let title = browser.run("return document.title").await;
    assert_eq!(title, "Sign in · Acme Cloud");
    let button = browser.run("return getComputedStyle(document.querySelector('button')).backgroundColor").await;
    assert_eq!(button, "rgb(11, 110, 79)", "the accent colour");
    // Both logos load: the CSP admits their origin.
    let loaded = browser.run("return [...document.images].map(i => i.complete && i.naturalWidth > 0)").await;
    assert_eq!(loaded, json!([true, true]), "the product's and the organization's logo");
    crate::flows::assert_accessible(&browser, "branded sign-in").await;
    browser.screenshot("oidc-sign-in-branded").await;
    sign_in(&browser, &ada).await;
    let back = wait_for_url(&browser, &application.callback()).await;
    let got = rp.finish(&started, &back).await;
    assert_eq!(got["claims"]["org_id"], org.to_string(), "{got}");
    browser.close().await;
    // An accent too light for white text is refused when the deployment starts.
    let map = std::collections::HashMap::from([
        ("DATABASE_URL".to_owned(), "postgres://x/y".to_owned()),
        ("BRAND_ACCENT_COLOR".to_owned(), "#ffcc00".to_owned()),
    ]);
    let refused = identity_shared::config::Config::from_map(&map).unwrap_err().to_string();
    assert!(refused.contains("BRAND_ACCENT_COLOR") && refused.contains("contrast"), "{refused}");
}
