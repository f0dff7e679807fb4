//! Custom roles: create, edit, delete, the catalog, and the limits on what a role may hold.

use axum::http::Method;
use serde_json::json;

use crate::{PASSWORD, app, create_org, user_id};

#[tokio::test]
async fn custom_roles_are_created_listed_edited_assigned_and_deleted() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let bob = app.user("bob@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Org").await;
    app.add_member(org, bob, &["member"]).await;
    let roles = format!("/orgs/{org}/roles");
    let created = app
        .call(Method::POST, &roles, Some(json!({"name": "billing", "description": "Pays", "permissions": ["org:read", "audit:read", "org:read"]})), Some(&owner))
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    assert_eq!(created.json["permissions"], json!(["org:read", "audit:read"]));
    assert_eq!(created.json["system"], false);

    let list = app.get(&roles, Some(&owner)).await;
    let names: Vec<&str> = list.json["items"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "member", "owner", "billing"]);

    let assign = app
        .call(
            Method::PUT,
            &format!("/orgs/{org}/members/{bob}/roles"),
            Some(json!({"roles": ["member", "billing"]})),
            Some(&owner),
        )
        .await;
    assert_eq!(assign.json["roles"], json!(["billing", "member"]));

    let by_name = app
        .call(
            Method::PATCH,
            &format!("{roles}/billing"),
            Some(json!({"name": "finance", "permissions": ["org:read"]})),
            Some(&owner),
        )
        .await;
    assert_eq!(by_name.status, 200, "{}", by_name.json);
    assert_eq!(by_name.json["name"], "finance");
    let id = by_name.json["id"].as_str().unwrap();
    let by_id = app
        .call(Method::PATCH, &format!("{roles}/{id}"), Some(json!({"description": "Finance team"})), Some(&owner))
        .await;
    assert_eq!(by_id.json["description"], "Finance team");

    assert_eq!(app.call(Method::DELETE, &format!("{roles}/finance"), None, Some(&owner)).await.status, 204);
    let bob_now = app.get(&format!("/orgs/{org}/members/{bob}"), Some(&owner)).await;
    assert_eq!(bob_now.json["roles"], json!(["member"]), "members lose a deleted role");
    app.call(Method::DELETE, &format!("{roles}/finance"), None, Some(&owner)).await.assert_problem(404);

    let audit = app.get(&format!("/orgs/{org}/audit-log?limit=4"), Some(&owner)).await;
    let actions: Vec<&str> =
        audit.json["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["role.deleted", "role.updated", "role.updated", "member.roles_changed"]);
    assert_eq!(audit.json["items"][0]["metadata"]["holders"], 1);
}

#[tokio::test]
async fn role_input_is_checked() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Org").await;
    let roles = format!("/orgs/{org}/roles");
    let post = |body| app.call(Method::POST, &roles, Some(body), Some(&owner));
    let bad = post(json!({"name": "x", "permissions": ["org:read", "org:explode"]})).await;
    assert_eq!(bad.assert_problem(422)["errors"][0]["field"], "permissions[1]");
    post(json!({"name": "Has Space", "permissions": []})).await.assert_problem(422);
    post(json!({"name": "x", "description": "d".repeat(501), "permissions": []})).await.assert_problem(422);
    post(json!({"name": "x"})).await.assert_problem(422);
    post(json!({"name": "admin", "permissions": []})).await.assert_problem(409);
    assert_eq!(post(json!({"name": "x", "permissions": []})).await.status, 201);
    post(json!({"name": "x", "permissions": []})).await.assert_problem(409);
    let patch = |path: &str, body| app.call(Method::PATCH, format!("{roles}/{path}"), Some(body), Some(&owner));
    patch("x", json!({})).await.assert_problem(422);
    patch("x", json!({"name": "owner"})).await.assert_problem(409);
    patch("admin", json!({"description": "mine now"})).await.assert_problem(403);
    app.call(Method::DELETE, &format!("{roles}/owner"), None, Some(&owner)).await.assert_problem(403);
    patch("nope", json!({"description": "?"})).await.assert_problem(404);
}

#[tokio::test]
async fn roles_cannot_be_used_to_escalate() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let (admin, _) = app.signed_in("admin@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Org").await;
    app.add_member(org, user_id(&app, &admin), &["admin"]).await;
    let roles = format!("/orgs/{org}/roles");
    // An admin cannot create a role holding org:delete...
    app.call(Method::POST, &roles, Some(json!({"name": "deleter", "permissions": ["org:delete"]})), Some(&admin))
        .await
        .assert_problem(403);
    // ...nor add it to a role they could edit...
    let ok = app
        .call(Method::POST, &roles, Some(json!({"name": "helper", "permissions": ["org:read"]})), Some(&admin))
        .await;
    assert_eq!(ok.status, 201);
    app.call(
        Method::PATCH,
        &format!("{roles}/helper"),
        Some(json!({"permissions": ["org:read", "org:delete"]})),
        Some(&admin),
    )
    .await
    .assert_problem(403);
    // ...nor edit or delete a role the owner made with it.
    let owners = app
        .call(Method::POST, &roles, Some(json!({"name": "co-owner", "permissions": ["org:delete"]})), Some(&owner))
        .await;
    assert_eq!(owners.status, 201);
    app.call(Method::PATCH, &format!("{roles}/co-owner"), Some(json!({"permissions": []})), Some(&admin))
        .await
        .assert_problem(403);
    app.call(Method::DELETE, &format!("{roles}/co-owner"), None, Some(&admin)).await.assert_problem(403);
    let helper = app.get(&roles, Some(&owner)).await;
    let perms =
        helper.json["items"].as_array().unwrap().iter().find(|r| r["name"] == "helper").unwrap()["permissions"].clone();
    assert_eq!(perms, json!(["org:read"]), "refused edits changed nothing");
}
