//! How the sender behaves: retries on the schedule, Retry-After, 410 and five failing days
//! disabling an endpoint, two senders never sending one attempt twice at once, faults (a
//! receiver down, a sender killed mid-send, a slow receiver, a rolled-back change) and a
//! resolver faked inside the process proving that no private address is ever dialled.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::Method;
use identity_shared::egress::resolver::Resolve;
use identity_shared::egress::target;
use identity_shared::webhooks::client::Sender;
use identity_testkit::TestApp;
use serde_json::json;
use uuid::Uuid;

use crate::receiver::{Answer, Receiver};
use crate::webhooks::{change, endpoint, local_app, owned_org, send_due};

/// The one delivery of the endpoint (the newest).
async fn delivery(app: &TestApp, token: &str, org: Uuid, endpoint: &str) -> serde_json::Value {
    let res = app.get(&format!("/orgs/{org}/webhooks/{endpoint}/deliveries"), Some(token)).await;
    assert_eq!(res.status, 200, "{}", res.json);
    res.json["items"][0].clone()
}

/// Makes every pending delivery due now, as time passing would.
async fn fast_forward(app: &TestApp) {
    app.sql("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE status = 'pending'").await;
}

/// An endpoint for role events only, at the receiver, with one role made since.
async fn one_queued(app: &TestApp, receiver: &Receiver) -> (String, Uuid, String) {
    let (owner, org) = owned_org(app).await;
    let made = endpoint(app, &owner, org, &receiver.url("/hook"), &["role.created"]).await;
    change(app, &owner, org, "auditor").await;
    (owner, org, made["id"].as_str().unwrap().to_owned())
}

/// Seconds from now until an RFC 3339 time.
fn secs_until(at: &serde_json::Value) -> i64 {
    let at = chrono::DateTime::parse_from_rfc3339(at.as_str().unwrap()).unwrap();
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_retry_on_the_schedule_and_retry_after_is_honoured() {
    let app = local_app().await;
    let receiver = Receiver::start().await;
    let (owner, org, id) = one_queued(&app, &receiver).await;
    receiver.answer(Answer { status: 500, ..Answer::default() });
    let report = send_due(&app).await;
    assert_eq!((report.retrying, report.delivered), (1, 0), "{report:?}");
    let first = delivery(&app, &owner, org, &id).await;
    assert_eq!((first["status"].clone(), first["attempts"].clone()), (json!("pending"), json!(1)));
    assert_eq!((first["last_http_status"].clone(), first["last_error"].clone()), (json!(500), json!("http_status")));
    assert!((3..=6).contains(&secs_until(&first["next_attempt_at"])), "5 s with jitter: {first}");
    assert!(!first.to_string().contains("receiver's own words"), "the receiver's body is never kept");

    receiver.answer(Answer { status: 503, retry_after: Some(120), ..Answer::default() });
    fast_forward(&app).await;
    send_due(&app).await;
    let second = delivery(&app, &owner, org, &id).await;
    assert_eq!(second["attempts"], 2);
    assert!((115..=121).contains(&secs_until(&second["next_attempt_at"])), "Retry-After: {second}");

    receiver.answer(Answer::default());
    fast_forward(&app).await;
    send_due(&app).await;
    let done = delivery(&app, &owner, org, &id).await;
    assert_eq!((done["status"].clone(), done["attempts"].clone()), (json!("delivered"), json!(3)));
    let ids: Vec<String> = receiver.received().iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|i| *i == ids[0]), "the same webhook-id on every attempt: {ids:?}");
    let endpoint = app.get(&format!("/orgs/{org}/webhooks/{id}"), Some(&owner)).await;
    assert_eq!(endpoint.json["failing_since"], serde_json::Value::Null, "a delivery ends the failing run");

    // After the eighth attempt (the first and seven retries) it has failed for good.
    change(&app, &owner, org, "viewer").await;
    receiver.answer(Answer { status: 500, ..Answer::default() });
    for _ in 0..8 {
        send_due(&app).await;
        fast_forward(&app).await;
    }
    let failed = delivery(&app, &owner, org, &id).await;
    assert_eq!((failed["status"].clone(), failed["attempts"].clone()), (json!("failed"), json!(8)), "{failed}");
    assert_eq!(failed["next_attempt_at"], serde_json::Value::Null);

    // One can be retried by hand, with the same event; a pending one cannot.
    let path = format!("/orgs/{org}/webhooks/{id}/deliveries/{}/retry", failed["id"].as_str().unwrap());
    receiver.answer(Answer::default());
    let retried = app.call(Method::POST, &path, None, Some(&owner)).await;
    assert_eq!(retried.status, 202, "{}", retried.json);
    app.call(Method::POST, &path, None, Some(&owner)).await.assert_problem(409);
    send_due(&app).await;
    assert_eq!(delivery(&app, &owner, org, &id).await["status"], "delivered");
}

#[tokio::test]
async fn a_410_or_five_failing_days_disable_the_endpoint_and_say_so() {
    let app = local_app().await;
    let receiver = Receiver::start().await;
    let (owner, org, id) = one_queued(&app, &receiver).await;
    receiver.answer(Answer { status: 410, ..Answer::default() });
    let report = send_due(&app).await;
    assert_eq!((report.failed, report.disabled), (1, 1), "{report:?}");
    let endpoint = app.get(&format!("/orgs/{org}/webhooks/{id}"), Some(&owner)).await;
    assert_eq!(
        (endpoint.json["enabled"].clone(), endpoint.json["disabled_reason"].clone()),
        (json!(false), json!("gone"))
    );
    let path = format!("/orgs/{org}/events?types=webhook_endpoint.disabled");
    let events = crate::feed_of(&app, &path, &owner, 1).await;
    let event = &events.json["items"][0];
    assert_eq!((event["actor"]["type"].clone(), event["data"]["reason"].clone()), (json!("system"), json!("gone")));
    let mailed =
        app.sql("SELECT recipient, payload FROM email_outbox WHERE template = 'webhook_endpoint_disabled'").await;
    assert_eq!(mailed.len(), 1, "the owner is told");
    assert_eq!(mailed[0].get::<_, String>(0), "owner@example.com");
    let payload: serde_json::Value = mailed[0].get(1);
    assert_eq!((payload["reason"].clone(), payload["org_name"].clone()), (json!("gone"), json!("Acme")));
    assert!(!payload["url"].as_str().unwrap().contains("/hook"), "the origin only: {payload}");
    change(&app, &owner, org, "ignored").await;
    assert_eq!(send_due(&app).await.attempts(), 0, "a disabled endpoint is sent nothing");

    // Enabled again, then failing for five days: disabled as failing.
    let on = app
        .call(Method::PATCH, format!("/orgs/{org}/webhooks/{id}"), Some(json!({"enabled": true})), Some(&owner))
        .await;
    assert_eq!(on.status, 200);
    receiver.answer(Answer { status: 500, ..Answer::default() });
    change(&app, &owner, org, "viewer").await;
    send_due(&app).await;
    app.sql("UPDATE webhook_endpoints SET failing_since = now() - interval '5 days 1 minute'").await;
    fast_forward(&app).await;
    let report = send_due(&app).await;
    assert_eq!(report.disabled, 1, "{report:?}");
    let endpoint = app.get(&format!("/orgs/{org}/webhooks/{id}"), Some(&owner)).await;
    assert_eq!(endpoint.json["disabled_reason"], "failing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_senders_never_send_one_attempt_twice() {
    let app = local_app().await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer { delay: Duration::from_millis(20), ..Answer::default() });
    let (owner, org) = owned_org(&app).await;
    endpoint(&app, &owner, org, &receiver.url("/hook"), &["role.created"]).await;
    for n in 0..40 {
        change(&app, &owner, org, &format!("role-{n}")).await;
    }
    let (a, b) = tokio::join!(send_due(&app), send_due(&app));
    assert_eq!(a.delivered + b.delivered, 40, "{a:?} {b:?}");
    let mut ids: Vec<String> = receiver.received().iter().map(|r| r.header("webhook-id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((ids.len(), receiver.received().len()), (40, 40), "each event once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_delay_deliveries_and_lose_none() {
    let app = crate::app_with(&[("WEBHOOK_ALLOW_LOCAL_TARGETS", "true"), ("WEBHOOK_TIMEOUT_MS", "1000")]).await;
    // The receiver down: the attempt fails to connect; once it is back, the delivery arrives.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let (owner, org) = owned_org(&app).await;
    let made = endpoint(&app, &owner, org, &format!("http://{addr}/hook"), &["role.created"]).await;
    let id = made["id"].as_str().unwrap();
    change(&app, &owner, org, "auditor").await;
    send_due(&app).await;
    assert_eq!(delivery(&app, &owner, org, id).await["last_error"], "connect_failed");
    let receiver = Receiver::on(tokio::net::TcpListener::bind(addr).await.unwrap());
    fast_forward(&app).await;
    send_due(&app).await;
    assert_eq!(receiver.received().len(), 1);
    let event_id = receiver.received()[0].header("webhook-id");

    // A sender killed between claiming and recording: the lease ends, the next one sends again.
    change(&app, &owner, org, "viewer").await;
    let claimed = {
        let client = app.state.pool().get().await.unwrap();
        identity_shared::repositories::webhook_deliveries::claim(&client, 10, 60.0).await.unwrap()
    };
    assert_eq!(claimed.len(), 1, "claimed, then the sender dies");
    assert_eq!(send_due(&app).await.attempts(), 0, "leased: no other sender takes it");
    app.sql("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE status = 'pending'").await;
    send_due(&app).await;
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].header("webhook-id"), claimed[0].event.id, "sent again with its webhook-id");
    assert_ne!(received[1].header("webhook-id"), event_id);

    // A receiver slower than the timeout: timed out, retried.
    receiver.answer(Answer { delay: Duration::from_secs(3), ..Answer::default() });
    change(&app, &owner, org, "billing").await;
    let report = send_due(&app).await;
    assert_eq!(report.retrying, 1, "{report:?}");
    assert_eq!(delivery(&app, &owner, org, id).await["last_error"], "timeout");

    // A change rolled back writes no event and queues nothing.
    let before = app.sql("SELECT count(*) FROM webhook_deliveries").await[0].get::<_, i64>(0);
    let mut client = app.state.pool().get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let entry = identity_shared::models::NewAuditEntry {
        org_id: Some(org),
        actor_id: None,
        actor_type: "user",
        action: identity_shared::models::AuditAction::RoleCreated,
        target_id: Uuid::now_v7(),
        metadata: json!({"name": "never"}),
        ip: None,
    };
    assert_eq!(identity_shared::repositories::audit::insert(&tx, &entry).await.unwrap(), 1, "queued in the change");
    tx.rollback().await.unwrap();
    let after = app.sql("SELECT count(*) FROM webhook_deliveries").await[0].get::<_, i64>(0);
    assert_eq!(after, before, "rolled back with it");
}

/// A resolver that answers with fixed addresses and counts its lookups.
#[derive(Debug)]
struct Fake {
    answers: Mutex<Vec<Vec<SocketAddr>>>,
    lookups: AtomicUsize,
}

impl Fake {
    /// Answers each lookup with the next list; the last list repeats.
    fn new(answers: Vec<Vec<&str>>) -> Arc<Fake> {
        let answers = answers.into_iter().map(|list| list.iter().map(|a| a.parse().unwrap()).collect()).collect();
        Arc::new(Fake { answers: Mutex::new(answers), lookups: AtomicUsize::new(0) })
    }
}

impl Resolve for Fake {
    fn resolve<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let mut answers = self.answers.lock().unwrap();
        let next = if answers.len() > 1 { answers.remove(0) } else { answers[0].clone() };
        Box::pin(async move { Ok(next) })
    }
}

#[tokio::test]
async fn no_send_reaches_a_private_address_whatever_the_name_resolves_to() {
    // A receiver that counts connections stands in for the internal service an attacker wants.
    let receiver = Receiver::start().await;
    let port = receiver.addr.port();
    let target = target::parse(&format!("https://hooks.example.com:{port}/in"), false).unwrap();
    for private in [
        vec!["127.0.0.1"],
        vec!["10.0.0.7"],
        vec!["169.254.169.254"],
        vec!["100.64.1.1"],
        vec!["::1"],
        vec!["::ffff:127.0.0.1"],
        vec!["64:ff9b::7f00:1"],
        vec!["fd00::1", "192.168.1.1"],
    ] {
        let addrs: Vec<String> =
            private.iter().map(|ip| SocketAddr::new(ip.parse().unwrap(), port).to_string()).collect();
        let fake = Fake::new(vec![addrs.iter().map(String::as_str).collect()]);
        let sender = Sender::new(fake.clone(), Duration::from_secs(2), false).unwrap();
        let attempt = sender.post(&target, &[], "{}".into()).await;
        assert_eq!(attempt.error, Some("dns_refused"), "{private:?}");
        assert_eq!(attempt.status, None);
        assert_eq!(fake.lookups.load(Ordering::SeqCst), 1);
    }
    let unresolved = Sender::new(Fake::new(vec![vec![]]), Duration::from_secs(2), false).unwrap();
    assert_eq!(unresolved.post(&target, &[], "{}".into()).await.error, Some("dns_failed"));
    assert_eq!(receiver.connections(), 0, "no refused case connected anywhere");

    // Rebinding: the name answers loopback (allowed for this local sender), then a private
    // address. The send dials the address it checked, and looks the name up once.
    let local = target::parse(&receiver.url("/in"), true).unwrap();
    let rebinding = Fake::new(vec![vec![&receiver.addr.to_string()], vec![&format!("10.0.0.7:{port}")]]);
    let sender = Sender::new(rebinding.clone(), Duration::from_secs(2), true).unwrap();
    let attempt = sender.post(&local, &[], "{}".into()).await;
    assert!(attempt.delivered(), "{attempt:?}");
    assert_eq!(rebinding.lookups.load(Ordering::SeqCst), 1, "one lookup per send");
    assert_eq!(receiver.connections(), 1);
    let second = sender.post(&local, &[], "{}".into()).await;
    assert_eq!(second.error, Some("dns_refused"), "the rebound name is refused, not dialled");
    assert_eq!(receiver.connections(), 1);

    // No redirect is followed.
    receiver.answer(Answer { status: 307, ..Answer::default() });
    let sender = Sender::new(Fake::new(vec![vec![&receiver.addr.to_string()]]), Duration::from_secs(2), true).unwrap();
    let redirected = sender.post(&local, &[], "{}".into()).await;
    assert_eq!((redirected.status, redirected.error), (Some(307), Some("http_status")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_hand_off_is_not_tried_again_for_a_minute_and_fails_no_request() {
    use identity_shared::webhooks::handoff::{self, Handoff};
    // A Lambda API that takes connections and never answers: each invoke times out.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = accepted.clone();
    std::thread::spawn(move || {
        let mut held = vec![];
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    let aws = identity_shared::aws::AwsEnv::from_lookup(|key| match key {
        "AWS_REGION" => Some("us-east-1".into()),
        "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("test".into()),
        _ => None,
    });
    // This test's process alone (nextest runs each test in its own).
    handoff::install(Handoff::invoke(&aws, "sender".into(), Some(endpoint)));
    let app = local_app().await;
    let receiver = Receiver::start().await;
    let (owner, org, _) = one_queued(&app, &receiver).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "the first change handed off, and the invoke failed");
    change(&app, &owner, org, "viewer").await;
    change(&app, &owner, org, "billing").await;
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "no hand-off is tried for a minute after a failure");
    // The changes stand and their deliveries wait for the schedule.
    let pending = app.sql("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'").await;
    assert_eq!(pending[0].get::<_, i64>(0), 3);
}
