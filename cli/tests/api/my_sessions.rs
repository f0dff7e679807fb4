//! Sessions a user sees and ends (GET/DELETE /me/sessions, revoke-others), the platform
//! admin's view of anyone's, and PATCH /me.

use axum::body::Body;
use axum::http::{Method, Request};
use identity_testkit::TestApp;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{PASSWORD, app, app_with_ses, create_org, unique, user_id};

fn sid(app: &TestApp, token: &str) -> Uuid {
    app.state.jwt().verify(token).unwrap().sid
}

async fn sessions(app: &TestApp, token: &str) -> Vec<Value> {
    let res = app.get("/me/sessions", Some(token)).await;
    assert_eq!(res.status, 200, "{}", res.json);
    res.json["items"].as_array().unwrap().clone()
}

/// Logs in over HTTP with this User-Agent; returns (access, refresh).
async fn login_as(app: &TestApp, who: &str, user_agent: &str, org: Option<Uuid>) -> (String, String) {
    let mut body = json!({"email": who, "password": PASSWORD});
    if let Some(org) = org {
        body["org_id"] = json!(org);
    }
    let req = Request::post("/auth/login")
        .header("content-type", "application/json")
        .header("user-agent", user_agent)
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status, 200, "{}", res.json);
    (res.json["access_token"].as_str().unwrap().into(), res.json["refresh_token"].as_str().unwrap().into())
}

async fn seconds(app: &TestApp, query: &str) -> f64 {
    app.sql(query).await[0].get(0)
}

#[tokio::test]
async fn the_list_says_how_each_session_began_where_from_and_which_is_asking() {
    let app = app().await;
    let (owner, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let (phone, _) = login_as(&app, "ada@example.com", "Phone/1.0", None).await;
    let (laptop, _) = login_as(&app, "ada@example.com", "Laptop/2.0", Some(org)).await;

    let items = sessions(&app, &phone).await;
    assert_eq!(items.len(), 3);
    let ids: Vec<&str> = items.iter().map(|s| s["id"].as_str().unwrap()).collect();
    let want = [sid(&app, &laptop), sid(&app, &phone), sid(&app, &owner)].map(|id| id.to_string());
    assert_eq!(ids, want, "newest first");
    let current: Vec<&Value> = items.iter().filter(|s| s["is_current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], sid(&app, &phone).to_string());
    assert_eq!(current[0]["user_agent"], "Phone/1.0");
    assert_eq!(items[0]["user_agent"], "Laptop/2.0");
    assert_eq!(items[0]["org_id"], org.to_string(), "the org-scoped login names its org");
    assert_eq!(items[1]["org_id"], Value::Null);
    for s in &items {
        assert_eq!(s["method"], "password");
        assert_eq!(s["amr"], json!(["pwd"]));
        for field in ["created_at", "last_used_at", "ip"] {
            assert!(s.as_object().unwrap().contains_key(field), "{field} in {s}");
        }
    }
    // Nothing secret is in the answer.
    let raw = app.get("/me/sessions", Some(&phone)).await;
    let body = String::from_utf8_lossy(&raw.body);
    assert!(!body.contains("hash") && !body.contains("token"), "{body}");
    // Another user sees only their own.
    let (bob, _) = app.signed_in("bob@example.com", PASSWORD).await;
    let bobs = sessions(&app, &bob).await;
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0]["is_current"], true);
    app.get("/me/sessions", None).await.assert_problem(401);
}

#[tokio::test]
async fn a_session_begun_by_accepting_an_invitation_says_so() {
    let app = app_with_ses().await;
    let (owner, _) = app.signed_in(&unique("owner"), PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let kim = unique("kim");
    let invited =
        app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(json!({"email": kim})), Some(&owner)).await;
    assert_eq!(invited.status, 201, "{}", invited.json);
    let token = identity_testkit::ses::token_in(identity_testkit::ses::mails_to(&kim).await.last().unwrap());
    let joined = app.post("/invitations/accept", json!({"token": token, "name": "Kim", "password": PASSWORD})).await;
    assert_eq!(joined.status, 201, "{}", joined.json);
    let items = sessions(&app, joined.json["access_token"].as_str().unwrap()).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["method"], "invitation");
    assert_eq!(items[0]["amr"], json!(["pwd"]), "the invitee chose a password to join");
}

#[tokio::test]
async fn ending_a_session_stops_its_access_and_refresh_tokens_on_the_next_request() {
    let app = app().await;
    let (phone, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let (laptop, laptop_refresh) = app.login("ada@example.com", PASSWORD).await;
    let laptop_sid = sid(&app, &laptop);
    assert_eq!(app.get("/me", Some(&laptop)).await.status, 200);

    let res = app.call(Method::DELETE, format!("/me/sessions/{laptop_sid}"), None, Some(&phone)).await;
    assert_eq!(res.status, 204, "{}", res.json);
    app.get("/me", Some(&laptop)).await.assert_problem(401);
    app.post("/auth/refresh", json!({"refresh_token": laptop_refresh})).await.assert_problem(401);
    assert_eq!(app.get("/me", Some(&phone)).await.status, 200, "the asking session stays");
    assert_eq!(sessions(&app, &phone).await.len(), 1);
    // Once ended it is gone: a second end is a 404, as is any id that is no session.
    let again = app.call(Method::DELETE, format!("/me/sessions/{laptop_sid}"), None, Some(&phone)).await;
    again.assert_problem(404);
    app.call(Method::DELETE, format!("/me/sessions/{}", Uuid::now_v7()), None, Some(&phone)).await.assert_problem(404);
    app.call(Method::DELETE, "/me/sessions/not-a-uuid", None, Some(&phone)).await.assert_problem(404);

    // The audit log has it, at the account level.
    let ada = user_id(&app, &phone);
    let rows = app
        .sql("SELECT actor_id, target_id, org_id IS NULL FROM audit_log WHERE action = 'session.revoked' AND target_type = 'session'")
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].get::<_, Uuid>(0), rows[0].get::<_, Uuid>(1), rows[0].get::<_, bool>(2)),
        (ada, laptop_sid, true)
    );
    // A user may end their own current session this way too: it is a logout.
    let phone_sid = sid(&app, &phone);
    assert_eq!(app.call(Method::DELETE, format!("/me/sessions/{phone_sid}"), None, Some(&phone)).await.status, 204);
    app.get("/me", Some(&phone)).await.assert_problem(401);
}

#[tokio::test]
async fn another_users_session_is_a_404_and_survives() {
    let app = app().await;
    let (ada, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let (bob, _) = app.signed_in("bob@example.com", PASSWORD).await;
    let bobs = sid(&app, &bob);
    let unknown = app.call(Method::DELETE, format!("/me/sessions/{}", Uuid::now_v7()), None, Some(&ada)).await;
    let others = app.call(Method::DELETE, format!("/me/sessions/{bobs}"), None, Some(&ada)).await;
    others.assert_problem(404);
    assert_eq!(others.body, unknown.body, "another user's session reads as no session at all");
    assert_eq!(app.get("/me", Some(&bob)).await.status, 200);
    let audit = app.sql("SELECT count(*) FROM audit_log WHERE action = 'session.revoked'").await;
    assert_eq!(audit[0].get::<_, i64>(0), 0);
}

#[tokio::test]
async fn revoke_others_ends_every_session_but_the_asking_one() {
    let app = app().await;
    let (keep, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let mut others = vec![];
    for _ in 0..3 {
        others.push(app.login("ada@example.com", PASSWORD).await);
    }
    let (bob, _) = app.signed_in("bob@example.com", PASSWORD).await;

    let res = app.call(Method::POST, "/me/sessions/revoke-others", None, Some(&keep)).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.json, json!({"revoked": 3}));
    for (access, refresh) in &others {
        app.get("/me", Some(access)).await.assert_problem(401);
        app.post("/auth/refresh", json!({"refresh_token": refresh})).await.assert_problem(401);
    }
    assert_eq!(app.get("/me", Some(&keep)).await.status, 200);
    assert_eq!(app.get("/me", Some(&bob)).await.status, 200, "other users are untouched");
    let left = sessions(&app, &keep).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["is_current"], true);
    let audit = app.sql("SELECT count(*) FROM audit_log WHERE action = 'session.revoked'").await;
    assert_eq!(audit[0].get::<_, i64>(0), 3, "one row per ended session");
    let again = app.call(Method::POST, "/me/sessions/revoke-others", None, Some(&keep)).await;
    assert_eq!(again.json, json!({"revoked": 0}));
    app.call(Method::POST, "/me/sessions/revoke-others", None, None).await.assert_problem(401);
}

#[tokio::test]
async fn the_list_leaves_out_ended_sessions_and_pages() {
    let app = app().await;
    let (me, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let (logged_out, _) = app.login("ada@example.com", PASSWORD).await;
    let (stale, _) = app.login("ada@example.com", PASSWORD).await;
    let (kept, _) = app.login("ada@example.com", PASSWORD).await;
    let res = app.call(Method::POST, "/auth/logout", None, Some(&logged_out)).await;
    assert_eq!(res.status, 204);
    // A session whose refresh token has expired cannot be used again: it is not live.
    app.sql(&format!(
        "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE session_id = '{}'",
        sid(&app, &stale)
    ))
    .await;
    let ids: Vec<String> = sessions(&app, &me).await.iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, [sid(&app, &kept), sid(&app, &me)].map(|s| s.to_string()));
    assert!(!ids.contains(&sid(&app, &logged_out).to_string()));

    let first = app.get("/me/sessions?limit=1", Some(&me)).await;
    assert_eq!(first.json["items"].as_array().unwrap().len(), 1);
    let cursor = first.json["next_cursor"].as_str().expect("a second page").to_owned();
    let second = app.get(&format!("/me/sessions?limit=1&cursor={cursor}"), Some(&me)).await;
    assert_eq!(second.json["items"][0]["id"], sid(&app, &me).to_string());
    assert_eq!(second.json["next_cursor"], Value::Null);
    app.get("/me/sessions?limit=0", Some(&me)).await.assert_problem(422);
    app.get("/me/sessions?cursor=garbage", Some(&me)).await.assert_problem(422);
}

#[tokio::test]
async fn last_used_is_written_at_most_once_a_minute() {
    let app = app().await;
    let (me, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let id = sid(&app, &me);
    let idle = format!("SELECT extract(epoch FROM now() - last_used_at)::float8 FROM sessions WHERE id = '{id}'");
    app.sql(&format!("UPDATE sessions SET last_used_at = now() - interval '5 minutes' WHERE id = '{id}'")).await;
    assert_eq!(app.get("/me", Some(&me)).await.status, 200);
    assert!(seconds(&app, &idle).await < 5.0, "a request after five idle minutes writes the time");

    // Within the minute, requests leave it as it is: 30 seconds ago stays 30 seconds ago.
    app.sql(&format!("UPDATE sessions SET last_used_at = now() - interval '30 seconds' WHERE id = '{id}'")).await;
    let org = create_org(&app, &me, "Acme").await;
    assert_eq!(app.get("/me", Some(&me)).await.status, 200);
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(&me)).await.status, 200);
    assert!(seconds(&app, &idle).await >= 30.0, "no write within the minute");

    // Org routes touch it the same way.
    app.sql(&format!("UPDATE sessions SET last_used_at = now() - interval '2 minutes' WHERE id = '{id}'")).await;
    assert_eq!(app.get(&format!("/orgs/{org}/members"), Some(&me)).await.status, 200);
    assert!(seconds(&app, &idle).await < 5.0);
}

#[tokio::test]
async fn platform_admins_list_and_end_any_users_sessions() {
    let app = app().await;
    let root = crate::platform_admin(&app).await;
    let (bob, bob_refresh) = app.signed_in("bob@example.com", PASSWORD).await;
    let (bob_laptop, _) = app.login("bob@example.com", PASSWORD).await;
    let (carol, _) = app.signed_in("carol@example.com", PASSWORD).await;
    let bob_id = user_id(&app, &bob);

    let res = app.get(&format!("/users/{bob_id}/sessions"), Some(&root)).await;
    assert_eq!(res.status, 200, "{}", res.json);
    let items = res.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|s| s["is_current"] == false), "none is the admin's own");

    // A session of one user is no session of another's.
    let wrong = app
        .call(
            Method::DELETE,
            format!("/users/{}/sessions/{}", user_id(&app, &carol), sid(&app, &bob)),
            None,
            Some(&root),
        )
        .await;
    wrong.assert_problem(404);
    assert_eq!(app.get("/me", Some(&bob)).await.status, 200);

    let ended =
        app.call(Method::DELETE, format!("/users/{bob_id}/sessions/{}", sid(&app, &bob)), None, Some(&root)).await;
    assert_eq!(ended.status, 204, "{}", ended.json);
    app.get("/me", Some(&bob)).await.assert_problem(401);
    app.post("/auth/refresh", json!({"refresh_token": bob_refresh})).await.assert_problem(401);
    assert_eq!(app.get("/me", Some(&bob_laptop)).await.status, 200);
    let audit = app.sql("SELECT actor_id FROM audit_log WHERE action = 'session.revoked'").await;
    assert_eq!(audit[0].get::<_, Uuid>(0), user_id(&app, &root), "the admin is the actor");

    app.get(&format!("/users/{}/sessions", Uuid::now_v7()), Some(&root)).await.assert_problem(404);
    app.get("/users/not-a-uuid/sessions", Some(&root)).await.assert_problem(404);
    app.call(Method::DELETE, format!("/users/{bob_id}/sessions/not-a-uuid"), None, Some(&root))
        .await
        .assert_problem(404);
    // Everyone else is refused before anything is looked up.
    app.get(&format!("/users/{bob_id}/sessions"), Some(&carol)).await.assert_problem(403);
    let refused = app
        .call(Method::DELETE, format!("/users/{bob_id}/sessions/{}", sid(&app, &bob_laptop)), None, Some(&carol))
        .await;
    refused.assert_problem(403);
    assert_eq!(app.get("/me", Some(&bob_laptop)).await.status, 200);
}

#[tokio::test]
async fn patch_me_changes_the_name_and_never_what_the_user_may_not_set() {
    let app = app().await;
    let (me, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let patch = |body: Value| app.call(Method::PATCH, "/me", Some(body), Some(&me));
    let res = patch(json!({"name": "  Ada Lovelace  "})).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.json["name"], "Ada Lovelace");
    assert_eq!(app.get("/me", Some(&me)).await.json["name"], "Ada Lovelace");

    for (body, field) in [
        (json!({"name": "Root", "is_platform_admin": true}), "is_platform_admin"),
        (json!({"name": "Root", "email": "root@example.com"}), "email"),
        (json!({"name": "Root", "status": "active"}), "status"),
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": 5}), "name"),
    ] {
        let res = patch(body.clone()).await;
        let problem = res.assert_problem(422);
        let fields: Vec<&str> =
            problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&field), "{body}: {problem}");
    }
    // Nothing of a refused body was applied, not even the name beside the refused field.
    let row = app.sql("SELECT name, is_platform_admin, email, status FROM users").await;
    assert_eq!(row[0].get::<_, String>(0), "Ada Lovelace");
    assert!(!row[0].get::<_, bool>(1));
    assert_eq!(row[0].get::<_, String>(2), "ada@example.com");
    assert_eq!(row[0].get::<_, String>(3), "active");
    app.call(Method::PATCH, "/me", Some(json!({"name": "X"})), None).await.assert_problem(401);
}
