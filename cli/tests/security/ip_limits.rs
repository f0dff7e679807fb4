//! Per-IP limits on every unauthenticated route that hashes a password or mails, under 32
//! parallel requests.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use identity_testkit::{TestApp, TestResponse};
use serde_json::{Value, json};

use crate::{PASSWORD, app_with, figure};

const LIMIT: usize = 10;

/// A limited route: its name, path, the i-th request's body, the status of one let through,
/// and the address it is tried from (routes that share one count get addresses of their own).
type Guarded = (&'static str, &'static str, fn(usize) -> Value, u16, &'static str);
const PARALLEL: usize = 32;

async fn post_from(app: &TestApp, ip: &str, path: &str, body: Value) -> TestResponse {
    let addr: SocketAddr = format!("{ip}:40000").parse().unwrap_or_else(|_| format!("[{ip}]:40000").parse().unwrap());
    let request = Request::post(path)
        .header("content-type", "application/json")
        .extension(ConnectInfo(addr))
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(request).await
}

/// Fires PARALLEL requests at once from one address; returns their statuses with Retry-After.
async fn burst(
    app: &Arc<TestApp>,
    ip: &'static str,
    path: &'static str,
    body: fn(usize) -> Value,
) -> Vec<(u16, Option<u64>)> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..PARALLEL {
        let app = app.clone();
        tasks.spawn(async move {
            let res = post_from(&app, ip, path, body(i)).await;
            (res.status.as_u16(), res.header("retry-after").and_then(|v| v.parse().ok()))
        });
    }
    tasks.join_all().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_limit_holds_under_32_parallel_requests() {
    let limit = LIMIT.to_string();
    let app = Arc::new(
        app_with(&[
            ("IP_LIMIT_LOGIN", &limit),
            ("IP_LIMIT_REGISTER", &limit),
            ("IP_LIMIT_FORGOT", &limit),
            ("IP_LIMIT_RESET", &limit),
            ("IP_LIMIT_VERIFY", &limit),
            ("IP_LIMIT_INVITATION", &limit),
            ("IP_LIMIT_WINDOW_SECS", "600"),
            ("DATABASE_POOL_SIZE", "16"),
            ("DATABASE_TIMEOUT_MS", "10000"),
        ])
        .await,
    );
    // Forged tokens: what gets through is refused on its merits, the rest never gets that far.
    fn forged(_: usize) -> String {
        identity_shared::auth::tokens::generate()
    }
    let routes: [Guarded; 8] = [
        (
            "login",
            "/auth/login",
            |i| json!({"email": format!("nobody{i}@example.com"), "password": PASSWORD}),
            401,
            "203.0.113.7",
        ),
        (
            "register",
            "/auth/register",
            |i| json!({"email": format!("new{i}@example.com"), "password": PASSWORD, "name": "N"}),
            202,
            "203.0.113.7",
        ),
        ("forgot", "/auth/password/forgot", |i| json!({"email": format!("who{i}@example.com")}), 202, "203.0.113.7"),
        (
            "reset",
            "/auth/password/reset",
            |i| json!({"token": forged(i), "new_password": PASSWORD}),
            422,
            "203.0.113.7",
        ),
        ("verify-email", "/auth/verify-email", |i| json!({"token": forged(i)}), 422, "203.0.113.7"),
        ("invitation preview", "/invitations/preview", |i| json!({"token": forged(i)}), 404, "203.0.113.20"),
        (
            "invitation accept",
            "/invitations/accept",
            |i| json!({"token": forged(i), "name": "M", "password": PASSWORD}),
            404,
            "203.0.113.21",
        ),
        ("invitation decline", "/invitations/decline", |i| json!({"token": forged(i)}), 404, "203.0.113.22"),
    ];
    for (name, path, body, passed_status, ip) in routes {
        let answers = burst(&app, ip, path, body).await;
        let passed = answers.iter().filter(|(s, _)| *s == passed_status).count();
        let limited: Vec<_> = answers.iter().filter(|(s, _)| *s == 429).collect();
        assert_eq!(passed, LIMIT, "{name}: exactly the limit gets through: {answers:?}");
        assert_eq!(limited.len(), PARALLEL - LIMIT, "{name}: the rest are 429: {answers:?}");
        assert!(limited.iter().all(|(_, after)| after.is_some_and(|a| (1..=600).contains(&a))), "{name}: {limited:?}");
        // Another address is not affected; an IPv6 neighbour in the same /64 shares one count.
        let other = post_from(&app, "198.51.100.1", path, body(PARALLEL)).await;
        assert_eq!(other.status, passed_status, "{name} from another address");
        figure(format!(
            "per-IP limit on {name}: {PARALLEL} parallel requests from one address, {passed} through (limit {LIMIT}), {} answered 429 with Retry-After",
            limited.len()
        ));
    }
    let registered = app.sql("SELECT count(*) FROM users").await[0].get::<_, i64>(0);
    assert_eq!(registered, LIMIT as i64 + 1, "a limited sign-up writes nothing");
    // Asking for another verification mail shares the verify-email count of its address.
    let (token, _) = app.unverified_signed_in("limited@example.com", PASSWORD).await;
    let addr: SocketAddr = "203.0.113.7:40000".parse().unwrap();
    let resend = Request::post("/auth/verify-email/resend")
        .header("authorization", format!("Bearer {token}"))
        .extension(ConnectInfo(addr))
        .body(Body::empty())
        .unwrap();
    app.send(resend).await.assert_problem(429);
    for i in 0..LIMIT {
        let ip = format!("2001:db8:7:7::{:x}", i + 1);
        let res = post_from(&app, &ip, "/auth/password/forgot", json!({"email": "a@example.com"})).await;
        assert_eq!(res.status, 202);
    }
    let same_64 =
        post_from(&app, "2001:db8:7:7:ffff::1", "/auth/password/forgot", json!({"email": "a@example.com"})).await;
    same_64.assert_problem(429);
}

#[tokio::test]
async fn zero_turns_a_limit_off() {
    let app = app_with(&[("IP_LIMIT_FORGOT", "0")]).await;
    for _ in 0..30 {
        let res = post_from(&app, "203.0.113.8", "/auth/password/forgot", json!({"email": "a@example.com"})).await;
        assert_eq!(res.status, 202);
    }
    let rows = app.sql("SELECT count(*) FROM ip_limits").await[0].get::<_, i64>(0);
    assert_eq!(rows, 0, "nothing is counted when the limit is off");
}
