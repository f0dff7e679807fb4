//! The events feed: every audited change writes an event in its own transaction, and a reader
//! paging with `after` sees each event exactly once, whenever its transaction commits.

use std::collections::BTreeSet;

use axum::http::Method;
use identity_shared::models::AuditAction;
use identity_shared::services::audit::{self, Attribution};
use serde_json::json;
use uuid::Uuid;

use crate::{PASSWORD, app, create_org};

#[tokio::test]
async fn a_change_writes_its_event_and_a_rolled_back_one_none() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let role = app
        .call(
            Method::POST,
            &format!("/orgs/{org}/roles"),
            Some(json!({"name": "support", "permissions": ["members:read"]})),
            Some(&owner),
        )
        .await;
    assert_eq!(role.status, 201, "{}", role.json);
    let feed = crate::feed_of(&app, &format!("/orgs/{org}/events"), &owner, 3).await;
    assert_eq!(feed.status, 200, "{}", feed.json);
    let types: Vec<&str> = feed.json["items"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["organization.created", "organization_membership.created", "role.created"], "{}", feed.json);
    let created = &feed.json["items"][2];
    assert_eq!(created["data"]["id"], role.json["id"]);
    assert_eq!(created["organization_id"], org.to_string());
    assert_eq!(created["actor"]["type"], "user");
    assert!(created["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(feed.json["after"], created["id"]);
    // A change rolled back after its audit row leaves no event.
    let mut db = identity_shared::db::client(app.state.pool()).await.unwrap();
    let tx = db.transaction().await.unwrap();
    let who = Attribution { org_id: org, actor_id: None, actor_type: "user", ip: None };
    audit::record(&tx, who, AuditAction::RoleUpdated, Uuid::now_v7(), json!({})).await.unwrap();
    drop(tx);
    let after = feed.json["after"].as_str().unwrap();
    let rest = app.get(&format!("/orgs/{org}/events?after={after}"), Some(&owner)).await;
    assert_eq!(rest.json["items"], json!([]), "{}", rest.json);
    assert_eq!(rest.json["after"], after, "an empty page keeps the reader's place");
    // Only the organization's readers read it; types filter; bad queries are 422.
    let (stranger, _) = app.signed_in("stranger@example.com", PASSWORD).await;
    app.get(&format!("/orgs/{org}/events"), Some(&stranger)).await.assert_problem(404);
    let only = app.get(&format!("/orgs/{org}/events?types=role.created"), Some(&owner)).await;
    assert_eq!(only.json["items"].as_array().unwrap().len(), 1);
    for bad in ["types=nope.created", "limit=0", "limit=101", "after=evt_unknown", "after=123"] {
        app.get(&format!("/orgs/{org}/events?{bad}"), Some(&owner)).await.assert_problem(422);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_paging_with_after_sees_every_event_once_whenever_it_commits() {
    const WRITERS: usize = 8;
    const EACH: usize = 6;
    let app = std::sync::Arc::new(app().await);
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let app = app.clone();
        writers.spawn(async move {
            for i in 0..EACH {
                let mut db = identity_shared::db::client(app.state.pool()).await.unwrap();
                let tx = db.transaction().await.unwrap();
                let who = Attribution { org_id: org, actor_id: None, actor_type: "user", ip: None };
                audit::record(&tx, who, AuditAction::RoleUpdated, Uuid::now_v7(), json!({"w": w, "i": i}))
                    .await
                    .unwrap();
                // Commit late, by a different delay each time: later events commit first.
                let delay = (w * 7 + i * 13) % 40;
                tokio::time::sleep(std::time::Duration::from_millis(delay as u64)).await;
                tx.commit().await.unwrap();
            }
        });
    }
    let mut seen: Vec<String> = vec![];
    let mut after: Option<String> = None;
    let expected = WRITERS * EACH + 2; // and the organization's creation, with its owner
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while seen.len() < expected && std::time::Instant::now() < deadline {
        let query = after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default();
        let page = app.get(&format!("/orgs/{org}/events?limit=7{query}"), Some(&owner)).await;
        assert_eq!(page.status, 200, "{}", page.json);
        seen.extend(page.json["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        after = page.json["after"].as_str().map(str::to_owned);
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    writers.join_all().await;
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no event twice");
    let all = app.sql(&format!("SELECT id FROM events WHERE org_id = '{org}'")).await;
    let all: BTreeSet<String> = all.iter().map(|r| r.get(0)).collect();
    assert_eq!(all.len(), expected);
    let missed: Vec<&String> = all.iter().filter(|id| !unique.contains(id)).collect();
    assert!(missed.is_empty(), "the reader passed over {} events that committed late: {missed:?}", missed.len());
}

#[tokio::test]
async fn platform_clients_with_events_read_read_the_platform_feed_and_nobody_else_does() {
    let app = app().await;
    let admin = crate::platform_admin(&app).await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let token = |path: String, body: serde_json::Value, by: String| {
        let app = &app;
        async move {
            let made = app.call(Method::POST, &path, Some(body), Some(&by)).await;
            assert_eq!(made.status, 201, "{}", made.json);
            let (id, secret) = (made.json["client_id"].as_str().unwrap(), made.json["client_secret"].as_str().unwrap());
            let granted =
                crate::oauth::form(app, "/oauth2/token", "grant_type=client_credentials", Some((id, secret))).await;
            assert_eq!(granted.status, 200, "{}", granted.json);
            (id.to_owned(), secret.to_owned(), granted.json["access_token"].as_str().unwrap().to_owned())
        }
    };
    let (reader_id, reader_secret, reader) =
        token("/oauth2/clients".into(), json!({"name": "sync", "permissions": ["events:read"]}), admin.clone()).await;
    let (_, _, other) =
        token("/oauth2/clients".into(), json!({"name": "other", "permissions": ["org:read"]}), admin.clone()).await;
    let (_, _, org_client) =
        token(format!("/orgs/{org}/clients"), json!({"name": "c", "permissions": ["events:read"]}), owner.clone())
            .await;
    let key = app
        .call(
            Method::POST,
            &format!("/orgs/{org}/api-keys"),
            Some(json!({"name": "k", "permissions": ["events:read"]})),
            Some(&owner),
        )
        .await
        .json["value"]
        .as_str()
        .unwrap()
        .to_owned();

    let feed = crate::feed_of(&app, "/events?types=organization.created", &reader, 1).await;
    assert_eq!(feed.status, 200, "{}", feed.json);
    assert_eq!(feed.json["items"][0]["organization_id"], org.to_string(), "every organization's events");
    assert_eq!(app.get("/events", Some(&admin)).await.status, 200);
    for (who, bearer) in [
        ("a user", &owner),
        ("a platform client without events:read", &other),
        ("an org's client", &org_client),
        ("an API key", &key),
    ] {
        assert_eq!(app.get("/events", Some(bearer)).await.assert_problem(403)["status"], 403, "{who}");
    }
    let mut forged = reader.clone();
    forged.pop();
    app.get("/events", Some(&forged)).await.assert_problem(401);
    // Revoked, the reader's token stops at once.
    let revoked =
        crate::oauth::form(&app, "/oauth2/revoke", &format!("token={reader}"), Some((&reader_id, &reader_secret)))
            .await;
    assert_eq!(revoked.status, 200);
    app.get("/events", Some(&reader)).await.assert_problem(401);
}

#[tokio::test]
async fn user_events_carry_the_email_until_the_account_is_deleted() {
    let app = app().await;
    let admin = crate::platform_admin(&app).await;
    let (ada, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let created = crate::feed_of(&app, "/events?types=user.created", &admin, 2).await;
    let ada_created = created.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["data"]["email"] == "ada@example.com")
        .unwrap_or_else(|| panic!("user.created with the email: {}", created.json))
        .clone();
    assert_eq!(ada_created["actor"]["type"], "user");
    let gone = app.call(Method::DELETE, "/me", Some(json!({"password": PASSWORD})), Some(&ada)).await;
    assert_eq!(gone.status, 204, "{}", gone.json);
    let rows = app.sql("SELECT data::text FROM events").await;
    assert!(rows.iter().all(|r| !r.get::<_, String>(0).contains("ada@example.com")), "no event keeps the address");
    let deleted = crate::feed_of(&app, "/events?types=user.deleted", &admin, 1).await;
    assert_eq!(deleted.json["items"][0]["data"]["id"], ada_created["data"]["id"]);
}
