//! Refresh rotation, reuse detection, concurrency and logout.

use serde_json::json;

use crate::{PASSWORD, app};

#[tokio::test]
async fn refresh_rotates_and_the_new_pair_works() {
    let app = app().await;
    let (_, refresh) = app.signed_in("ada@example.com", PASSWORD).await;
    let res = app.post("/auth/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let next = res.json["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next, refresh);
    let access = res.json["access_token"].as_str().unwrap();
    assert_eq!(app.get("/me", Some(access)).await.status, 200);
    let again = app.post("/auth/refresh", json!({"refresh_token": next})).await;
    assert_eq!(again.status, 200);
    // The chain is recorded: three tokens, each the parent of the next.
    let chain = app.sql("SELECT count(*) FILTER (WHERE parent_id IS NOT NULL), count(*) FROM refresh_tokens").await;
    assert_eq!((chain[0].get::<_, i64>(0), chain[0].get::<_, i64>(1)), (2, 3));
}

#[tokio::test]
async fn reusing_a_spent_refresh_token_ends_the_whole_session() {
    let app = app().await;
    let (first_access, refresh) = app.signed_in("ada@example.com", PASSWORD).await;
    let rotated = app.post("/auth/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!(rotated.status, 200);
    let new_refresh = rotated.json["refresh_token"].as_str().unwrap();
    let new_access = rotated.json["access_token"].as_str().unwrap();

    // An attacker replays the spent token.
    app.post("/auth/refresh", json!({"refresh_token": refresh})).await.assert_problem(401);

    // The legitimate holder's newer tokens die with the session.
    app.post("/auth/refresh", json!({"refresh_token": new_refresh})).await.assert_problem(401);
    app.get("/me", Some(new_access)).await.assert_problem(401);
    app.get("/me", Some(&first_access)).await.assert_problem(401);
    let revoked = app.sql("SELECT revoked_at IS NOT NULL FROM sessions").await;
    assert!(revoked[0].get::<_, bool>(0));
}

#[tokio::test]
async fn other_sessions_survive_reuse_in_one() {
    let app = app().await;
    let (_, phone) = app.signed_in("ada@example.com", PASSWORD).await;
    let (laptop_access, _) = app.login("ada@example.com", PASSWORD).await;
    app.post("/auth/refresh", json!({"refresh_token": phone})).await;
    app.post("/auth/refresh", json!({"refresh_token": phone})).await.assert_problem(401);
    assert_eq!(app.get("/me", Some(&laptop_access)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_refreshes_of_one_token_exactly_one_succeeds() {
    let app = std::sync::Arc::new(app().await);
    let (_, refresh) = app.signed_in("ada@example.com", PASSWORD).await;
    let mut tasks = vec![];
    for _ in 0..16 {
        let app = app.clone();
        let token = refresh.clone();
        tasks.push(tokio::spawn(async move { app.post("/auth/refresh", json!({"refresh_token": token})).await }));
    }
    let mut ok = 0;
    for task in tasks {
        let res = task.await.unwrap();
        match res.status.as_u16() {
            200 => ok += 1,
            401 => {
                res.assert_problem(401);
            }
            other => panic!("unexpected {other}: {}", res.json),
        }
    }
    assert_eq!(ok, 1);
    let issued = app.sql("SELECT count(*) FROM refresh_tokens WHERE parent_id IS NOT NULL").await;
    assert_eq!(issued[0].get::<_, i64>(0), 1, "exactly one successor token");
}

#[tokio::test]
async fn malformed_unknown_and_expired_refresh_tokens_are_401() {
    let app = app().await;
    let (_, refresh) = app.signed_in("ada@example.com", PASSWORD).await;
    app.post("/auth/refresh", json!({"refresh_token": "short"})).await.assert_problem(401);
    let unknown = identity_shared::auth::tokens::generate();
    app.post("/auth/refresh", json!({"refresh_token": unknown})).await.assert_problem(401);
    app.post("/auth/refresh", json!({})).await.assert_problem(422);
    app.sql("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'").await;
    app.post("/auth/refresh", json!({"refresh_token": refresh})).await.assert_problem(401);
}

#[tokio::test]
async fn logout_ends_the_session_at_once() {
    let app = app().await;
    let (access, refresh) = app.signed_in("ada@example.com", PASSWORD).await;
    let (other_access, _) = app.login("ada@example.com", PASSWORD).await;
    let res = app.call(axum::http::Method::POST, "/auth/logout", None, Some(&access)).await;
    assert_eq!(res.status, 204);
    assert!(res.body.is_empty());
    app.get("/me", Some(&access)).await.assert_problem(401);
    app.post("/auth/refresh", json!({"refresh_token": refresh})).await.assert_problem(401);
    app.call(axum::http::Method::POST, "/auth/logout", None, Some(&access)).await.assert_problem(401);
    app.call(axum::http::Method::POST, "/auth/logout", None, None).await.assert_problem(401);
    // Only that session: the other device stays signed in.
    assert_eq!(app.get("/me", Some(&other_access)).await.status, 200);
}

#[tokio::test]
async fn sessions_record_client_and_tokens_are_stored_hashed() {
    let app = app().await;
    app.user("ada@example.com", PASSWORD).await;
    let req = axum::http::Request::post("/auth/login")
        .header("content-type", "application/json")
        .header("user-agent", "curl/8.5")
        .body(axum::body::Body::from(json!({"email": "ada@example.com", "password": PASSWORD}).to_string()))
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status, 200);
    let refresh = res.json["refresh_token"].as_str().unwrap();
    let rows = app.sql("SELECT user_agent FROM sessions").await;
    assert_eq!(rows[0].get::<_, Option<String>>(0).as_deref(), Some("curl/8.5"));
    let stored = app.sql("SELECT token_hash FROM refresh_tokens").await;
    let hash: Vec<u8> = stored[0].get(0);
    assert_eq!(hash, identity_shared::auth::tokens::hash(refresh));
    assert_ne!(hash, refresh.as_bytes());
}
