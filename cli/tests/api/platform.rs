//! Platform administration of users.

use axum::http::Method;
use serde_json::json;

use crate::{PASSWORD, app, email, user_id};

async fn admin(app: &identity_testkit::TestApp) -> String {
    let (token, _) = app.signed_in("root@example.com", PASSWORD).await;
    let granted = identity_shared::services::users::grant_platform_admin(app.state.pool(), &email("ROOT@example.com"))
        .await
        .unwrap();
    assert!(granted.is_platform_admin);
    token
}

#[tokio::test]
async fn only_platform_admins_manage_users() {
    let app = app().await;
    let (plain, _) = app.signed_in("plain@example.com", PASSWORD).await;
    let id = user_id(&app, &plain);
    for (method, path) in [(Method::GET, "/users".to_owned()), (Method::GET, format!("/users/{id}"))] {
        app.call(method.clone(), &path, None, Some(&plain)).await.assert_problem(403);
        app.call(method, &path, None, None).await.assert_problem(401);
    }
    app.call(Method::PATCH, &format!("/users/{id}"), Some(json!({"status": "disabled"})), Some(&plain))
        .await
        .assert_problem(403);
    let missing =
        identity_shared::services::users::grant_platform_admin(app.state.pool(), &email("ghost@example.com")).await;
    assert!(missing.is_err());
}

#[tokio::test]
async fn admins_search_by_email_prefix_with_pages() {
    let app = app().await;
    let token = admin(&app).await;
    for i in 0..5 {
        app.user(&format!("Team{i}@Example.com"), PASSWORD).await;
    }
    app.user("t_am@example.com", PASSWORD).await;
    let mut emails = vec![];
    let mut cursor = String::new();
    loop {
        let res = app.get(&format!("/users?email=team&limit=2{cursor}"), Some(&token)).await;
        assert_eq!(res.status, 200, "{}", res.json);
        emails.extend(res.json["items"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_owned()));
        match res.json["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(emails.len(), 5, "{emails:?}");
    let literal = app.get("/users?email=t_", Some(&token)).await;
    assert_eq!(literal.json["items"].as_array().unwrap().len(), 1, "_ is not a wildcard");
    let all = app.get("/users?limit=100", Some(&token)).await;
    assert_eq!(all.json["items"].as_array().unwrap().len(), 7);
    app.get("/users?limit=0", Some(&token)).await.assert_problem(422);
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_at_once() {
    let app = app().await;
    let token = admin(&app).await;
    let (victim, refresh) = app.signed_in("victim@example.com", PASSWORD).await;
    let id = user_id(&app, &victim);
    assert_eq!(app.get(&format!("/users/{id}"), Some(&token)).await.json["email"], "victim@example.com");
    let res = app
        .call(Method::PATCH, &format!("/users/{id}"), Some(json!({"status": "disabled", "name": "Gone"})), Some(&token))
        .await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.json["status"], "disabled");
    app.get("/me", Some(&victim)).await.assert_problem(401);
    app.post("/auth/refresh", json!({"refresh_token": refresh})).await.assert_problem(401);
    app.post("/auth/login", json!({"email": "victim@example.com", "password": PASSWORD})).await.assert_problem(403);
    let live = app.sql(&format!("SELECT count(*) FROM sessions WHERE user_id = '{id}' AND revoked_at IS NULL")).await;
    assert_eq!(live[0].get::<_, i64>(0), 0);
    // Enabled again, they can sign in.
    app.call(Method::PATCH, &format!("/users/{id}"), Some(json!({"status": "active"})), Some(&token)).await;
    assert_eq!(app.post("/auth/login", json!({"email": "victim@example.com", "password": PASSWORD})).await.status, 200);
}

#[tokio::test]
async fn admin_edits_are_checked() {
    let app = app().await;
    let token = admin(&app).await;
    let me = user_id(&app, &token);
    let patch = |id: String, body| app.call(Method::PATCH, format!("/users/{id}"), Some(body), Some(&token));
    patch(me.to_string(), json!({"status": "disabled"})).await.assert_problem(409);
    patch(me.to_string(), json!({"is_platform_admin": false})).await.assert_problem(409);
    patch(me.to_string(), json!({"status": "sleeping"})).await.assert_problem(422);
    patch(me.to_string(), json!({})).await.assert_problem(422);
    patch(uuid::Uuid::now_v7().to_string(), json!({"name": "x"})).await.assert_problem(404);
    patch("nope".into(), json!({"name": "x"})).await.assert_problem(404);
    app.get("/users/nope", Some(&token)).await.assert_problem(404);
}
