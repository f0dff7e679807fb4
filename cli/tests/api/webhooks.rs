//! Webhook endpoints and their deliveries: managed through the API, sent by the sender to a
//! receiver on loopback, and judged by the Standard Webhooks reference verifiers (the Rust
//! crate, PyPI's and npm's), during a secret rotation too.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use identity_shared::egress::resolver::SystemResolver;
use identity_shared::services::webhook_delivery::{self, Report};
use identity_shared::webhooks::client::Sender;
use identity_testkit::TestApp;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::receiver::{Received, Receiver};
use crate::{PASSWORD, app_with, create_org};

/// An app whose webhooks may go to loopback receivers, as a local deployment's may.
pub async fn local_app() -> TestApp {
    app_with(&[("WEBHOOK_ALLOW_LOCAL_TARGETS", "true")]).await
}

/// A sender for `app` as its settings say, with the system's resolver.
pub fn sender(app: &TestApp) -> Sender {
    let settings = &app.state.config().webhooks;
    Sender::new(Arc::new(SystemResolver), settings.timeout, settings.allow_local_targets).unwrap()
}

/// Runs the sender until nothing is due.
pub async fn send_due(app: &TestApp) -> Report {
    let outbox = webhook_delivery::Outbox::of(&app.state, sender(app)).unwrap();
    webhook_delivery::run(&outbox, Duration::from_secs(30)).await.unwrap()
}

/// An owner's token and their organization.
pub async fn owned_org(app: &TestApp) -> (String, Uuid) {
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(app, &owner, "Acme").await;
    (owner, org)
}

/// Makes an endpoint of `org` for `url` (all types unless `types` names some); its answer.
pub async fn endpoint(app: &TestApp, token: &str, org: Uuid, url: &str, types: &[&str]) -> Value {
    let body = json!({"url": url, "description": "sync", "event_types": types});
    let res = app.call(Method::POST, format!("/orgs/{org}/webhooks"), Some(body), Some(token)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    res.json
}

/// Makes a custom role in `org`: an audited change, so an event.
pub async fn change(app: &TestApp, token: &str, org: Uuid, name: &str) {
    let body = json!({"name": name, "permissions": ["members:read"]});
    let res = app.call(Method::POST, format!("/orgs/{org}/roles"), Some(body), Some(token)).await;
    assert_eq!(res.status, 201, "{}", res.json);
}

/// Runs a verifier script on deliveries; one verdict each (true, or the refusal).
async fn script(program: &str, script: &str, deliveries: &[Value]) -> Vec<Value> {
    let dir = PathBuf::from(
        std::env::var("JWT_VERIFIERS")
            .expect("set JWT_VERIFIERS to the clients scripts/lib/verifiers.sh installs (scripts/test exports it)"),
    );
    let program = match program {
        "python" => dir.join("venv/bin/python"),
        other => PathBuf::from(other),
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/lib/verifiers").join(script);
    let input = serde_json::to_vec(deliveries).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new(program)
            .arg(script)
            .env("JWT_VERIFIERS", &dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the verifier runs");
        child.stdin.take().unwrap().write_all(&input).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Every delivery verifies under `secret` with the Rust crate, PyPI's and npm's libraries.
async fn all_verify(received: &[Received], secret: &str) {
    let rust = standardwebhooks::Webhook::new(secret).unwrap();
    for delivery in received {
        rust.verify(delivery.body.as_bytes(), &delivery.headers).unwrap_or_else(|e| panic!("the crate refused: {e:?}"));
    }
    let inputs: Vec<Value> = received.iter().map(|r| r.for_verifier(secret)).collect();
    for (program, file) in [("python", "webhooks.py"), ("node", "webhooks.mjs")] {
        let verdicts = script(program, file, &inputs).await;
        assert_eq!(verdicts, vec![json!(true); inputs.len()], "{file} refused a delivery");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_verify_with_every_reference_library_through_a_rotation() {
    let app = local_app().await;
    let receiver = Receiver::start().await;
    let (owner, org) = owned_org(&app).await;
    let made = endpoint(&app, &owner, org, &receiver.url("/hooks"), &[]).await;
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{made}");
    change(&app, &owner, org, "auditor").await;
    let report = send_due(&app).await;
    // The endpoint's own creation is an event of the org too, and it takes every type.
    assert!(report.delivered >= 1, "{report:?}");
    let first = receiver.received();
    let role_event = first.iter().find(|r| r.json()["type"] == "role.created").expect("role.created delivered");
    let event = role_event.json();
    assert_eq!(role_event.header("webhook-id"), event["id"].as_str().unwrap(), "webhook-id is the event id");
    assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(event["organization_id"], org.to_string());
    assert_eq!(event["actor"]["type"], "user");
    assert_eq!(event["data"]["name"], "auditor");
    assert!(event["timestamp"].is_string() && event["sequence"].is_i64(), "{event}");
    assert_eq!(role_event.header("content-type"), "application/json");
    all_verify(&first, &secret).await;

    // A rotation: both secrets sign until the overlap ends, and each verifies alone.
    let path = format!("/orgs/{org}/webhooks/{}/rotate-secret", made["id"].as_str().unwrap());
    let rotated = app.call(Method::POST, &path, Some(json!({"overlap_seconds": 3600})), Some(&owner)).await;
    assert_eq!(rotated.status, 201, "{}", rotated.json);
    let new_secret = rotated.json["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    change(&app, &owner, org, "viewer").await;
    send_due(&app).await;
    let during: Vec<Received> = receiver.received().into_iter().skip(first.len()).collect();
    assert!(!during.is_empty());
    for delivery in &during {
        assert_eq!(delivery.header("webhook-signature").split(' ').count(), 2, "two signatures in the overlap");
    }
    all_verify(&during, &secret).await;
    all_verify(&during, &new_secret).await;

    // A rotation with no overlap: the secret before signs no more.
    let again = app.call(Method::POST, &path, Some(json!({"overlap_seconds": 0})), Some(&owner)).await;
    let newest = again.json["secret"].as_str().unwrap().to_owned();
    change(&app, &owner, org, "billing").await;
    send_due(&app).await;
    let last = receiver.received().pop().unwrap();
    assert_eq!(last.header("webhook-signature").split(' ').count(), 1);
    all_verify(std::slice::from_ref(&last), &newest).await;
    let refused = standardwebhooks::Webhook::new(&new_secret).unwrap().verify(last.body.as_bytes(), &last.headers);
    assert!(refused.is_err(), "the rotated-out secret no longer verifies");
    let verdicts = script("python", "webhooks.py", &[last.for_verifier(&secret)]).await;
    assert_ne!(verdicts[0], json!(true), "the first secret no longer verifies");
}

#[tokio::test]
async fn endpoints_are_managed_checked_and_never_show_their_secret_again() {
    let app = crate::app().await;
    let (owner, org) = owned_org(&app).await;
    let base = format!("/orgs/{org}/webhooks");
    for (url, why) in [
        ("http://hooks.example.com/", "plain http"),
        ("https://10.0.0.1/", "an IP address"),
        ("https://169.254.169.254/latest", "the metadata address"),
        ("https://localhost/", "localhost"),
        ("https://db.internal/", "an internal name"),
        ("https://user:pw@hooks.example.com/", "user info"),
        ("http://127.0.0.1:8080/", "loopback, unless the deployment is local"),
    ] {
        let res = app.call(Method::POST, &base, Some(json!({"url": url})), Some(&owner)).await;
        assert_eq!(res.assert_problem(422)["errors"][0]["field"], "url", "{why}: {}", res.json);
    }
    let res = app
        .call(
            Method::POST,
            &base,
            Some(json!({"url": "https://hooks.example.com/", "event_types": ["nope.made_up"]})),
            Some(&owner),
        )
        .await;
    assert_eq!(res.assert_problem(422)["errors"][0]["field"], "event_types");

    let made = endpoint(&app, &owner, org, "https://hooks.example.com/in?token=receivers-own", &["role.created"]).await;
    let id = made["id"].as_str().unwrap();
    let secret = made["secret"].as_str().unwrap();
    let got = app.get(&format!("{base}/{id}"), Some(&owner)).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json["event_types"], json!(["role.created"]));
    assert!(!got.json.to_string().contains(secret) && got.json.get("secret").is_none(), "never shown again");
    let listed = app.get(&base, Some(&owner)).await;
    assert_eq!(listed.json["items"].as_array().unwrap().len(), 1);
    assert!(!listed.json.to_string().contains(secret));
    let sealed = app.sql("SELECT encode(sealed, 'escape') FROM webhook_secrets").await;
    assert!(
        sealed.iter().all(|r| !r.get::<_, String>(0).contains(secret.trim_start_matches("whsec_"))),
        "sealed at rest"
    );

    let patched = app
        .call(Method::PATCH, format!("{base}/{id}"), Some(json!({"enabled": false, "event_types": []})), Some(&owner))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.json);
    assert_eq!(
        (patched.json["enabled"].clone(), patched.json["disabled_reason"].clone()),
        (json!(false), json!("manual"))
    );
    let test = app.call(Method::POST, format!("{base}/{id}/test"), None, Some(&owner)).await;
    test.assert_problem(409);
    let enabled = app.call(Method::PATCH, format!("{base}/{id}"), Some(json!({"enabled": true})), Some(&owner)).await;
    assert_eq!(enabled.json["disabled_reason"], Value::Null);
    let test = app.call(Method::POST, format!("{base}/{id}/test"), None, Some(&owner)).await;
    assert_eq!(test.status, 202, "{}", test.json);
    // An optional body may be JSON null: a rotation with the default overlap.
    let rotated = app.call(Method::POST, format!("{base}/{id}/rotate-secret"), Some(Value::Null), Some(&owner)).await;
    assert_eq!(rotated.status, 201, "{}", rotated.json);
    assert_eq!(
        (test.json["event_type"].clone(), test.json["status"].clone()),
        (json!("webhook.test"), json!("pending"))
    );

    // The audit log and the feed tell of endpoints by their origin only.
    // A transaction anywhere on the cluster holds the feed back: wait for it, as a poller would.
    let path = format!("/orgs/{org}/events?types=webhook_endpoint.created,webhook_endpoint.updated");
    let events = crate::feed_of(&app, &path, &owner, 3).await;
    let types: Vec<&str> =
        events.json["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["webhook_endpoint.created", "webhook_endpoint.updated", "webhook_endpoint.updated"]);
    assert!(!events.json.to_string().contains("receivers-own"), "a URL's query is the receiver's, not the feed's");
    let counts = app
        .sql(&format!(
            "SELECT count(*) FILTER (WHERE type <> 'webhook.test'), count(*) FROM events WHERE org_id = '{org}'"
        ))
        .await;
    let (others, all): (i64, i64) = (counts[0].get(0), counts[0].get(1));
    assert_eq!(all - others, 1, "the test event is written");
    let feed = crate::feed_of(&app, &format!("/orgs/{org}/events?limit=100"), &owner, others as usize).await;
    assert_eq!(feed.json["items"].as_array().unwrap().len() as i64, others);
    assert!(!feed.json.to_string().contains("webhook.test"), "a test event is for its endpoint, not the feed");

    // A member without webhooks:manage neither reads nor changes endpoints.
    let member_id = app.user("member@example.com", PASSWORD).await;
    app.add_member(org, member_id, &["member"]).await;
    let (member, _) = app.login("member@example.com", PASSWORD).await;
    app.get(&base, Some(&member)).await.assert_problem(403);
    app.call(Method::POST, &base, Some(json!({"url": "https://x.example.com/"})), Some(&member))
        .await
        .assert_problem(403);

    // Ten per organization.
    for n in 1..10 {
        endpoint(&app, &owner, org, &format!("https://hooks{n}.example.com/"), &[]).await;
    }
    let over = app.call(Method::POST, &base, Some(json!({"url": "https://one-more.example.com/"})), Some(&owner)).await;
    over.assert_problem(429);

    let gone = app.call(Method::DELETE, format!("{base}/{id}"), None, Some(&owner)).await;
    assert_eq!(gone.status, 204);
    app.get(&format!("{base}/{id}"), Some(&owner)).await.assert_problem(404);
}

#[tokio::test]
async fn platform_endpoints_take_every_organizations_events() {
    let app = local_app().await;
    let receiver = Receiver::start().await;
    let admin = crate::platform_admin(&app).await;
    let (owner, org) = owned_org(&app).await;
    app.call(Method::POST, "/webhooks", Some(json!({"url": receiver.url("/all")})), Some(&owner))
        .await
        .assert_problem(403);
    let made = app
        .call(
            Method::POST,
            "/webhooks",
            Some(json!({"url": receiver.url("/all"), "event_types": ["role.created"]})),
            Some(&admin),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.json);
    let secret = made.json["secret"].as_str().unwrap().to_owned();
    // An org's endpoint is not the platform's, and the platform's is not the org's.
    let id = made.json["id"].as_str().unwrap();
    app.get(&format!("/orgs/{org}/webhooks/{id}"), Some(&owner)).await.assert_problem(404);
    change(&app, &owner, org, "auditor").await;
    send_due(&app).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1, "only the type it takes");
    assert_eq!(received[0].json()["organization_id"], org.to_string());
    all_verify(&received, &secret).await;
    let deliveries = app.get(&format!("/webhooks/{id}/deliveries"), Some(&admin)).await;
    assert_eq!(deliveries.json["items"][0]["status"], "delivered", "{}", deliveries.json);
    assert_eq!(deliveries.json["items"][0]["last_http_status"], 204);
}
