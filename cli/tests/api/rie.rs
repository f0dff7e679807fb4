//! The built function binaries under AWS's real Lambda Runtime Interface Emulator: every
//! events/ sample answers as it does in-process, a reset mail is out before the answer, so a
//! sandbox frozen right after it (SIGSTOP, as Lambda does) loses nothing, and a change that
//! queues a webhook hands off to the sender function before its answer, which delivers it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use identity_testkit::rie::{self, RieFunction};
use identity_testkit::{TestApp, ses};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::PASSWORD;
use crate::events::{events_dir, expected, fill_placeholders, with_provider};

/// The function binary that serves an event (`auth-login` -> identity-auth). The hosted
/// pages are the auth function's but for the invitation page, which is the invitations one's.
fn function_of(event: &str) -> &'static str {
    match event.split('-').next().unwrap() {
        "pages" if event == "pages-invitation" => "identity-invitations",
        "auth" | "pages" => "identity-auth",
        "orgs" => "identity-orgs",
        "invitations" => "identity-invitations",
        _ => "identity-users",
    }
}

/// A function's environment on Lambda, for this app's database and key: the signing
/// functions get the private key, the others the public key only.
fn lambda_env(app: &TestApp, function: &str, ses_endpoint: &str) -> Vec<(&'static str, String)> {
    let config = app.state.config();
    let mut env = vec![
        ("DATABASE_URL", app.db.url.clone()),
        ("DATABASE_POOL_SIZE", "2".into()),
        ("ARGON2_MEMORY_KIB", "64".into()),
        ("ARGON2_ITERATIONS", "1".into()),
        ("FORGOT_PASSWORD_MIN_MS", "0".into()),
        ("LOG_FORMAT", "json".into()),
        ("RUST_LOG", "warn".into()),
        // The connection event's identity provider runs on loopback (the issuer is local too).
        ("SSO_ALLOW_LOCAL_PROVIDERS", "true".into()),
    ];
    env.extend(ses::settings(ses_endpoint));
    if matches!(function, "identity-auth" | "identity-invitations" | "identity-users" | "identity-orgs") {
        let key = config.mfa.encryption_key.as_ref().expect("the test sealing key").expose_secret().to_owned();
        env.push(("MFA_ENCRYPTION_KEY", key));
    }
    if matches!(function, "identity-auth" | "identity-invitations") {
        let key = config.jwt_private_key.as_ref().expect("the test key").expose_secret().to_owned();
        env.push(("JWT_PRIVATE_KEY", key));
    } else {
        env.push(("JWT_PUBLIC_KEY", app.state.jwt().jwks().keys[0].x.clone().unwrap()));
    }
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_answers_the_same_from_the_built_functions_under_the_real_emulator() {
    // Four worlds at a time: each runs its own emulator and function process.
    let gate = Arc::new(tokio::sync::Semaphore::new(4));
    let tasks: Vec<_> = expected()
        .into_iter()
        .map(|(name, status)| {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _turn = gate.acquire().await.unwrap();
                // As in the in-process events test: mail is refused, so links stay in the outbox.
                let refused = "http://127.0.0.1:9";
                let app = crate::app_with_ses_at(refused, &[]).await;
                let raw = std::fs::read_to_string(events_dir().join(format!("{name}.json"))).unwrap();
                let raw = if name == "auth-register" { raw } else { fill_placeholders(&app, name, &raw).await };
                let (raw, _idp) = with_provider(name, raw).await;
                let function = function_of(name);
                let lambda = RieFunction::start(&rie::binary(function), &lambda_env(&app, function, refused)).await;
                let answer = lambda.invoke(&raw).await;
                (answer["statusCode"] != status).then(|| format!("{name} ({function}): want {status}, got {answer}"))
            })
        })
        .collect();
    let mut failures = vec![];
    for task in tasks {
        failures.extend(task.await.unwrap());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_mail_is_out_before_the_answer_so_a_frozen_sandbox_loses_nothing() {
    let app = crate::app_with_ses().await;
    let email = crate::unique("frozen");
    app.user(&email, PASSWORD).await;
    let lambda =
        RieFunction::start(&rie::binary("identity-auth"), &lambda_env(&app, "identity-auth", &ses::url())).await;
    let event = std::fs::read_to_string(events_dir().join("auth-password-forgot.json"))
        .unwrap()
        .replace("ada@example.com", &email);
    let before = ses::mails_to(&email).await.len(); // the sign-up's verification mail
    let answer = lambda.invoke(&event).await;
    assert_eq!(answer["statusCode"], 202, "{answer}");
    // Lambda freezes the sandbox once the answer is out; nothing in it runs until the next
    // invocation, which may be minutes away.
    lambda.signal_runtime("STOP");
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut mails: Vec<Value> = vec![];
    while mails.len() <= before && Instant::now() < deadline {
        mails = ses::mails_to(&email).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lambda.signal_runtime("CONT");
    assert_eq!(
        mails.len(),
        before + 1,
        "the reset mail reached SES within 2 s of the 202 though the sandbox was frozen"
    );
    let reset = mails.last().unwrap();
    assert!(reset["body"]["text"].as_str().unwrap().contains("/reset-password?token="), "{reset}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_hands_off_to_the_sender_function_which_delivers_before_the_sandbox_freezes() {
    let refused = "http://127.0.0.1:9";
    let app = crate::app_with_ses_at(refused, &[]).await;
    let receiver = crate::receiver::Receiver::start().await;
    let raw = std::fs::read_to_string(events_dir().join("orgs-roles-create.json")).unwrap();
    let event = fill_placeholders(&app, "orgs-roles-create", &raw).await;
    let parsed: Value = serde_json::from_str(&event).unwrap();
    let bearer = parsed["headers"]["authorization"].as_str().unwrap().trim_start_matches("Bearer ").to_owned();
    let org = parsed["rawPath"].as_str().unwrap().split('/').nth(2).unwrap().to_owned();
    // The endpoint is made before the sender starts; it takes role events only.
    let body = serde_json::json!({"url": receiver.url("/hooks"), "event_types": ["role.created"]});
    let local = app.sibling(identity_cli::routes(), &[("WEBHOOK_ALLOW_LOCAL_TARGETS", "true")]);
    let made = local.call(axum::http::Method::POST, format!("/orgs/{org}/webhooks"), Some(body), Some(&bearer)).await;
    assert_eq!(made.status, 201, "{}", made.json);

    let key = app.state.config().mfa.encryption_key.as_ref().unwrap().expose_secret().to_owned();
    let sender_env = vec![
        ("DATABASE_URL", app.db.url.clone()),
        ("MFA_ENCRYPTION_KEY", key),
        ("WEBHOOK_ALLOW_LOCAL_TARGETS", "true".into()),
        ("LOG_FORMAT", "json".into()),
        ("RUST_LOG", "warn".into()),
        // The connection event's identity provider runs on loopback (the issuer is local too).
        ("SSO_ALLOW_LOCAL_PROVIDERS", "true".into()),
    ];
    let sender = RieFunction::start(&rie::binary("identity-sender"), &sender_env).await;
    let mut env = lambda_env(&app, "identity-orgs", refused);
    env.push(("WEBHOOK_SENDER_FUNCTION", "function".into()));
    env.push(("AWS_ENDPOINT_URL_LAMBDA", sender.url()));
    let orgs = RieFunction::start(&rie::binary("identity-orgs"), &env).await;
    let answer = orgs.invoke(&event).await;
    assert_eq!(answer["statusCode"], 201, "{answer}");
    // Nothing in the API function's sandbox runs once its answer is out.
    orgs.signal_runtime("STOP");
    let deadline = Instant::now() + Duration::from_secs(5);
    while receiver.received().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    orgs.signal_runtime("CONT");
    let received = receiver.received();
    assert_eq!(received.len(), 1, "the hand-off woke the sender, which delivered within 5 s");
    assert_eq!(received[0].json()["type"], "role.created");
}
