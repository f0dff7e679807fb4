//! Per-email lockout: ten failures lock for fifteen minutes, atomically under concurrency.

use std::sync::Arc;

use serde_json::json;

use crate::{PASSWORD, app, app_with};

async fn fail(app: &identity_testkit::TestApp, email: &str) -> u16 {
    app.post("/auth/login", json!({"email": email, "password": "wrong password"})).await.status.as_u16()
}

#[tokio::test]
async fn ten_failures_lock_the_email_even_for_the_right_password() {
    let app = app().await;
    app.user("ada@example.com", PASSWORD).await;
    for _ in 0..10 {
        assert_eq!(fail(&app, "ada@example.com").await, 401);
    }
    let locked = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    locked.assert_problem(429);
    let retry: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((890..=900).contains(&retry), "{retry}");
    // Another email is not affected.
    app.user("bob@example.com", PASSWORD).await;
    let bob = app.post("/auth/login", json!({"email": "bob@example.com", "password": PASSWORD})).await;
    assert_eq!(bob.status, 200);
}

#[tokio::test]
async fn unknown_emails_lock_the_same_way() {
    let app = app().await;
    for _ in 0..10 {
        assert_eq!(fail(&app, "nobody@example.com").await, 401);
    }
    app.post("/auth/login", json!({"email": "NOBODY@example.com", "password": "x"})).await.assert_problem(429);
}

#[tokio::test]
async fn success_clears_the_count() {
    let app = app().await;
    app.user("ada@example.com", PASSWORD).await;
    for _ in 0..9 {
        fail(&app, "ada@example.com").await;
    }
    assert_eq!(app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await.status, 200);
    for _ in 0..9 {
        assert_eq!(fail(&app, "ada@example.com").await, 401);
    }
    assert_eq!(app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await.status, 200);
}

#[tokio::test]
async fn the_lock_expires() {
    let app = app_with(&[("LOGIN_LOCKOUT_SECS", "1"), ("LOGIN_MAX_FAILURES", "3")]).await;
    app.user("ada@example.com", PASSWORD).await;
    for _ in 0..3 {
        fail(&app, "ada@example.com").await;
    }
    app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await.assert_problem(429);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_cannot_race_past_the_limit() {
    let app = Arc::new(app().await);
    app.user("ada@example.com", PASSWORD).await;
    let mut tasks = vec![];
    for _ in 0..32 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move { fail(&app, "ada@example.com").await }));
    }
    let mut checked = 0;
    let mut limited = 0;
    for task in tasks {
        match task.await.unwrap() {
            401 => checked += 1,
            429 => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((checked, limited), (10, 22), "exactly ten passwords were checked");
}
