//! Organizations: create, read, update, delete, slugs, and what deletion leaves behind.

use axum::http::Method;
use serde_json::json;

use crate::{PASSWORD, app, create_org, user_id};

#[tokio::test]
async fn creating_an_org_makes_the_creator_its_owner() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let res = app
        .call(Method::POST, "/orgs", Some(json!({"name": "Acme Corp", "created_by": "someone"})), Some(&token))
        .await;
    assert_eq!(res.status, 201, "{}", res.json);
    assert_eq!(res.json["name"], "Acme Corp");
    assert_eq!(res.json["slug"], "acme-corp");
    assert_eq!(res.json["roles"], json!(["owner"]));
    assert_eq!(res.json["created_by"], user_id(&app, &token).to_string());
    let org = res.json["id"].as_str().unwrap();
    let members = app.get(&format!("/orgs/{org}/members"), Some(&token)).await;
    assert_eq!(members.json["items"][0]["roles"], json!(["owner"]));
    let audit = app.get(&format!("/orgs/{org}/audit-log"), Some(&token)).await;
    let actions: Vec<&str> =
        audit.json["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["member.added", "org.created"]);
}

#[tokio::test]
async fn slugs_are_unique_derived_or_given() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let post = |body| app.call(Method::POST, "/orgs", Some(body), Some(&token));
    assert_eq!(post(json!({"name": "Acme", "slug": "acme"})).await.status, 201);
    post(json!({"name": "Other", "slug": "acme"})).await.assert_problem(409);
    let derived = post(json!({"name": "Acme"})).await;
    assert_eq!(derived.status, 201);
    let slug = derived.json["slug"].as_str().unwrap();
    assert!(slug.starts_with("acme-") && slug.len() == 11, "{slug}");
    let bad = post(json!({"name": "X", "slug": "Not Valid"})).await;
    assert_eq!(bad.assert_problem(422)["errors"][0]["field"], "slug");
    post(json!({"name": "  "})).await.assert_problem(422);
    post(json!({"slug": "no-name"})).await.assert_problem(422);
}

#[tokio::test]
async fn updating_checks_fields_and_slug_conflicts() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let a = create_org(&app, &token, "Alpha").await;
    create_org(&app, &token, "Beta").await;
    let patch = |body| app.call(Method::PATCH, format!("/orgs/{a}"), Some(body), Some(&token));
    let res = patch(json!({"name": "Alpha Two", "slug": "alpha-two"})).await;
    assert_eq!(res.status, 200);
    assert_eq!((res.json["name"].as_str(), res.json["slug"].as_str()), (Some("Alpha Two"), Some("alpha-two")));
    patch(json!({"slug": "beta"})).await.assert_problem(409);
    patch(json!({})).await.assert_problem(422);
    patch(json!({"slug": "-bad"})).await.assert_problem(422);
    let get = app.get(&format!("/orgs/{a}"), Some(&token)).await;
    assert_eq!(get.json["slug"], "alpha-two", "the failed updates changed nothing");
    let audit = app.get(&format!("/orgs/{a}/audit-log"), Some(&token)).await;
    assert_eq!(audit.json["items"][0]["action"], "org.updated");
    assert_eq!(audit.json["items"][0]["metadata"]["before"]["name"], "Alpha");
}

#[tokio::test]
async fn deleting_removes_memberships_roles_and_invitations_and_keeps_the_audit_trail() {
    let app = app().await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let bob = app.user("bob@example.com", PASSWORD).await;
    let org = create_org(&app, &token, "Doomed").await;
    app.add_member(org, bob, &["member"]).await;
    let role = app
        .call(Method::POST, &format!("/orgs/{org}/roles"), Some(json!({"name": "x", "permissions": []})), Some(&token))
        .await;
    assert_eq!(role.status, 201);
    app.sql(&format!(
        "INSERT INTO invitations (id, org_id, email, token_hash, expires_at) VALUES (gen_random_uuid(), '{org}', 'c@example.com', '\\x01', now() + interval '1 day')"
    ))
    .await;
    let res = app.call(Method::DELETE, &format!("/orgs/{org}"), None, Some(&token)).await;
    assert_eq!(res.status, 204);
    for table in ["memberships", "member_roles", "invitations", "organizations"] {
        assert!(app.sql(&format!("SELECT 1 FROM {table}")).await.is_empty(), "{table}");
    }
    assert!(app.sql("SELECT 1 FROM roles WHERE org_id IS NOT NULL").await.is_empty());
    assert_eq!(app.sql("SELECT 1 FROM roles WHERE org_id IS NULL").await.len(), 3, "system roles stay");
    let kept = app.sql(&format!("SELECT action FROM audit_log WHERE org_id = '{org}' ORDER BY id")).await;
    let actions: Vec<String> = kept.iter().map(|r| r.get(0)).collect();
    assert_eq!(actions.last().map(String::as_str), Some("org.deleted"));
    assert!(actions.contains(&"org.created".to_owned()));
    app.get(&format!("/orgs/{org}"), Some(&token)).await.assert_problem(404);
}

#[tokio::test]
async fn permissions_catalog_lists_every_permission() {
    let app = app().await;
    let res = app.get("/permissions", None).await;
    assert_eq!(res.status, 200);
    let names: Vec<&str> = res.json["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), identity_shared::models::Permission::ALL.len());
    for p in ["org:read", "org:delete", "roles:assign", "invitations:create", "audit:read", "api_keys:manage"] {
        assert!(names.contains(&p), "{p}");
    }
}
