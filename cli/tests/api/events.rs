//! Every events/ sample, parsed by lambda_http as on AWS, reaches its handler.

use std::collections::BTreeMap;
use std::path::PathBuf;

use identity_testkit::TestApp;
use identity_testkit::client::{self, TestResponse};
use serde_json::json;

use crate::{PASSWORD, app};

pub(crate) fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// Each event's expected status once its placeholders hold real tokens.
pub(crate) fn expected() -> BTreeMap<&'static str, u16> {
    BTreeMap::from([
        ("auth-register", 202),
        ("auth-login", 200),
        ("auth-refresh", 200),
        ("auth-logout", 204),
        ("auth-jwks", 200),
        ("auth-openid-configuration", 200),
        ("auth-oauth-authorization-server", 200),
        ("auth-oauth2-token", 200),
        ("auth-oauth2-revoke", 200),
        ("auth-oauth2-introspect", 200),
        ("auth-oauth2-authorize", 303),
        ("auth-oauth2-userinfo", 200),
        ("auth-oauth2-logout", 200),
        ("pages-sign-in", 200),
        ("pages-brand-css", 200),
        ("pages-sign-in-code", 403),
        ("pages-choose-organization", 403),
        ("pages-sign-up", 200),
        ("auth-clients-list", 200),
        ("auth-clients-create", 201),
        ("auth-clients-get", 200),
        ("auth-clients-update", 200),
        ("auth-clients-delete", 204),
        ("auth-clients-add-secret", 201),
        ("auth-clients-remove-secret", 204),
        ("users-me", 200),
        ("users-health", 200),
        ("users-openapi", 200),
        ("orgs-create", 201),
        ("orgs-list", 200),
        ("orgs-get", 200),
        ("orgs-update", 200),
        ("orgs-delete", 204),
        ("orgs-members-list", 200),
        ("orgs-members-get", 200),
        ("orgs-members-remove", 204),
        ("orgs-members-set-roles", 200),
        ("orgs-api-keys-list", 200),
        ("orgs-api-keys-create", 201),
        ("orgs-api-keys-get", 200),
        ("orgs-api-keys-update", 200),
        ("orgs-api-keys-revoke", 204),
        ("orgs-api-keys-rotate", 201),
        ("orgs-get-with-api-key", 200),
        ("orgs-clients-list", 200),
        ("orgs-clients-create", 201),
        ("orgs-clients-get", 200),
        ("orgs-clients-update", 200),
        ("orgs-clients-delete", 204),
        ("orgs-clients-add-secret", 201),
        ("orgs-clients-remove-secret", 204),
        ("orgs-roles-list", 200),
        ("orgs-roles-create", 201),
        ("orgs-roles-update", 200),
        ("orgs-roles-delete", 204),
        ("orgs-audit-log", 200),
        ("orgs-events", 200),
        ("orgs-platform-events", 200),
        ("orgs-domains-list", 200),
        ("orgs-domains-create", 201),
        ("orgs-domains-get", 200),
        ("orgs-domains-update", 200),
        ("orgs-domains-delete", 204),
        ("orgs-domains-verify", 200),
        ("orgs-sso-connections-list", 200),
        ("orgs-sso-connections-create", 201),
        ("orgs-sso-connections-get", 200),
        ("orgs-sso-connections-update", 200),
        ("orgs-sso-connections-delete", 204),
        ("orgs-sso-connections-test", 200),
        ("pages-sso-callback", 410),
        ("orgs-webhooks-list", 200),
        ("orgs-webhooks-create", 201),
        ("orgs-webhooks-get", 200),
        ("orgs-webhooks-update", 200),
        ("orgs-webhooks-delete", 204),
        ("orgs-webhooks-rotate-secret", 201),
        ("orgs-webhooks-test", 202),
        ("orgs-webhooks-deliveries", 200),
        ("orgs-webhooks-retry", 202),
        ("orgs-platform-webhooks-list", 200),
        ("orgs-platform-webhooks-create", 201),
        ("orgs-platform-webhooks-get", 200),
        ("orgs-platform-webhooks-update", 200),
        ("orgs-platform-webhooks-delete", 204),
        ("orgs-platform-webhooks-rotate-secret", 201),
        ("orgs-platform-webhooks-test", 202),
        ("orgs-platform-webhooks-deliveries", 200),
        ("orgs-platform-webhooks-retry", 202),
        ("orgs-permissions", 200),
        ("users-my-organizations", 200),
        ("users-list", 200),
        ("users-get", 200),
        ("users-update", 200),
        ("auth-verify-email", 200),
        ("auth-verify-email-resend", 202),
        ("auth-password-forgot", 202),
        ("auth-password-reset", 204),
        ("users-change-password", 204),
        ("users-my-invitations", 200),
        ("users-accept-invitation", 200),
        ("users-decline-invitation", 200),
        ("invitations-create", 201),
        ("invitations-list", 200),
        ("invitations-get", 200),
        ("invitations-resend", 200),
        ("invitations-revoke", 200),
        ("invitations-preview", 200),
        ("invitations-accept", 201),
        ("invitations-decline", 200),
        ("users-update-me", 200),
        ("users-delete-me", 204),
        ("users-change-email", 202),
        ("users-cancel-email-change", 204),
        ("auth-email-confirm", 200),
        ("users-my-sessions", 200),
        ("users-end-my-session", 204),
        ("users-revoke-other-sessions", 200),
        ("users-sessions", 200),
        ("users-end-session", 204),
        ("users-delete", 204),
        ("orgs-limits", 200),
        ("pages-invitation", 200),
        ("pages-verify-email", 200),
        ("pages-reset-password", 200),
        ("pages-forgot-password", 200),
        ("pages-confirm-email-change", 200),
        ("pages-cancel-email-change", 200),
        ("pages-style", 200),
        ("auth-mfa-verify", 200),
        ("users-mfa", 200),
        ("users-mfa-enrol", 201),
        ("users-mfa-verify", 200),
        ("users-mfa-remove", 204),
        ("users-mfa-recovery-codes", 200),
        ("users-mfa-reset", 204),
    ])
}

/// Sends an event through the functions' Lambda entry, on this app's settings.
async fn invoke(app: &TestApp, raw: &str) -> TestResponse {
    // The organization's identity provider of the connection events runs on loopback.
    client::invoke(&app.lambda(identity_cli::routes(), |c| c.sso.allow_local_providers = true), raw).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_reaches_its_handler() {
    let mut files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".json").map(String::from))
        .collect();
    files.sort();
    let expected = expected();
    assert_eq!(files, expected.keys().map(|k| k.to_string()).collect::<Vec<_>>(), "events/ and this table differ");

    // Each event in a world of its own, several at once: a dozen worlds at a time, so that
    // their connections stay well inside the server's limit beside the other tests'.
    let worlds = std::sync::Arc::new(tokio::sync::Semaphore::new(12));
    let tasks: Vec<_> = expected
        .into_iter()
        .map(|(name, status)| {
            let worlds = worlds.clone();
            tokio::spawn(async move {
                let _turn = worlds.acquire_owned().await.unwrap();
                // Mail fails to send (nothing listens on port 9), so links stay in the outbox.
                let app = crate::app_with_ses_at("http://127.0.0.1:9", &[]).await;
                let raw = std::fs::read_to_string(events_dir().join(format!("{name}.json"))).unwrap();
                let raw = if name == "auth-register" { raw } else { fill_placeholders(&app, name, &raw).await };
                let (raw, _idp) = with_provider(name, raw).await;
                let res = invoke(&app, &raw).await;
                (res.status.as_u16() != status)
                    .then(|| format!("{name}: want {status}, got {} {}", res.status, res.json))
            })
        })
        .collect();
    let mut failures = vec![];
    for task in tasks {
        failures.extend(task.await.unwrap());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The event that connects an identity provider gets one to discover (alive while the
/// returned handle is); the others are as they are.
pub(crate) async fn with_provider(name: &str, raw: String) -> (String, Option<identity_testkit::idp::MockProvider>) {
    if name != "orgs-sso-connections-create" {
        return (raw, None);
    }
    let idp = identity_testkit::idp::MockProvider::start(&[]).await;
    (raw.replace("REPLACE_WITH_ISSUER", &idp.issuer), Some(idp))
}

/// The world the events act in: Ada (who auth-register creates) is a platform admin with a
/// verified email (unless the event verifies it), owns Acme with Bob (signed in) as a member
/// (an owner too where Ada deletes her account), a custom role "support" and an invitation to
/// dan@example.com, and has an invitation from Carol's Beta.
/// Mail goes to an SES endpoint that refuses, so the outbox keeps each link for the tests.
pub(crate) async fn fill_placeholders(app: &TestApp, name: &str, raw: &str) -> String {
    let (access, refresh) = if name.starts_with("auth-verify-email") || name == "pages-verify-email" {
        app.unverified_signed_in("ada@example.com", PASSWORD).await
    } else {
        app.signed_in("ada@example.com", PASSWORD).await
    };
    let ada = crate::user_id(app, &access);
    identity_shared::services::users::grant_platform_admin(app.state.pool(), &crate::email("ada@example.com"))
        .await
        .unwrap();
    let org = crate::create_org(app, &access, "Acme Corp").await;
    let (bob_access, _) = app.signed_in("bob@example.com", PASSWORD).await;
    let bob = crate::user_id(app, &bob_access);
    app.add_member(org, bob, if name == "users-delete-me" { &["owner"] } else { &["member"] }).await;
    let post = |path: String, body: serde_json::Value, token: String| async move {
        let res = app.call(axum::http::Method::POST, path, Some(body), Some(&token)).await;
        assert!(res.status.is_success(), "{}", res.json);
        res.json
    };
    post(format!("/orgs/{org}/roles"), json!({"name": "support", "permissions": ["members:read"]}), access.clone())
        .await;
    let dan = post(format!("/orgs/{org}/invitations"), json!({"email": "dan@example.com"}), access.clone()).await;
    let key =
        post(format!("/orgs/{org}/api-keys"), json!({"name": "ci", "permissions": ["org:read"]}), access.clone()).await;
    // An org client and a platform client, each with a second secret so that one can go
    // (unless the event adds it).
    let client =
        post(format!("/orgs/{org}/clients"), json!({"name": "ci", "permissions": ["org:read"]}), access.clone()).await;
    let client_id = client["client_id"].as_str().unwrap();
    let second_secret = !name.ends_with("-add-secret");
    if second_secret {
        post(format!("/orgs/{org}/clients/{client_id}/secrets"), json!({}), access.clone()).await;
    }
    let platform = post(
        "/oauth2/clients".into(),
        json!({"name": "backend", "permissions": [], "token_endpoint_auth_method": "client_secret_post"}),
        access.clone(),
    )
    .await;
    let platform_id = platform["client_id"].as_str().unwrap();
    // An application with a pending sign-in.
    let application = post(
        "/oauth2/clients".into(),
        json!({"name": "CRM", "kind": "web", "redirect_uris": ["https://app.example.com/callback"], "allow_sign_up": true}),
        access.clone(),
    )
    .await;
    let app_id = application["client_id"].as_str().unwrap();
    let authorize = format!(
        "/oauth2/authorize?response_type=code&client_id={app_id}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback\
         &scope=openid&code_challenge=u2YvlX2IHzLdz5cyAdvOG67sTEwtKNImXXV3tJYk-1Y&code_challenge_method=S256"
    );
    let started = app.get(&authorize, None).await;
    let location = started.header("location").unwrap_or_default();
    assert!(location.starts_with("../pages/sign-in?request="), "{location}");
    let auth_request =
        started.header("location").and_then(|l| l.split("request=").nth(1)).unwrap_or_default().to_owned();
    if second_secret {
        post(format!("/oauth2/clients/{platform_id}/secrets"), json!({}), access.clone()).await;
    }
    // A webhook endpoint of the org and one of the platform, each with a delivery that has
    // failed (so that it can be retried).
    let webhook = post(format!("/orgs/{org}/webhooks"), json!({"url": "https://hooks.example.com/in"}), access.clone())
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let delivery = post(format!("/orgs/{org}/webhooks/{webhook}/test"), json!({}), access.clone()).await;
    let platform_webhook = post("/webhooks".into(), json!({"url": "https://hooks.example.com/all"}), access.clone())
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let platform_delivery = post(format!("/webhooks/{platform_webhook}/test"), json!({}), access.clone()).await;
    app.sql("UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL").await;
    // A claimed domain, pending (the events' create claims another).
    let domain = post(format!("/orgs/{org}/domains"), json!({"domain": "acme-corp.example.com"}), access.clone()).await
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // An SSO connection (its provider is asked only when one is created or a sign-in returns).
    let connection = uuid::Uuid::now_v7();
    app.sql(&format!(
        "INSERT INTO sso_connections (id, org_id, name, issuer, client_id, client_secret_sealed, scopes,
             authorization_endpoint, token_endpoint, jwks_uri, id_token_algs, token_auth_methods)
         VALUES ('{connection}', '{org}', 'Okta', 'https://acme.okta.com', 'identity-app', '\\x00',
             ARRAY['openid'], 'https://acme.okta.com/oauth2/v1/authorize', 'https://acme.okta.com/oauth2/v1/token',
             'https://acme.okta.com/oauth2/v1/keys', ARRAY['RS256'], ARRAY['client_secret_basic'])"
    ))
    .await;
    let (carol, _) = app.signed_in("carol@example.com", PASSWORD).await;
    let beta = crate::create_org(app, &carol, "Beta").await;
    let to_ada = post(format!("/orgs/{beta}/invitations"), json!({"email": "ada@example.com"}), carol).await;
    if name == "auth-password-reset" || name == "pages-reset-password" {
        let email = identity_shared::models::Email::parse("ada@example.com").unwrap();
        identity_shared::services::account::forgot_password(&app.state, &email, Default::default()).await.unwrap();
    }
    if matches!(name, "auth-email-confirm" | "pages-confirm-email-change" | "pages-cancel-email-change") {
        post("/me/email".into(), json!({"new_email": "ada.new@example.com", "password": PASSWORD}), access.clone())
            .await;
    }
    let (template, recipient) = match name {
        "auth-verify-email" | "pages-verify-email" => ("verify_email", "ada@example.com"),
        "auth-password-reset" | "pages-reset-password" => ("reset_password", "ada@example.com"),
        "auth-email-confirm" | "pages-confirm-email-change" => ("confirm_email_change", "ada.new@example.com"),
        "pages-cancel-email-change" => ("email_change_notice", "ada@example.com"),
        _ => ("invitation", "dan@example.com"),
    };
    let link = app
        .sql(&format!(
            "SELECT payload->>'link' FROM email_outbox WHERE template = '{template}' AND recipient = '{recipient}' ORDER BY id DESC LIMIT 1"
        ))
        .await;
    let link: String = link[0].get(0);
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let invitation = if name.starts_with("users-") { &to_ada["id"] } else { &dan["id"] };
    // Ada ends one of her own sessions; a platform admin's route ends one of Bob's.
    let session_of = if name == "users-end-my-session" { ada } else { bob };
    let session = app.sql(&format!("SELECT id::text FROM sessions WHERE user_id = '{session_of}' LIMIT 1")).await;
    let session: String = session[0].get(0);
    let (factor_id, mfa_token, code) = second_factor(app, name, &access).await;
    raw.replace("REPLACE_WITH_ACCESS_TOKEN", &access)
        .replace("REPLACE_WITH_FACTOR_ID", &factor_id)
        .replace("REPLACE_WITH_MFA_TOKEN", &mfa_token)
        .replace("REPLACE_WITH_TOTP_CODE", &code)
        .replace("REPLACE_WITH_REFRESH_TOKEN", &refresh)
        .replace("REPLACE_WITH_ORG_ID", &org.to_string())
        .replace("REPLACE_WITH_PLATFORM_CLIENT_SECRET_ID", platform["secrets"][0]["id"].as_str().unwrap())
        .replace("REPLACE_WITH_PLATFORM_CLIENT_SECRET", platform["client_secret"].as_str().unwrap())
        .replace("REPLACE_WITH_PLATFORM_CLIENT_ID", platform_id)
        .replace("REPLACE_WITH_APP_ID", app_id)
        .replace("REPLACE_WITH_AUTH_REQUEST", &auth_request)
        .replace("REPLACE_WITH_CLIENT_SECRET_ID", client["secrets"][0]["id"].as_str().unwrap())
        .replace("REPLACE_WITH_CLIENT_ID", client_id)
        .replace("REPLACE_WITH_PLATFORM_WEBHOOK_ID", &platform_webhook)
        .replace("REPLACE_WITH_PLATFORM_DELIVERY_ID", platform_delivery["id"].as_str().unwrap())
        .replace("REPLACE_WITH_WEBHOOK_ID", &webhook)
        .replace("REPLACE_WITH_DOMAIN_ID", &domain)
        .replace("REPLACE_WITH_CONNECTION_ID", &connection.to_string())
        .replace("REPLACE_WITH_IDP_CLIENT_ID", "identity-app")
        .replace("REPLACE_WITH_IDP_CLIENT_SECRET", "secret-at-the-idp")
        .replace("REPLACE_WITH_IDP_CODE", "a-code")
        .replace("REPLACE_WITH_SSO_STATE", &identity_shared::auth::tokens::generate())
        .replace("REPLACE_WITH_DELIVERY_ID", delivery["id"].as_str().unwrap())
        .replace("REPLACE_WITH_API_KEY_ID", key["id"].as_str().unwrap())
        .replace("REPLACE_WITH_API_KEY", key["value"].as_str().unwrap())
        .replace("REPLACE_WITH_USER_ID", &bob.to_string())
        .replace("REPLACE_WITH_ROLE", "support")
        .replace("REPLACE_WITH_INVITATION_ID", invitation.as_str().unwrap())
        .replace("REPLACE_WITH_TOKEN", &token)
        .replace("REPLACE_WITH_SESSION_ID", &session)
}

/// For the second-factor events: Ada's factor (pending where the event proves it, else active
/// through `access`'s session), an mfa_token from a login, and a code not used yet.
async fn second_factor(app: &TestApp, name: &str, access: &str) -> (String, String, String) {
    use identity_shared::auth::totp;
    if !(name.starts_with("users-mfa-") || name == "auth-mfa-verify")
        || matches!(name, "users-mfa-reset" | "users-mfa-enrol")
    {
        return (String::new(), String::new(), String::new());
    }
    if name == "users-mfa-verify" {
        let res =
            app.call(axum::http::Method::POST, "/me/mfa/totp", Some(json!({"password": PASSWORD})), Some(access)).await;
        let secret = totp::decode_secret(res.json["secret"].as_str().unwrap()).unwrap();
        let code = totp::code_at(&secret, totp::now_secs()).unwrap();
        return (res.json["id"].as_str().unwrap().to_owned(), String::new(), code);
    }
    let factor = app.enrol_totp(access, PASSWORD).await;
    let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    let mfa_token = login.json["mfa_token"].as_str().unwrap_or_default().to_owned();
    (factor.id.clone(), mfa_token, factor.code(0))
}

#[tokio::test]
async fn api_gateway_source_ip_is_recorded_on_the_session() {
    let app = app().await;
    app.user("ada@example.com", PASSWORD).await;
    let raw = std::fs::read_to_string(events_dir().join("auth-login.json")).unwrap();
    assert_eq!(invoke(&app, &raw).await.status, 200);
    let rows = app.sql("SELECT host(ip), user_agent FROM sessions").await;
    assert_eq!(rows[0].get::<_, String>(0), "203.0.113.10");
    assert_eq!(rows[0].get::<_, String>(1), "curl/8.5.0");
}

#[tokio::test]
async fn unknown_paths_in_events_get_problem_json() {
    let app = app().await;
    let raw = std::fs::read_to_string(events_dir().join("users-health.json")).unwrap().replace("/health", "/nowhere");
    invoke(&app, &raw).await.assert_problem(404);
}

/// The routes `cargo lambda watch` serves, from the router in the workspace Cargo.toml: the
/// list of every route of every function.
pub fn watch_routes() -> Vec<(String, String)> {
    let manifest = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml")).unwrap();
    let section = manifest.split("[workspace.metadata.lambda.watch.router]").nth(1).expect("a watch router");
    section
        .lines()
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| {
            let (path, function) = l.split_once(" = ")?;
            Some((path.trim_matches('"').to_owned(), function.trim_matches('"').to_owned()))
        })
        .collect()
}

/// Whether a concrete path fits a route template with `{param}` segments.
fn fits(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p)
}

#[tokio::test]
async fn every_route_has_an_event_and_is_served_by_the_router() {
    let events: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "json").then_some(path)
        })
        .map(|path| {
            let event: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            event["rawPath"].as_str().unwrap().to_owned()
        })
        .collect();
    let routes = watch_routes();
    assert!(routes.len() > 30, "{routes:?}");
    let app = app().await;
    for (route, function) in &routes {
        assert!(events.iter().any(|e| fits(route, e)), "no events/ sample for {route} ({function})");
        let path = route
            .split('/')
            .map(|s| if s.starts_with('{') { "00000000-0000-7000-8000-000000000000" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let mut served = false;
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let res = app.call(method.parse().unwrap(), path.clone(), None, None).await;
            served |= !(res.status == 404 && res.json["detail"] == "No route matches this path.");
        }
        assert!(served, "the router does not serve {route}");
    }
    for event in &events {
        assert!(routes.iter().any(|(route, _)| fits(route, event)), "events/ sample for {event} matches no route");
    }
}

#[test]
fn the_postman_collection_calls_every_route() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../postman/identity-api.postman_collection.json");
    let collection: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut calls = vec![];
    let mut stack = vec![&collection];
    while let Some(node) = stack.pop() {
        if let Some(items) = node["item"].as_array() {
            stack.extend(items);
        }
        if let Some(segments) = node["request"]["url"]["path"].as_array() {
            let path: Vec<&str> = segments.iter().map(|s| s.as_str().unwrap()).collect();
            calls.push(format!("/{}", path.join("/")));
        }
    }
    for (route, _) in watch_routes() {
        assert!(calls.iter().any(|c| fits(&route, c)), "the Postman collection never calls {route}");
    }
}

/// What each events/variants/ sample answers when its function's own router gets it through
/// the Lambda entry: a named stage, a base64 body, cookies and repeated headers, a custom
/// domain's base path, and an unknown path under a stage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_base_path_and_encoding_variants_reach_the_same_handlers() {
    let dir = events_dir().join("variants");
    let read = |name: &str| std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok()?.strip_suffix(".json").map(String::from))
        .collect();
    names.sort();
    let cases: [(&str, Option<&str>, u16); 6] = [
        ("auth-login-named-stage", None, 200),
        ("auth-register-base64-body", None, 202),
        ("orgs-list-custom-domain", Some("/identity"), 200),
        ("pages-forgot-password-named-stage", None, 200),
        ("users-me-cookies-and-repeated-headers", None, 200),
        ("users-unknown-path-named-stage", None, 404),
    ];
    assert_eq!(
        names,
        cases.iter().map(|c| c.0.to_owned()).collect::<Vec<_>>(),
        "events/variants/ and this table differ"
    );

    let app = app().await;
    let (access, _) = app.signed_in("ada@example.com", PASSWORD).await;
    crate::create_org(&app, &access, "Acme Corp").await;
    for (name, base_path, status) in cases {
        let routes = match name.split('-').next().unwrap() {
            "auth" | "pages" => auth_function::router(),
            "orgs" => orgs_function::router(),
            _ => users_function::router(),
        };
        let function = app.lambda(routes, |c| c.api_base_path = base_path.map(String::from));
        let res = client::invoke(&function, &read(name).replace("REPLACE_WITH_ACCESS_TOKEN", &access)).await;
        assert_eq!(res.status.as_u16(), status, "{name}: {}", res.json);
        match name {
            "orgs-list-custom-domain" => assert_eq!(res.json["items"][0]["name"], "Acme Corp", "{}", res.json),
            "users-me-cookies-and-repeated-headers" => assert_eq!(res.json["email"], "ada@example.com"),
            "users-unknown-path-named-stage" => {
                res.assert_problem(404);
            }
            "pages-forgot-password-named-stage" => {
                // Relative links stay under the stage; the CSRF cookie is Secure, as API Gateway is HTTPS.
                let html = String::from_utf8_lossy(&res.body);
                assert!(html.contains(r#"href="style.css""#) && html.contains(r#"action="forgot-password""#), "{html}");
                assert!(res.header("set-cookie").is_some_and(|c| c.contains("Secure")), "{:?}", res.headers);
            }
            _ => {}
        }
    }
    // The base64 body was decoded: Eve's account exists.
    assert_eq!(app.sql("SELECT 1 FROM users WHERE email = 'eve@example.com'").await.len(), 1);
    // Without API_BASE_PATH the custom domain's path is unknown: a problem+json 404, not a guess.
    let unmapped = app.lambda(orgs_function::router(), |_| {});
    let res =
        client::invoke(&unmapped, &read("orgs-list-custom-domain").replace("REPLACE_WITH_ACCESS_TOKEN", &access)).await;
    res.assert_problem(404);
}
