//! Org-scoped tokens from login and refresh, and that our own routes still ask the database.

use axum::http::Method;
use serde_json::json;

use crate::{PASSWORD, app, create_org, user_id};

#[tokio::test]
async fn login_and_refresh_issue_org_scoped_tokens_for_members_only() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let (bob, _) = app.signed_in("bob@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let other = create_org(&app, &owner, "Other").await;
    app.add_member(org, user_id(&app, &bob), &["member"]).await;

    let login = app.post("/auth/login", json!({"email": "bob@example.com", "password": PASSWORD, "org_id": org})).await;
    assert_eq!(login.status, 200, "{}", login.json);
    let claims = app.state.jwt().verify(login.json["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims.org_id, Some(org));
    assert_eq!(claims.roles.as_deref(), Some(&["member".to_owned()][..]));
    assert_eq!(claims.permissions.unwrap(), ["org:read", "members:read", "roles:read"]);

    // Not a member of `other`, and a made-up org: the same refusal.
    let denied =
        app.post("/auth/login", json!({"email": "bob@example.com", "password": PASSWORD, "org_id": other})).await;
    let unknown = app
        .post("/auth/login", json!({"email": "bob@example.com", "password": PASSWORD, "org_id": uuid::Uuid::now_v7()}))
        .await;
    denied.assert_problem(403);
    assert_eq!(denied.body, unknown.body);
    app.post("/auth/login", json!({"email": "bob@example.com", "password": PASSWORD, "org_id": "acme"}))
        .await
        .assert_problem(422);

    // Refresh keeps the org; a refused switch leaves the refresh token usable.
    let refresh = login.json["refresh_token"].as_str().unwrap();
    app.post("/auth/refresh", json!({"refresh_token": refresh, "org_id": other})).await.assert_problem(403);
    let kept = app.post("/auth/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!(kept.status, 200, "{}", kept.json);
    let claims = app.state.jwt().verify(kept.json["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims.org_id, Some(org));

    // Promoted: the next refresh carries the new roles.
    let bob_id = user_id(&app, &bob);
    app.call(
        Method::PUT,
        &format!("/orgs/{org}/members/{bob_id}/roles"),
        Some(json!({"roles": ["admin"]})),
        Some(&owner),
    )
    .await;
    let next = app.post("/auth/refresh", json!({"refresh_token": kept.json["refresh_token"]})).await;
    let claims = app.state.jwt().verify(next.json["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims.roles.as_deref(), Some(&["admin".to_owned()][..]));

    // Removed: the next refresh is a plain token, and org routes refuse the old scoped one.
    let scoped = next.json["access_token"].as_str().unwrap().to_owned();
    app.call(Method::DELETE, &format!("/orgs/{org}/members/{bob_id}"), None, Some(&owner)).await;
    let plain = app.post("/auth/refresh", json!({"refresh_token": next.json["refresh_token"]})).await;
    assert_eq!(plain.status, 200);
    let claims = app.state.jwt().verify(plain.json["access_token"].as_str().unwrap()).unwrap();
    assert_eq!((claims.org_id, claims.roles), (None, None));
    app.get(&format!("/orgs/{org}"), Some(&scoped)).await.assert_problem(404);
}
