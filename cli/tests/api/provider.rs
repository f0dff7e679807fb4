//! The OpenID Provider through its HTTP surface, with a form-posting stand-in for a browser
//! (cookies, redirects, the pages' hidden fields): the code flow and each control on it, as
//! an attacker would try them. The libraries' own runs (openid-client, authlib, oauth4webapi
//! driving Chromium) are in the browser tests.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{Method, Request, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use identity_testkit::{TestApp, client::TestResponse};
use serde_json::{Value, json};

use crate::oauth::form;
use crate::{PASSWORD, create_org, platform_admin};

/// Settings with an RS256 key beside the EdDSA one, as OpenID Connect libraries expect.
pub(crate) fn rsa_keys() -> String {
    static KEYS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        use identity_shared::auth::jwk::{SigningAlg, generate};
        format!("{},{}", generate(SigningAlg::EdDSA).0, generate(SigningAlg::RS256).0)
    })
    .clone()
}

/// A fresh app that signs ID tokens with RS256.
pub(crate) async fn provider() -> TestApp {
    crate::app_with(&[("JWT_PRIVATE_KEY", &rsa_keys())]).await
}

pub(crate) const CALLBACK: &str = "https://app.example.com/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92_9BN0cZRmNhRC8OGV2hZGX8SgA";
const CHALLENGE: &str = "u2YvlX2IHzLdz5cyAdvOG67sTEwtKNImXXV3tJYk-1Y";

/// Registers an application as the platform admin; (client_id, client_secret if any).
pub(crate) async fn application(app: &TestApp, body: Value) -> (String, Option<String>) {
    let admin = platform_admin(app).await;
    let res = app.call(Method::POST, "/oauth2/clients", Some(body), Some(&admin)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    (res.json["client_id"].as_str().unwrap().to_owned(), res.json["client_secret"].as_str().map(str::to_owned))
}

pub(crate) async fn web_app(app: &TestApp) -> (String, String) {
    let (id, secret) = application(
        app,
        json!({"name": "Acme CRM", "kind": "web", "redirect_uris": [CALLBACK],
               "post_logout_redirect_uris": ["https://app.example.com/bye"]}),
    )
    .await;
    (id, secret.unwrap())
}

/// A browser without script: a cookie jar, following redirects within the API.
#[derive(Default)]
pub(crate) struct Browser {
    cookies: HashMap<String, String>,
    /// The path of the page shown last: forms post relative to it, as a browser's do.
    at: String,
}

/// Where a navigation ended: a page of ours, or a URL outside the API.
pub(crate) enum Landed {
    Page(TestResponse),
    Left(String),
}

impl Landed {
    pub(crate) fn page(self) -> TestResponse {
        match self {
            Landed::Page(page) => page,
            Landed::Left(url) => panic!("left for {url}"),
        }
    }

    pub(crate) fn left(self) -> url::Url {
        match self {
            Landed::Left(url) => url::Url::parse(&url).unwrap(),
            Landed::Page(page) => panic!("stayed on a page ({}): {}", page.status, String::from_utf8_lossy(&page.body)),
        }
    }
}

impl Browser {
    fn keep_cookies(&mut self, res: &TestResponse) {
        for value in res.headers.get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub(crate) async fn request(&mut self, app: &TestApp, method: Method, path: &str, form: Option<String>) -> Landed {
        let (mut method, mut path, mut form) = (method, path.to_owned(), form);
        loop {
            let mut builder =
                Request::builder().method(method.clone()).uri(&path).header(header::COOKIE, self.cookie_header());
            if form.is_some() {
                builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            }
            let res = app.send(builder.body(Body::from(form.take().unwrap_or_default())).unwrap()).await;
            self.keep_cookies(&res);
            if res.status != 303 && res.status != 302 {
                self.at = path;
                return Landed::Page(res);
            }
            let location = res.header("location").unwrap().to_owned();
            let base = url::Url::parse("http://api.test").unwrap().join(&path).unwrap();
            let next = base.join(&location).unwrap();
            if next.host_str() != Some("api.test") {
                return Landed::Left(next.to_string());
            }
            path = match next.query() {
                Some(q) => format!("{}?{q}", next.path()),
                None => next.path().to_owned(),
            };
            method = Method::GET;
        }
    }

    pub(crate) async fn get(&mut self, app: &TestApp, path: &str) -> Landed {
        self.request(app, Method::GET, path, None).await
    }

    /// Submits the page's form whose action is `action`, its hidden fields with `fields`.
    pub(crate) async fn submit(
        &mut self,
        app: &TestApp,
        page: &TestResponse,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Landed {
        let html = String::from_utf8_lossy(&page.body).into_owned();
        let start = html.find(&format!("action=\"{action}\"")).unwrap_or_else(|| panic!("no form to {action}: {html}"));
        let end = html[start..].find("</form>").unwrap() + start;
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (name, value) in hidden_fields(&html[start..end]) {
            body.append_pair(&name, &value);
        }
        for (k, v) in fields {
            body.append_pair(k, v);
        }
        let target = url::Url::parse("http://api.test").unwrap().join(&self.at).unwrap().join(action).unwrap();
        self.request(app, Method::POST, target.path(), Some(body.finish())).await
    }
}

/// The hidden inputs of a piece of HTML: (name, value).
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter(|i| i.contains("type=\"hidden\""))
        .filter_map(|i| Some((attribute(i, "name")?, attribute(i, "value")?)))
        .collect()
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].replace("&amp;", "&").replace("&quot;", "\""))
}

pub(crate) fn authorize_path(client_id: &str, extra: &str) -> String {
    format!(
        "/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20profile%20email%20offline_access\
         &state=st-1&nonce=n-1&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        urlencode(CALLBACK)
    )
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Signs in on the hosted form and returns where the browser was sent.
async fn sign_in(browser: &mut Browser, app: &TestApp, path: &str, email: &str, password: &str) -> Landed {
    let page = browser.get(app, path).await.page();
    assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
    browser.submit(app, &page, "sign-in", &[("email", email), ("password", password)]).await
}

/// Exchanges a code as a confidential client.
async fn exchange(app: &TestApp, id: &str, secret: &str, code: &str, verifier: &str) -> TestResponse {
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={verifier}",
        urlencode(CALLBACK)
    );
    form(app, "/oauth2/token", &body, Some((id, secret))).await
}

fn claims(jwt: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

fn header_of(jwt: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').next().unwrap()).unwrap()).unwrap()
}

/// A user signed in at the provider through `id`'s hosted sign-in (or already): the code's
/// redirect.
async fn code_for(browser: &mut Browser, app: &TestApp, id: &str, email: &str) -> url::Url {
    match browser.get(app, &authorize_path(id, "")).await {
        Landed::Left(url) => url::Url::parse(&url).unwrap(),
        Landed::Page(page) => {
            browser.submit(app, &page, "sign-in", &[("email", email), ("password", PASSWORD)]).await.left()
        }
    }
}

#[tokio::test]
async fn the_code_flow_issues_id_access_and_refresh_tokens_bound_to_the_application() {
    let app = provider().await;
    app.user("ada@example.com", PASSWORD).await;
    let (id, secret) = web_app(&app).await;
    let mut browser = Browser::default();
    let back = code_for(&mut browser, &app, &id, "ada@example.com").await;
    assert_eq!(back.as_str().split('?').next(), Some(CALLBACK));
    assert_eq!(query(&back, "state").as_deref(), Some("st-1"));
    let issuer = app.state.jwt().issuer().unwrap().to_owned();
    assert_eq!(query(&back, "iss"), Some(issuer.clone()), "RFC 9207");
    let cookie = browser.cookies.get("identity_session").expect("a provider session cookie");
    assert!(!cookie.is_empty());
    let code = query(&back, "code").unwrap();
    let res = exchange(&app, &id, &secret, &code, VERIFIER).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let id_token = res.json["id_token"].as_str().unwrap();
    assert_eq!(header_of(id_token)["alg"], "RS256");
    let c = claims(id_token);
    assert_eq!(
        (c["iss"].as_str(), c["aud"].as_str(), c["nonce"].as_str()),
        (Some(issuer.as_str()), Some(id.as_str()), Some("n-1"))
    );
    assert_eq!(
        (c["email"].as_str(), c["email_verified"].as_bool(), c["name"].is_string()),
        (Some("ada@example.com"), Some(true), true)
    );
    assert_eq!(c["amr"], json!(["pwd"]));
    assert!(c["auth_time"].as_u64().unwrap() <= c["iat"].as_u64().unwrap());
    assert_eq!(res.json["scope"], "openid profile email offline_access");
    let access = res.json["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["client_id"], id, "RFC 9068: the access token names the application");
    // An ordinary session: it works on the API and is listed with how it began.
    let sessions = app.get("/me/sessions", Some(access)).await;
    assert_eq!(sessions.status, 200, "{}", sessions.json);
    assert_eq!(sessions.json["items"][0]["method"], "authorization_code", "{}", sessions.json);
    let info = app.get("/oauth2/userinfo", Some(access)).await;
    assert_eq!(
        info.json,
        json!({"sub": c["sub"], "email": "ada@example.com", "email_verified": true, "name": c["name"]})
    );
    // The refresh token rotates for this client only.
    let refresh = res.json["refresh_token"].as_str().unwrap();
    let first_party = app.post("/auth/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!(first_party.status, 401, "an application's refresh token is not the API's own");
    let body = format!("grant_type=refresh_token&refresh_token={refresh}");
    let rotated = form(&app, "/oauth2/token", &body, Some((&id, &secret))).await;
    assert_eq!(rotated.status, 200, "{}", rotated.json);
    assert_eq!(claims(rotated.json["id_token"].as_str().unwrap())["sub"], c["sub"]);
    let again = form(&app, "/oauth2/token", &body, Some((&id, &secret))).await;
    assert_eq!(again.json["error"], "invalid_grant", "a spent refresh token");
    // ... and reuse ended the session (reuse detection), its newest token with it.
    let newest = rotated.json["refresh_token"].as_str().unwrap();
    let after =
        form(&app, "/oauth2/token", &format!("grant_type=refresh_token&refresh_token={newest}"), Some((&id, &secret)))
            .await;
    assert_eq!(after.json["error"], "invalid_grant");
}

#[tokio::test]
async fn an_application_revokes_its_refresh_token_and_the_session_ends() {
    let app = provider().await;
    app.user("ada@example.com", PASSWORD).await;
    let (id, secret) = web_app(&app).await;
    let (other, other_secret) = web_app(&app).await;
    let mut browser = Browser::default();
    let tokens = |code: String| {
        let (app, id, secret) = (&app, id.clone(), secret.clone());
        async move { exchange(app, &id, &secret, &code, VERIFIER).await.json }
    };
    let first = tokens(query(&code_for(&mut browser, &app, &id, "ada@example.com").await, "code").unwrap()).await;
    let (access, refresh) = (first["access_token"].as_str().unwrap(), first["refresh_token"].as_str().unwrap());
    // Another application's revocation of it changes nothing, and answers the same.
    let res = form(&app, "/oauth2/revoke", &format!("token={refresh}"), Some((&other, &other_secret))).await;
    assert_eq!(res.status, 200);
    assert_eq!(app.get("/me", Some(access)).await.status, 200);
    let res =
        form(&app, "/oauth2/revoke", &format!("token={refresh}&token_type_hint=refresh_token"), Some((&id, &secret)))
            .await;
    assert_eq!(res.status, 200);
    assert_eq!(app.get("/me", Some(access)).await.status, 401, "the access token's session ended with it");
    let body = format!("grant_type=refresh_token&refresh_token={refresh}");
    assert_eq!(form(&app, "/oauth2/token", &body, Some((&id, &secret))).await.json["error"], "invalid_grant");
    // An access token ends its session too.
    let second = tokens(query(&code_for(&mut browser, &app, &id, "ada@example.com").await, "code").unwrap()).await;
    let access = second["access_token"].as_str().unwrap();
    assert_eq!(form(&app, "/oauth2/revoke", &format!("token={access}"), Some((&id, &secret))).await.status, 200);
    assert_eq!(app.get("/me", Some(access)).await.status, 401);
    // A wrong secret is refused as at the token endpoint.
    let wrong = form(&app, "/oauth2/revoke", "token=x", Some((&id, "idn_cs_wrong"))).await;
    assert_eq!(wrong.json["error"], "invalid_client");
}

#[tokio::test]
async fn a_code_is_single_use_bound_to_its_client_redirect_uri_and_verifier() {
    let app = provider().await;
    app.user("ada@example.com", PASSWORD).await;
    let (id, secret) = web_app(&app).await;
    let (other, other_secret) = web_app(&app).await;
    let mut browser = Browser::default();
    for (what, client, client_secret, verifier, redirect) in [
        ("another client", other.as_str(), other_secret.as_str(), VERIFIER, CALLBACK),
        ("a wrong verifier", id.as_str(), secret.as_str(), &format!("{}B", &VERIFIER[..42]) as &str, CALLBACK),
        ("a short verifier", id.as_str(), secret.as_str(), "short", CALLBACK),
        ("another redirect_uri", id.as_str(), secret.as_str(), VERIFIER, "https://app.example.com/other"),
    ] {
        let code = query(&code_for(&mut browser, &app, &id, "ada@example.com").await, "code").unwrap();
        let body = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={verifier}",
            urlencode(redirect)
        );
        let res = form(&app, "/oauth2/token", &body, Some((client, client_secret))).await;
        assert_eq!(
            (res.status.as_u16(), res.json["error"].as_str()),
            (400, Some("invalid_grant")),
            "{what}: {}",
            res.json
        );
        // The code is spent by the failed attempt: the rightful exchange fails too.
        let rightful = exchange(&app, &id, &secret, &code, VERIFIER).await;
        assert_eq!(rightful.json["error"], "invalid_grant", "{what}: {}", rightful.json);
    }
    let missing =
        form(&app, "/oauth2/token", "grant_type=authorization_code&code=x&redirect_uri=y", Some((&id, &secret))).await;
    assert_eq!(missing.json["error"], "invalid_request", "no verifier");
    // A replayed code ends what its first exchange opened.
    let code = query(&code_for(&mut browser, &app, &id, "ada@example.com").await, "code").unwrap();
    let first = exchange(&app, &id, &secret, &code, VERIFIER).await;
    let access = first.json["access_token"].as_str().unwrap();
    assert_eq!(app.get("/me", Some(access)).await.status, 200);
    assert_eq!(exchange(&app, &id, &secret, &code, VERIFIER).await.json["error"], "invalid_grant");
    assert_eq!(app.get("/me", Some(access)).await.status, 401, "the replay revoked the session");
    let refresh = first.json["refresh_token"].as_str().unwrap();
    let body = format!("grant_type=refresh_token&refresh_token={refresh}");
    assert_eq!(form(&app, "/oauth2/token", &body, Some((&id, &secret))).await.json["error"], "invalid_grant");
    // A code expires after 60 seconds.
    let code = query(&code_for(&mut browser, &app, &id, "ada@example.com").await, "code").unwrap();
    app.sql("UPDATE authorization_codes SET expires_at = now() - interval '1 second' WHERE spent_at IS NULL").await;
    assert_eq!(exchange(&app, &id, &secret, &code, VERIFIER).await.json["error"], "invalid_grant");
}

#[tokio::test]
async fn an_unknown_client_or_unregistered_redirect_uri_gets_a_page_and_never_a_redirect() {
    let app = provider().await;
    let (id, _) = web_app(&app).await;
    let mut browser = Browser::default();
    let look_alikes = [
        "https://app.example.com/callback/",
        "https://app.example.com/callback?x=1",
        "https://app.example.com.evil.example/callback",
        "https://APP.example.com/callback",
        "http://app.example.com/callback",
        "https://app.example.com/callback#frag",
    ];
    for uri in look_alikes {
        let path = authorize_path(&id, "").replace(&urlencode(CALLBACK), &urlencode(uri));
        let page = browser.get(&app, &path).await.page();
        assert_eq!(page.status, 422, "{uri}");
        assert!(page.header("location").is_none());
        assert!(String::from_utf8_lossy(&page.body).contains("redirect_uri"), "{uri}");
    }
    let unknown = authorize_path(&uuid::Uuid::now_v7().to_string(), "");
    assert_eq!(browser.get(&app, &unknown).await.page().status, 422);
    let machine = authorize_path("not-a-uuid", "");
    assert_eq!(browser.get(&app, &machine).await.page().status, 422);
    // Other errors go back to the application, with its state.
    for (extra, error) in [
        ("&prompt=bogus", "invalid_request"),
        ("&max_age=-1", "invalid_request"),
        ("&organization=acme", "invalid_request"),
    ] {
        let back = browser.get(&app, &authorize_path(&id, extra)).await.left();
        assert_eq!(
            (query(&back, "error").as_deref(), query(&back, "state").as_deref()),
            (Some(error), Some("st-1")),
            "{extra}"
        );
    }
    let no_pkce =
        authorize_path(&id, "").replace(&format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"), "");
    assert_eq!(query(&browser.get(&app, &no_pkce).await.left(), "error").as_deref(), Some("invalid_request"));
    let plain = authorize_path(&id, "").replace("S256", "plain");
    assert_eq!(query(&browser.get(&app, &plain).await.left(), "error").as_deref(), Some("invalid_request"));
    let token = authorize_path(&id, "").replace("response_type=code", "response_type=token");
    assert_eq!(query(&browser.get(&app, &token).await.left(), "error").as_deref(), Some("unsupported_response_type"));
    let scope = authorize_path(&id, "").replace("scope=openid%20", "scope=");
    assert_eq!(query(&browser.get(&app, &scope).await.left(), "error").as_deref(), Some("invalid_scope"));
    let twice = format!("{}&state=again", authorize_path(&id, ""));
    assert_eq!(browser.get(&app, &twice).await.page().status, 422, "a repeated parameter");
}

#[tokio::test]
async fn a_second_application_signs_in_silently_until_the_provider_session_ends() {
    let app = provider().await;
    app.user("ada@example.com", PASSWORD).await;
    let (first, first_secret) = web_app(&app).await;
    let (second, second_secret) = web_app(&app).await;
    let mut browser = Browser::default();
    // Signed out, prompt=none answers login_required without a page.
    let silent = authorize_path(&second, "&prompt=none");
    let back = browser.get(&app, &silent).await.left();
    assert_eq!(
        (query(&back, "error").as_deref(), query(&back, "state").as_deref()),
        (Some("login_required"), Some("st-1"))
    );
    let back = code_for(&mut browser, &app, &first, "ada@example.com").await;
    let tokens = exchange(&app, &first, &first_secret, &query(&back, "code").unwrap(), VERIFIER).await;
    let id_token = tokens.json["id_token"].as_str().unwrap().to_owned();
    // The second application: no password, straight back with a code.
    let back = browser.get(&app, &silent).await.left();
    let second_tokens = exchange(&app, &second, &second_secret, &query(&back, "code").unwrap(), VERIFIER).await;
    assert_eq!(second_tokens.status, 200, "{}", second_tokens.json);
    assert_eq!(claims(second_tokens.json["id_token"].as_str().unwrap())["sid"], claims(&id_token)["sid"]);
    // prompt=login and max_age=0 ask for a sign-in again.
    for extra in ["&prompt=login", "&max_age=0"] {
        let page = browser.get(&app, &authorize_path(&second, extra)).await.page();
        assert!(String::from_utf8_lossy(&page.body).contains("name=\"email\""), "{extra}: the sign-in again");
    }
    // RP-initiated logout with the ID token: back to the registered URI with state; the
    // provider session and the sessions it opened end.
    let access = tokens.json["access_token"].as_str().unwrap();
    let logout = format!(
        "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye-1",
        urlencode("https://app.example.com/bye")
    );
    let bye = browser.get(&app, &logout).await.left();
    assert_eq!((bye.path(), query(&bye, "state").as_deref()), ("/bye", Some("bye-1")));
    assert!(!browser.cookies.contains_key("identity_session"), "the cookie is cleared");
    assert_eq!(app.get("/me", Some(access)).await.status, 401, "the application's session ended");
    assert_eq!(query(&browser.get(&app, &silent).await.left(), "error").as_deref(), Some("login_required"));
    // An unregistered post-logout URI is refused with a page.
    let bad = format!(
        "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri={}",
        urlencode("https://evil.example/")
    );
    assert_eq!(browser.get(&app, &bad).await.page().status, 422);
}

#[tokio::test]
async fn a_logout_no_application_vouches_for_asks_first() {
    let app = provider().await;
    app.user("ada@example.com", PASSWORD).await;
    let (id, _) = web_app(&app).await;
    let mut browser = Browser::default();
    code_for(&mut browser, &app, &id, "ada@example.com").await;
    let page = browser.get(&app, "/oauth2/logout").await.page();
    assert_eq!(page.status, 200);
    assert!(browser.cookies.contains_key("identity_session"), "nothing ended before the user confirms");
    // The confirmation without its CSRF field is refused.
    let forged = browser.request(&app, Method::POST, "/oauth2/logout", Some("csrf=forged".into())).await.page();
    assert_eq!(forged.status, 403);
    assert!(browser.cookies.contains_key("identity_session"));
    let html = String::from_utf8_lossy(&page.body).into_owned();
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (k, v) in hidden_fields(&html) {
        body.append_pair(&k, &v);
    }
    let done = browser.request(&app, Method::POST, "/oauth2/logout", Some(body.finish())).await.page();
    assert!(String::from_utf8_lossy(&done.body).contains("signed out"), "{}", String::from_utf8_lossy(&done.body));
    assert!(!browser.cookies.contains_key("identity_session"));
}

#[tokio::test]
async fn the_hosted_sign_in_keeps_every_control_of_the_json_one() {
    let app = crate::app_with(&[("JWT_PRIVATE_KEY", &rsa_keys()), ("LOGIN_MAX_FAILURES", "3")]).await;
    app.user("ada@example.com", PASSWORD).await;
    let (id, _) = web_app(&app).await;
    let mut browser = Browser::default();
    let path = authorize_path(&id, "");
    // A wrong password is the form again, with the same words as the JSON sign-in.
    let wrong = sign_in(&mut browser, &app, &path, "ada@example.com", "wrong password!").await.page();
    assert_eq!(wrong.status, 401);
    assert!(String::from_utf8_lossy(&wrong.body).contains("Invalid email or password"));
    // The form posted without its CSRF value is refused.
    let page = browser.get(&app, &path).await.page();
    let request = attribute(&String::from_utf8_lossy(&page.body), "value").unwrap();
    let forged = format!("token={request}&csrf=forged&email=ada%40example.com&password=x");
    assert_eq!(browser.request(&app, Method::POST, "/pages/sign-in", Some(forged)).await.page().status, 403);
    // The lockout counts the hosted form's failures with the JSON API's.
    for _ in 0..3 {
        sign_in(&mut browser, &app, &path, "ada@example.com", "wrong password!").await;
    }
    let locked = sign_in(&mut browser, &app, &path, "ada@example.com", PASSWORD).await.page();
    assert_eq!(locked.status, 429);
    let json = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    assert_eq!(json.status, 429);
    // Framing is refused.
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(page.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"));
    assert!(page.header("content-security-policy").unwrap().contains("form-action 'self' https://app.example.com"));
}

#[tokio::test]
async fn a_disabled_account_or_a_password_change_ends_the_provider_session() {
    let app = provider().await;
    app.user("ada@example.com", PASSWORD).await;
    let (id, secret) = web_app(&app).await;
    let mut browser = Browser::default();
    let back = code_for(&mut browser, &app, &id, "ada@example.com").await;
    let tokens = exchange(&app, &id, &secret, &query(&back, "code").unwrap(), VERIFIER).await;
    let access = tokens.json["access_token"].as_str().unwrap();
    // A code issued before the password changed is worth nothing after.
    let pending = query(&browser.get(&app, &authorize_path(&id, "&prompt=none")).await.left(), "code").unwrap();
    let change = app
        .call(
            Method::POST,
            "/me/password",
            Some(json!({"current_password": PASSWORD, "new_password": "another horse battery"})),
            Some(access),
        )
        .await;
    assert_eq!(change.status, 204, "{}", change.json);
    assert_eq!(exchange(&app, &id, &secret, &pending, VERIFIER).await.json["error"], "invalid_grant");
    let silent = browser.get(&app, &authorize_path(&id, "&prompt=none")).await.left();
    assert_eq!(
        query(&silent, "error").as_deref(),
        Some("login_required"),
        "the browser session ended with the password"
    );
    // A disabled account cannot sign in on the hosted form.
    app.sql("UPDATE users SET status = 'disabled' WHERE email = 'ada@example.com'").await;
    let refused =
        sign_in(&mut browser, &app, &authorize_path(&id, ""), "ada@example.com", "another horse battery").await.page();
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn a_second_factor_and_an_organization_scope_are_enforced() {
    let app = provider().await;
    let (owner, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let (other_owner, _) = app.signed_in("bob@example.com", PASSWORD).await;
    let other_org = create_org(&app, &other_owner, "Other").await;
    let (id, secret) = web_app(&app).await;
    let mut browser = Browser::default();
    // Not a member: access_denied, back to the application.
    let path = authorize_path(&id, &format!("&organization={other_org}"));
    let back = sign_in(&mut browser, &app, &path, "ada@example.com", PASSWORD).await.left();
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    // The picker: pick Acme, get its claims.
    let page = browser.get(&app, &authorize_path(&id, "&organization=select")).await.page();
    assert!(String::from_utf8_lossy(&page.body).contains("Acme"));
    let back = browser.submit(&app, &page, "choose-organization", &[("organization", &org.to_string())]).await.left();
    let tokens = exchange(&app, &id, &secret, &query(&back, "code").unwrap(), VERIFIER).await;
    let c = claims(tokens.json["id_token"].as_str().unwrap());
    assert_eq!((c["org_id"].as_str(), c["org_name"].as_str()), (Some(org.to_string().as_str()), Some("Acme")));
    assert!(c["roles"].as_array().unwrap().contains(&json!("owner")));
    assert_eq!(claims(tokens.json["access_token"].as_str().unwrap())["org_id"], org.to_string());
    // Picking an organization that is not theirs is refused.
    let page = browser.get(&app, &authorize_path(&id, "&organization=select")).await.page();
    let back =
        browser.submit(&app, &page, "choose-organization", &[("organization", &other_org.to_string())]).await.left();
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    // The organization requires a second factor, which this sign-in lacks.
    let res = app.call(Method::PATCH, format!("/orgs/{org}"), Some(json!({"require_mfa": true})), Some(&owner)).await;
    assert_eq!(res.status, 200, "{}", res.json);
    let back = browser.get(&app, &authorize_path(&id, &format!("&organization={org}"))).await.left();
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    // With an authenticator, the password step leads to the code step.
    let (token, _) = app.login("ada@example.com", PASSWORD).await;
    let factor = app.enrol_totp(&token, PASSWORD).await;
    let mut fresh = Browser::default();
    let path = authorize_path(&id, &format!("&organization={org}"));
    let code_page = sign_in(&mut fresh, &app, &path, "ada@example.com", PASSWORD).await.page();
    assert!(String::from_utf8_lossy(&code_page.body).contains("name=\"mfa_token\""));
    let wrong = fresh.submit(&app, &code_page, "sign-in-code", &[("code", "000000")]).await.page();
    assert_eq!(wrong.status, 401);
    app.forget_used_steps().await;
    let back = fresh.submit(&app, &wrong, "sign-in-code", &[("code", &factor.code(0))]).await.left();
    let tokens = exchange(&app, &id, &secret, &query(&back, "code").unwrap(), VERIFIER).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    assert_eq!(claims(tokens.json["id_token"].as_str().unwrap())["amr"], json!(["pwd", "otp"]));
}

#[tokio::test]
async fn public_applications_use_pkce_alone_and_verified_emails_can_be_required() {
    let app = provider().await;
    app.unverified_user("new@example.com", PASSWORD).await;
    let (id, secret) = application(
        &app,
        json!({"name": "SPA", "kind": "spa", "redirect_uris": [CALLBACK], "require_verified_email": true,
               "scopes": ["openid", "email"]}),
    )
    .await;
    assert!(secret.is_none(), "a public application has no secret");
    let mut browser = Browser::default();
    let path = authorize_path(&id, "").replace("%20profile%20email%20offline_access", "%20email");
    let stop = sign_in(&mut browser, &app, &path, "new@example.com", PASSWORD).await.page();
    assert_eq!(stop.status, 403, "an unverified email gets no tokens");
    // Proving the address voids what was signed in before it (the account's stamp moves on).
    app.sql("UPDATE users SET email_verified_at = now() WHERE email = 'new@example.com'").await;
    let back = sign_in(&mut browser, &app, &path, "new@example.com", PASSWORD).await.left();
    let code = query(&back, "code").unwrap();
    let body = format!(
        "grant_type=authorization_code&client_id={id}&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        urlencode(CALLBACK)
    );
    let res = form(&app, "/oauth2/token", &body, None).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert!(res.json.get("refresh_token").is_none(), "no offline_access, no refresh token");
    let c = claims(res.json["id_token"].as_str().unwrap());
    assert!(c.get("name").is_none() && c["email"] == "new@example.com", "only the scopes asked for: {c}");
    // Scopes it did not register are refused; a public client cannot use client credentials.
    let extra = authorize_path(&id, "");
    assert_eq!(query(&browser.get(&app, &extra).await.left(), "error").as_deref(), Some("invalid_scope"));
    let cc = form(&app, "/oauth2/token", &format!("grant_type=client_credentials&client_id={id}"), None).await;
    assert_eq!(cc.json["error"], "invalid_client");
    let basic = STANDARD.encode(format!("{id}:"));
    assert!(!basic.is_empty());
}

#[tokio::test]
async fn applications_are_registered_with_exact_uris_by_platform_admins_only() {
    let app = provider().await;
    let admin = platform_admin(&app).await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let body = json!({"name": "x", "kind": "web", "redirect_uris": [CALLBACK]});
    let by_org = app.call(Method::POST, format!("/orgs/{org}/clients"), Some(body.clone()), Some(&owner)).await;
    assert_eq!(by_org.status, 422, "{}", by_org.json);
    for (bad, field) in [
        (json!({"name": "x", "kind": "web"}), "redirect_uris"),
        (json!({"name": "x", "kind": "web", "redirect_uris": ["http://app.example.com/cb"]}), "redirect_uris"),
        (json!({"name": "x", "kind": "web", "redirect_uris": [CALLBACK], "scopes": ["profile"]}), "scopes"),
        (
            json!({"name": "x", "kind": "spa", "redirect_uris": [CALLBACK], "token_endpoint_auth_method": "client_secret_basic"}),
            "token_endpoint_auth_method",
        ),
        (json!({"name": "x", "kind": "web", "redirect_uris": [CALLBACK], "permissions": ["org:read"]}), "permissions"),
        (json!({"name": "x", "permissions": [], "redirect_uris": [CALLBACK]}), "redirect_uris"),
    ] {
        let res = app.call(Method::POST, "/oauth2/clients", Some(bad.clone()), Some(&admin)).await;
        let problem = res.assert_problem(422);
        assert!(problem["errors"].as_array().unwrap().iter().any(|e| e["field"] == field), "{bad}: {problem}");
    }
    let res = app.call(Method::POST, "/oauth2/clients", Some(body), Some(&admin)).await;
    assert_eq!(res.status, 201);
    assert_eq!(res.json["grant_types"], json!(["authorization_code", "refresh_token"]));
    let id = res.json["client_id"].as_str().unwrap();
    let patch = json!({"redirect_uris": ["https://app.example.com/new"], "allow_sign_up": true});
    let changed = app.call(Method::PATCH, format!("/oauth2/clients/{id}"), Some(patch), Some(&admin)).await;
    assert_eq!(
        (changed.json["redirect_uris"].clone(), changed.json["allow_sign_up"].clone()),
        (json!(["https://app.example.com/new"]), json!(true))
    );
    let native_scheme = json!({"redirect_uris": ["com.example.app:/cb"]});
    let refused = app.call(Method::PATCH, format!("/oauth2/clients/{id}"), Some(native_scheme), Some(&admin)).await;
    refused.assert_problem(422);
}
