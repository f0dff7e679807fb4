//! Whether an email has an account cannot be told from login, register or forgot-password:
//! not from the status, the body, the headers, or (for login) the time taken.

use std::time::{Duration, Instant};

use identity_testkit::{TestApp, TestResponse};
use serde_json::json;

use crate::{PASSWORD, app_with, figure};

/// The parts of an answer an observer can compare (the request id differs by design).
fn observable(res: &TestResponse) -> (u16, Vec<u8>, Option<String>, Option<String>) {
    let header = |name: &str| res.header(name).map(str::to_owned);
    (res.status.as_u16(), res.body.clone(), header("content-type"), header("www-authenticate"))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn timed(app: &TestApp, path: &str, body: serde_json::Value) -> (Duration, TestResponse) {
    let started = Instant::now();
    let res = app.post(path, body).await;
    (started.elapsed(), res)
}

#[tokio::test]
async fn known_and_unknown_emails_get_identical_answers() {
    let app = app_with(&[]).await;
    app.user("ada@example.com", PASSWORD).await;
    let pairs = [
        (
            "login",
            "/auth/login",
            json!({"email": "ada@example.com", "password": "wrong password"}),
            json!({"email": "nobody@example.com", "password": "wrong password"}),
        ),
        (
            "register",
            "/auth/register",
            json!({"email": "ada@example.com", "password": PASSWORD, "name": "X"}),
            json!({"email": "new@example.com", "password": PASSWORD, "name": "X"}),
        ),
        (
            "forgot-password",
            "/auth/password/forgot",
            json!({"email": "ada@example.com"}),
            json!({"email": "nobody@example.com"}),
        ),
    ];
    for (name, path, known, unknown) in pairs {
        let (k, u) = (app.post(path, known).await, app.post(path, unknown).await);
        assert_eq!(observable(&k), observable(&u), "{name}: {} vs {}", k.json, u.json);
        figure(format!(
            "{name}: known and unknown email answer {} with byte-identical bodies and headers",
            k.status.as_u16()
        ));
    }
}

/// Medians over many tries, interleaved so drift in the machine's load hits both alike, at
/// the production argon2 cost (the cost that would give an unknown email away if it were
/// skipped).
#[tokio::test]
async fn an_unknown_email_takes_as_long_as_a_wrong_password() {
    const TRIES: usize = 25;
    let app = app_with(&[
        ("ARGON2_MEMORY_KIB", "19456"),
        ("ARGON2_ITERATIONS", "2"),
        ("ARGON2_PARALLELISM", "1"),
        ("LOGIN_MAX_FAILURES", "100000"),
    ])
    .await;
    app.user("ada@example.com", PASSWORD).await;
    let (mut wrong, mut unknown) = (vec![], vec![]);
    for i in 0..TRIES + 2 {
        let (w, wr) =
            timed(&app, "/auth/login", json!({"email": "ada@example.com", "password": "wrong password"})).await;
        let (u, ur) = timed(
            &app,
            "/auth/login",
            json!({"email": format!("nobody{i}@example.com"), "password": "wrong password"}),
        )
        .await;
        assert_eq!((wr.status.as_u16(), ur.status.as_u16()), (401, 401));
        if i >= 2 {
            // The first tries warm the pool and the dummy hash.
            wrong.push(w);
            unknown.push(u);
        }
    }
    let (w, u) = (median(wrong), median(unknown));
    let ratio = u.as_secs_f64() / w.as_secs_f64();
    figure(format!(
        "login timing, median of {TRIES}: unknown email {:.1} ms, wrong password {:.1} ms, ratio {ratio:.2} (goal 0.8..1.25)",
        u.as_secs_f64() * 1e3,
        w.as_secs_f64() * 1e3
    ));
    assert!((0.8..=1.25).contains(&ratio), "unknown/wrong = {ratio:.2}");

    let (mut known, mut new) = (vec![], vec![]);
    for i in 0..10 {
        let body = |email: String| json!({"email": email, "password": PASSWORD, "name": "X"});
        let (k, _) = timed(&app, "/auth/register", body("ada@example.com".into())).await;
        let (n, _) = timed(&app, "/auth/register", body(format!("new{i}@example.com"))).await;
        known.push(k);
        new.push(n);
    }
    let (k, n) = (median(known), median(new));
    figure(format!(
        "register timing, median of 10: registered email {:.1} ms, new email {:.1} ms, ratio {:.2}",
        k.as_secs_f64() * 1e3,
        n.as_secs_f64() * 1e3,
        k.as_secs_f64() / n.as_secs_f64()
    ));
}

/// Forgot-password sends the reset mail before it answers (nothing is left to run once Lambda
/// freezes the sandbox), and an unknown email waits as long as a send: medians of interleaved
/// tries through the real SES client and the emulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_mails_before_answering_and_takes_as_long_for_an_unknown_email() {
    const TRIES: usize = 25;
    let settings = identity_testkit::ses::settings(&identity_testkit::ses::url());
    let mut overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    overrides.push(("IP_LIMIT_FORGOT", "0"));
    let app = app_with(&overrides).await;
    let ada = format!("ada-{}@example.com", uuid::Uuid::now_v7().simple());
    app.user(&ada, PASSWORD).await;
    let before = identity_testkit::ses::mails_to(&ada).await.len();
    let (mut known, mut unknown) = (vec![], vec![]);
    for i in 0..TRIES + 2 {
        let (k, kr) = timed(&app, "/auth/password/forgot", json!({"email": ada})).await;
        let mails = identity_testkit::ses::mails_to(&ada).await.len();
        assert_eq!(mails, before + i + 1, "the reset mail reached SES before the 202");
        let (u, ur) = timed(&app, "/auth/password/forgot", json!({"email": format!("nobody{i}@example.com")})).await;
        assert_eq!((kr.status.as_u16(), ur.status.as_u16()), (202, 202));
        if i >= 2 {
            known.push(k);
            unknown.push(u);
        }
    }
    let (k, u) = (median(known), median(unknown));
    let ratio = u.as_secs_f64() / k.as_secs_f64();
    figure(format!(
        "forgot-password timing, median of {TRIES}: unknown email {:.1} ms, known email (mail sent) {:.1} ms, ratio {ratio:.2} (goal 0.8..1.25)",
        u.as_secs_f64() * 1e3,
        k.as_secs_f64() * 1e3
    ));
    assert!((0.8..=1.25).contains(&ratio), "unknown/known = {ratio:.2}");
}
