//! The roles and permissions a membership row carries (migration V6's triggers): equal, after
//! every kind of change and under concurrent ones, to what the member's roles grant.

use axum::http::Method;
use identity_testkit::TestApp;
use serde_json::json;

use crate::{PASSWORD, app, create_org};

/// Memberships whose stored roles or permissions differ from what member_roles grants now.
async fn drifted(app: &TestApp) -> Vec<String> {
    let rows = app
        .sql(
            "SELECT m.org_id::text || '/' || m.user_id::text || ' ' || m.roles::text || ' ' || m.permissions::text
               FROM memberships m
              WHERE (m.roles, m.permissions) IS DISTINCT FROM (
                    COALESCE((SELECT array_agg(r.name ORDER BY r.name COLLATE \"C\") FROM member_roles mr JOIN roles r ON r.id = mr.role_id
                               WHERE mr.org_id = m.org_id AND mr.user_id = m.user_id), '{}'),
                    COALESCE((SELECT array_agg(DISTINCT rp.permission ORDER BY rp.permission)
                                FROM member_roles mr JOIN role_permissions rp ON rp.role_id = mr.role_id
                               WHERE mr.org_id = m.org_id AND mr.user_id = m.user_id), '{}'))",
        )
        .await;
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn grants_edits_renames_and_deletions_keep_the_membership_row_true() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let (bob_token, _) = app.signed_in("bob@example.com", PASSWORD).await;
    let bob = crate::user_id(&app, &bob_token);
    let org = create_org(&app, &owner, "Org").await;
    app.add_member(org, bob, &["member"]).await;
    assert_eq!(drifted(&app).await, Vec::<String>::new(), "after the org and a member");
    let audit = format!("/orgs/{org}/audit-log");
    app.get(&audit, Some(&bob_token)).await.assert_problem(403);

    let roles = format!("/orgs/{org}/roles");
    let body = json!({"name": "billing", "permissions": ["org:read", "audit:read"]});
    assert_eq!(app.call(Method::POST, &roles, Some(body), Some(&owner)).await.status, 201);
    let grant = json!({"roles": ["member", "billing"]});
    let set = app.call(Method::PUT, &format!("/orgs/{org}/members/{bob}/roles"), Some(grant), Some(&owner)).await;
    assert_eq!(set.status, 200, "{}", set.json);
    assert_eq!(drifted(&app).await, Vec::<String>::new(), "after a grant");
    assert_eq!(app.get(&audit, Some(&bob_token)).await.status, 200, "the grant counts at once");

    // The role loses a permission: every holder loses it on their next request.
    let edit = json!({"permissions": ["org:read"]});
    assert_eq!(app.call(Method::PATCH, &format!("{roles}/billing"), Some(edit), Some(&owner)).await.status, 200);
    assert_eq!(drifted(&app).await, Vec::<String>::new(), "after a permission edit");
    app.get(&audit, Some(&bob_token)).await.assert_problem(403);

    let rename = json!({"name": "finance"});
    assert_eq!(app.call(Method::PATCH, &format!("{roles}/billing"), Some(rename), Some(&owner)).await.status, 200);
    assert_eq!(drifted(&app).await, Vec::<String>::new(), "after a rename");
    let member = app.get(&format!("/orgs/{org}/members/{bob}"), Some(&owner)).await;
    assert_eq!(member.json["roles"], json!(["finance", "member"]));

    assert_eq!(app.call(Method::DELETE, &format!("{roles}/finance"), None, Some(&owner)).await.status, 204);
    assert_eq!(drifted(&app).await, Vec::<String>::new(), "after deleting a held role");
    let member = app.get(&format!("/orgs/{org}/members/{bob}"), Some(&owner)).await;
    assert_eq!(member.json["roles"], json!(["member"]));

    let members = app.get(&format!("/orgs/{org}/members"), Some(&owner)).await;
    let listed: Vec<&serde_json::Value> =
        members.json["items"].as_array().unwrap().iter().map(|m| &m["roles"]).collect();
    assert_eq!(listed, [&json!(["owner"]), &json!(["member"])], "a page reads the same rows");
}

#[tokio::test]
async fn two_grants_at_once_to_one_member_both_count() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let bob = app.user("bob@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Org").await;
    app.add_member(org, bob, &[]).await;
    let grant = move |role: &'static str| {
        format!(
            "INSERT INTO member_roles (org_id, user_id, role_id)
             SELECT '{org}', '{bob}', id FROM roles WHERE org_id IS NULL AND name = '{role}'"
        )
    };
    let first = app.state.pool().get().await.unwrap();
    let second = app.state.pool().get().await.unwrap();
    first.batch_execute(&format!("BEGIN; {}", grant("member"))).await.unwrap();
    // The second grant's recount waits for the first's lock on the membership row; counted
    // from a snapshot taken before that wait, it would not see the first grant.
    let admin = format!("BEGIN; {}; COMMIT", grant("admin"));
    let waiting = tokio::spawn(async move { second.batch_execute(&admin).await.unwrap() });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the second grant waits for the first");
    first.batch_execute("COMMIT").await.unwrap();
    waiting.await.unwrap();

    assert_eq!(drifted(&app).await, Vec::<String>::new());
    let row = app.sql(&format!("SELECT roles FROM memberships WHERE org_id = '{org}' AND user_id = '{bob}'")).await;
    assert_eq!(row[0].get::<_, Vec<String>>(0), ["admin", "member"]);
}
