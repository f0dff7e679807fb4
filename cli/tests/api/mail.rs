//! The outbox under SES faults: nothing lost, nothing sent twice, dead after the last attempt.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::Method;
use identity_shared::services::outbox::Sender;
use identity_testkit::proxy::{Mode, Proxy};
use identity_testkit::{TestApp, ses};
use serde_json::json;

use crate::{PASSWORD, app_with_ses_at, create_org, unique};

/// An app whose SES traffic runs through a proxy the test can cut.
async fn app_behind_proxy(extra: &[(&str, &str)]) -> (TestApp, Proxy) {
    let emulator: SocketAddr = ses::url().trim_start_matches("http://").parse().expect("emulator host:port");
    let proxy = Proxy::start(emulator).await;
    let app = app_with_ses_at(&format!("http://{}", proxy.addr), extra).await;
    (app, proxy)
}

/// An owner invites someone while the proxy refuses SES; returns the invitee's email.
async fn invite_while_ses_refuses(app: &TestApp, proxy: &Proxy) -> String {
    let (owner, _) = app.signed_in(&unique("owner"), PASSWORD).await;
    let org = create_org(app, &owner, "Acme").await;
    proxy.set_mode(Mode::Refuse);
    let kim = unique("kim");
    let res =
        app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(json!({"email": kim})), Some(&owner)).await;
    assert_eq!(res.status, 201, "the invite succeeds while SES is down: {}", res.json);
    kim
}

async fn drain(app: &TestApp) -> identity_shared::services::outbox::DrainReport {
    mailer_function::drain_all(Sender::from(&app.state), 1000).await.expect("drain")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ses_outage_loses_no_invitation_and_sends_none_twice() {
    let (app, proxy) = app_behind_proxy(&[("MAIL_RETRY_BASE_SECS", "0")]).await;
    let kim = invite_while_ses_refuses(&app, &proxy).await;
    let rows = app.sql("SELECT status, attempts, last_error IS NOT NULL, payload ? 'link' FROM email_outbox WHERE template = 'invitation'").await;
    assert_eq!((rows[0].get::<_, String>(0), rows[0].get::<_, i32>(1)), ("pending".into(), 1));
    assert!(rows[0].get::<_, bool>(2) && rows[0].get::<_, bool>(3), "kept with its error and link");
    assert!(ses::mails_to(&kim).await.is_empty());

    proxy.set_mode(Mode::Forward);
    let report = drain(&app).await;
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(drain(&app).await.sent, 0, "nothing left to send");
    let mails = ses::mails_to(&kim).await;
    assert_eq!(mails.len(), 1, "exactly one mail");
    let accepted = app
        .post("/invitations/accept", json!({"token": ses::token_in(&mails[0]), "name": "Kim", "password": PASSWORD}))
        .await;
    assert_eq!(accepted.status, 201, "its token works: {}", accepted.json);
    identity_testkit::figure(
        "SES down during an invite: invite 201, mail kept in the outbox, sent once after recovery, its link works"
            .into(),
    );
    let rows = app.sql("SELECT status, payload ? 'link' FROM email_outbox WHERE template = 'invitation'").await;
    assert_eq!(rows[0].get::<_, String>(0), "sent");
    assert!(!rows[0].get::<_, bool>(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_drains_never_send_a_row_twice() {
    let (app, proxy) = app_behind_proxy(&[("MAIL_RETRY_BASE_SECS", "0")]).await;
    let (owner, _) = app.signed_in(&unique("owner"), PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    proxy.set_mode(Mode::Refuse);
    let people: Vec<String> = (0..20).map(|i| unique(&format!("p{i}"))).collect();
    for email in &people {
        let res = app
            .call(Method::POST, format!("/orgs/{org}/invitations"), Some(json!({"email": email})), Some(&owner))
            .await;
        assert_eq!(res.status, 201);
    }
    proxy.set_mode(Mode::Forward);
    let app = Arc::new(app);
    let (a, b) = tokio::join!(
        {
            let app = app.clone();
            tokio::spawn(async move { drain(&app).await })
        },
        {
            let app = app.clone();
            tokio::spawn(async move { drain(&app).await })
        },
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.sent + b.sent, 20, "{a:?} {b:?}");
    for email in &people {
        assert_eq!(ses::mails_to(email).await.len(), 1, "{email}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_is_dead_after_its_last_attempt_and_its_link_is_wiped() {
    let (app, proxy) = app_behind_proxy(&[("MAIL_RETRY_BASE_SECS", "0"), ("MAIL_MAX_ATTEMPTS", "3")]).await;
    proxy.set_mode(Mode::Refuse);
    let res = app.post("/auth/register", json!({"email": unique("lee"), "password": PASSWORD, "name": "Lee"})).await;
    assert_eq!(res.status, 202);
    let first = drain(&app).await;
    assert_eq!((first.retrying, first.dead), (1, 0));
    let second = drain(&app).await;
    assert_eq!((second.retrying, second.dead), (0, 1));
    let rows = app.sql("SELECT status, attempts, payload ? 'link' FROM email_outbox").await;
    assert_eq!((rows[0].get::<_, String>(0), rows[0].get::<_, i32>(1)), ("dead".into(), 3));
    assert!(!rows[0].get::<_, bool>(2));
    proxy.set_mode(Mode::Forward);
    assert_eq!(drain(&app).await.sent, 0, "dead mail stays dead");
}

#[tokio::test]
async fn failed_sends_wait_with_backoff() {
    let (app, proxy) = app_behind_proxy(&[("MAIL_RETRY_BASE_SECS", "60")]).await;
    proxy.set_mode(Mode::Refuse);
    app.post("/auth/register", json!({"email": unique("max"), "password": PASSWORD, "name": "Max"})).await;
    proxy.set_mode(Mode::Forward);
    assert_eq!(drain(&app).await.sent, 0, "not due yet");
    let wait = app.sql("SELECT extract(epoch FROM next_attempt_at - now())::int FROM email_outbox").await;
    let secs: i32 = wait[0].get(0);
    assert!((50..=60).contains(&secs), "{secs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stops_claiming_once_its_budget_is_spent_and_the_next_run_sends_the_rest() {
    let (app, proxy) = app_behind_proxy(&[("MAIL_RETRY_BASE_SECS", "0"), ("MAILER_RUN_BUDGET_SECS", "0")]).await;
    let kim = invite_while_ses_refuses(&app, &proxy).await;
    proxy.set_mode(Mode::Forward);
    let spent = drain(&app).await;
    assert_eq!((spent.sent, spent.retrying, spent.dead), (0, 0, 0), "a spent budget claims nothing");
    let next = app.sibling(
        identity_cli::routes(),
        &ses::settings(&format!("http://{}", proxy.addr)).iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>(),
    );
    assert_eq!(drain(&next).await.sent, 1, "the next run, with time to spend, sends it");
    assert_eq!(ses::mails_to(&kim).await.len(), 1);
}
