//! The database going away and coming back: 503 with Retry-After, bounded waits, recovery.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use identity_testkit::TestApp;
use identity_testkit::database::with_database;
use identity_testkit::proxy::{Mode, Proxy};
use serde_json::json;

use crate::PASSWORD;

/// An app whose database connection runs through a proxy the test controls.
pub(crate) async fn app_behind_proxy(timeout_ms: &str) -> (TestApp, Proxy) {
    let direct = TestApp::new(identity_cli::routes(), &[]).await;
    let url: tokio_postgres::Config = direct.db.url.parse().unwrap();
    let host = match &url.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
        other => panic!("tests need a TCP database host, got {other:?}"),
    };
    let port = url.get_ports().first().copied().unwrap_or(5432);
    let upstream: SocketAddr = tokio::net::lookup_host((host.as_str(), port)).await.unwrap().next().unwrap();
    let proxy = Proxy::start(upstream).await;
    let user = url.get_user().unwrap_or("postgres");
    let proxied = with_database(&format!("postgres://{user}@{}/x", proxy.addr), &direct.db.name);
    let app =
        direct.sibling(identity_cli::routes(), &[("DATABASE_URL", &proxied), ("DATABASE_TIMEOUT_MS", timeout_ms)]);
    (app, proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_answers_503_and_recovery_is_immediate() {
    let (app, proxy) = app_behind_proxy("1000").await;
    assert_eq!(app.get("/health", None).await.status, 200);

    proxy.set_mode(Mode::Refuse);
    for _ in 0..3 {
        let res = app.get("/health", None).await;
        res.assert_problem(503);
        assert_eq!(res.header("retry-after"), Some("1"));
    }
    let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    login.assert_problem(503);
    let text = String::from_utf8_lossy(&login.body);
    assert!(!text.contains("127.0.0.1") && !text.contains("connect"), "{text}");

    proxy.set_mode(Mode::Forward);
    assert_eq!(app.get("/health", None).await.status, 200, "the first request after recovery succeeds");
    let res =
        app.post("/auth/register", json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"})).await;
    assert_eq!(res.status, 202);
    identity_testkit::figure(
        "database refusing connections: 4 requests answered 503 with Retry-After, the first after recovery 200".into(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_database_does_not_hold_requests_past_the_timeout() {
    let (app, proxy) = app_behind_proxy("300").await;
    proxy.set_mode(Mode::Blackhole);
    let started = Instant::now();
    let res = app.get("/health", None).await;
    res.assert_problem(503);
    // A generous bound: the point is that the wait ends, not how fast.
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    identity_testkit::figure(format!(
        "database silent (packets dropped): the request ended with 503 after {} ms (timeout 300 ms)",
        waited.as_millis()
    ));
    proxy.set_mode(Mode::Forward);
    assert_eq!(app.get("/health", None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_with_every_connection_taken_answers_503_in_time_not_a_hang() {
    use std::time::{Duration, Instant};
    // Four connections in all, none kept back for superusers: the test takes every one.
    let cluster =
        identity_testkit::cluster::Cluster::start_with("-c max_connections=4 -c superuser_reserved_connections=0")
            .await;
    let app = std::sync::Arc::new(TestApp::on(
        identity_cli::routes(),
        identity_testkit::TestDatabase::create().await,
        &[("DATABASE_URL", &cluster.url()), ("DATABASE_TIMEOUT_MS", "500")],
    ));
    assert_eq!(app.get("/health", None).await.status, 200);
    // The app's one pooled connection is idle; three more fill the server.
    let mut held = vec![];
    for _ in 0..3 {
        let (client, connection) = tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        held.push(client);
    }
    // Requests at once: one gets the pooled connection, the others need new ones and are refused.
    let started = Instant::now();
    let answers = futures_join(&app, 4).await;
    let waited = started.elapsed();
    assert!(answers.iter().all(|s| *s == 200 || *s == 503), "{answers:?}");
    assert!(answers.contains(&503), "past the server's limit some answer 503: {answers:?}");
    assert!(waited < Duration::from_secs(5), "answered in {waited:?}, not held");
    held.clear();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again = futures_join(&app, 4).await;
    assert!(again.iter().all(|s| *s == 200), "with connections free again: {again:?}");
}

/// Sends `n` health checks at once; their statuses.
async fn futures_join(app: &std::sync::Arc<TestApp>, n: usize) -> Vec<u16> {
    let mut checks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let app = app.clone();
        checks.spawn(async move { app.get("/health", None).await.status.as_u16() });
    }
    checks.join_all().await
}
