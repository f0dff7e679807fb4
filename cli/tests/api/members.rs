//! Members: pagination, removing, leaving, role changes, and the owner that must remain.

use std::collections::HashSet;
use std::sync::Arc;

use axum::http::Method;
use serde_json::json;
use uuid::Uuid;

use crate::{PASSWORD, app, create_org, user_id};

async fn all_pages(
    app: &identity_testkit::TestApp,
    path: &str,
    token: &str,
    limit: u32,
    between: impl AsyncFn(usize),
) -> Vec<String> {
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    for page in 0.. {
        let url = match &cursor {
            Some(c) => format!("{path}?limit={limit}&cursor={c}"),
            None => format!("{path}?limit={limit}"),
        };
        let res = app.get(&url, Some(token)).await;
        assert_eq!(res.status, 200, "{}", res.json);
        let items = res.json["items"].as_array().unwrap();
        assert!(items.len() <= limit as usize);
        seen.extend(items.iter().map(|m| m.get("user_id").or(m.get("id")).unwrap().as_str().unwrap().to_owned()));
        cursor = res.json["next_cursor"].as_str().map(String::from);
        if cursor.is_none() {
            break;
        }
        between(page).await;
    }
    seen
}

#[tokio::test]
async fn member_pages_have_no_duplicates_or_gaps_while_members_join() {
    let app = app().await;
    let (token, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &token, "Big").await;
    let mut originals = vec![user_id(&app, &token).to_string()];
    for i in 0..24 {
        let id = app.user(&format!("m{i}@example.com"), PASSWORD).await;
        app.add_member(org, id, &["member"]).await;
        originals.push(id.to_string());
    }
    let joined = std::cell::Cell::new(0);
    let seen = all_pages(&app, &format!("/orgs/{org}/members"), &token, 10, async |page| {
        for j in 0..3 {
            let id = app.user(&format!("late{page}-{j}@example.com"), PASSWORD).await;
            app.add_member(org, id, &["member"]).await;
            joined.set(joined.get() + 1);
        }
    })
    .await;
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates");
    for id in &originals {
        assert!(unique.contains(id), "no gaps: {id} missing");
    }
    assert!(joined.get() > 0);
}

#[tokio::test]
async fn audit_pages_have_no_duplicates_or_gaps_while_entries_are_written() {
    let app = app().await;
    let (token, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &token, "Busy").await;
    for i in 0..13 {
        let res = app
            .call(Method::PATCH, &format!("/orgs/{org}"), Some(json!({"name": format!("Busy {i}")})), Some(&token))
            .await;
        assert_eq!(res.status, 200);
    }
    let before: Vec<String> = app
        .sql(&format!("SELECT id::text FROM audit_log WHERE org_id = '{org}'"))
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(before.len(), 15);
    let seen = all_pages(&app, &format!("/orgs/{org}/audit-log"), &token, 4, async |_| {
        app.call(Method::PATCH, &format!("/orgs/{org}"), Some(json!({"name": "Busier"})), Some(&token)).await;
    })
    .await;
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len());
    for id in &before {
        assert!(unique.contains(id), "{id} missing");
    }
}

#[tokio::test]
async fn limits_and_cursors_are_checked() {
    let app = app().await;
    let (token, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &token, "Org").await;
    for query in ["limit=0", "limit=101", "limit=ten", "cursor=%21%21", "cursor=bm90IGEgY3Vyc29y"] {
        let res = app.get(&format!("/orgs/{org}/members?{query}"), Some(&token)).await;
        res.assert_problem(422);
    }
    let res = app.get(&format!("/orgs/{org}/members?limit=100"), Some(&token)).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json["next_cursor"], serde_json::Value::Null);
    let default = app.get("/orgs", Some(&token)).await;
    assert_eq!(default.json["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_last_owner_cannot_leave_be_removed_or_demoted() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let owner_id = user_id(&app, &owner);
    let org = create_org(&app, &owner, "Org").await;
    let me = format!("/orgs/{org}/members/{owner_id}");
    app.call(Method::DELETE, &me, None, Some(&owner)).await.assert_problem(409);
    app.call(Method::PUT, &format!("{me}/roles"), Some(json!({"roles": ["admin"]})), Some(&owner))
        .await
        .assert_problem(409);

    // With a second owner, one may leave; then the other is the last again.
    let (second, _) = app.signed_in("second@example.com", PASSWORD).await;
    let second_id = user_id(&app, &second);
    app.add_member(org, second_id, &["member"]).await;
    let promote = app
        .call(
            Method::PUT,
            &format!("/orgs/{org}/members/{second_id}/roles"),
            Some(json!({"roles": ["owner"]})),
            Some(&owner),
        )
        .await;
    assert_eq!(promote.status, 200, "{}", promote.json);
    assert_eq!(app.call(Method::DELETE, &me, None, Some(&owner)).await.status, 204);
    app.get(&format!("/orgs/{org}"), Some(&owner)).await.assert_problem(404);
    app.call(Method::DELETE, &format!("/orgs/{org}/members/{second_id}"), None, Some(&second))
        .await
        .assert_problem(409);
    let audit = app.get(&format!("/orgs/{org}/audit-log"), Some(&second)).await;
    assert_eq!(audit.json["items"][0]["action"], "member.removed");
    assert_eq!(audit.json["items"][0]["metadata"]["left"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_owners_removing_each_other_at_once_leave_one_owner() {
    for _ in 0..3 {
        let app = Arc::new(app().await);
        let (a, _) = app.signed_in("a@example.com", PASSWORD).await;
        let (b, _) = app.signed_in("b@example.com", PASSWORD).await;
        let org = create_org(&app, &a, "Org").await;
        let (a_id, b_id) = (user_id(&app, &a), user_id(&app, &b));
        app.add_member(org, b_id, &["owner"]).await;
        let remove = |token: String, target: Uuid| {
            let app = app.clone();
            tokio::spawn(async move {
                app.call(Method::DELETE, &format!("/orgs/{org}/members/{target}"), None, Some(&token))
                    .await
                    .status
                    .as_u16()
            })
        };
        let (x, y) = (remove(a.clone(), b_id), remove(b.clone(), a_id));
        let mut statuses = [x.await.unwrap(), y.await.unwrap()];
        statuses.sort();
        assert!(statuses == [204, 404] || statuses == [204, 409], "{statuses:?}");
        let owners = app.sql(&format!("SELECT count(*) FROM member_roles WHERE org_id = '{org}'")).await;
        assert_eq!(owners[0].get::<_, i64>(0), 1);
    }
}

#[tokio::test]
async fn role_changes_apply_at_once_and_unknown_roles_are_422() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let (bob, _) = app.signed_in("bob@example.com", PASSWORD).await;
    let bob_id = user_id(&app, &bob);
    let org = create_org(&app, &owner, "Org").await;
    app.add_member(org, bob_id, &["member"]).await;
    let roles = format!("/orgs/{org}/members/{bob_id}/roles");
    app.call(Method::PATCH, &format!("/orgs/{org}"), Some(json!({"name": "X"})), Some(&bob)).await.assert_problem(403);
    let res = app.call(Method::PUT, &roles, Some(json!({"roles": ["admin", "admin"]})), Some(&owner)).await;
    assert_eq!(res.json["roles"], json!(["admin"]));
    assert_eq!(
        app.call(Method::PATCH, &format!("/orgs/{org}"), Some(json!({"name": "Y"})), Some(&bob)).await.status,
        200
    );
    let bad = app.call(Method::PUT, &roles, Some(json!({"roles": ["member", "nope"]})), Some(&owner)).await;
    assert_eq!(bad.assert_problem(422)["errors"][0]["field"], "roles[1]");
    app.call(Method::PUT, &roles, Some(json!({"roles": "admin"})), Some(&owner)).await.assert_problem(422);
    // Demoted: the very next request is refused, with the same token.
    app.call(Method::PUT, &roles, Some(json!({"roles": ["member"]})), Some(&owner)).await;
    app.call(Method::PATCH, &format!("/orgs/{org}"), Some(json!({"name": "Z"})), Some(&bob)).await.assert_problem(403);
    // Removed: the org disappears for him at once.
    assert_eq!(
        app.call(Method::DELETE, &format!("/orgs/{org}/members/{bob_id}"), None, Some(&owner)).await.status,
        204
    );
    app.get(&format!("/orgs/{org}"), Some(&bob)).await.assert_problem(404);
    app.get(&format!("/orgs/{org}/members/{bob_id}"), Some(&owner)).await.assert_problem(404);
    let audit = app.get(&format!("/orgs/{org}/audit-log?limit=3"), Some(&owner)).await;
    let actions: Vec<&str> =
        audit.json["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["member.removed", "member.roles_changed", "org.updated"]);
    assert_eq!(audit.json["items"][1]["metadata"], json!({"before": ["admin"], "after": ["member"]}));
}

#[tokio::test]
async fn nobody_grants_or_touches_more_than_they_hold() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let (admin, _) = app.signed_in("admin@example.com", PASSWORD).await;
    let (lead, _) = app.signed_in("lead@example.com", PASSWORD).await;
    let bob = app.user("bob@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Org").await;
    let owner_id = user_id(&app, &owner);
    app.add_member(org, user_id(&app, &admin), &["admin"]).await;
    app.add_member(org, bob, &["member"]).await;
    let put = |token: &str, target: Uuid, roles: serde_json::Value| {
        let (token, path) = (token.to_owned(), format!("/orgs/{org}/members/{target}/roles"));
        let app = &app;
        async move { app.call(Method::PUT, &path, Some(json!({"roles": roles})), Some(&token)).await }
    };
    // An admin cannot make anyone owner (owner holds org:delete, which admin lacks)...
    put(&admin, bob, json!(["owner"])).await.assert_problem(403);
    // ...nor change or remove an owner.
    put(&admin, owner_id, json!(["member"])).await.assert_problem(403);
    app.call(Method::DELETE, &format!("/orgs/{org}/members/{owner_id}"), None, Some(&admin)).await.assert_problem(403);
    // A custom role with roles:assign alone cannot hand out admin.
    let res = app
        .call(
            Method::POST,
            &format!("/orgs/{org}/roles"),
            Some(json!({"name": "lead", "permissions": ["roles:assign", "members:read"]})),
            Some(&owner),
        )
        .await;
    assert_eq!(res.status, 201);
    app.add_member(org, user_id(&app, &lead), &["lead"]).await;
    put(&lead, bob, json!(["admin"])).await.assert_problem(403);
    put(&lead, user_id(&app, &lead), json!(["lead", "admin"])).await.assert_problem(403);
    // Bob's roles are untouched by all of it.
    let bob_now = app.get(&format!("/orgs/{org}/members/{bob}"), Some(&owner)).await;
    assert_eq!(bob_now.json["roles"], json!(["member"]));
}
