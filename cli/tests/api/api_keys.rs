//! Organization API keys: made once, used as a bearer on their org's routes with their own
//! permissions, refused on the next request once revoked or expired, rotated with an overlap,
//! and never shown again, logged or audited by value.

use axum::http::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{PASSWORD, app, create_org, user_id};
use identity_testkit::TestApp;

/// Makes a key as `token`'s holder; returns the answer's JSON (with `value`).
async fn make_key(app: &TestApp, token: &str, org: Uuid, body: Value) -> Value {
    let res = app.call(Method::POST, &format!("/orgs/{org}/api-keys"), Some(body), Some(token)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    res.json
}

#[tokio::test]
async fn a_key_acts_on_its_org_with_its_permissions_and_nowhere_else() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let other = create_org(&app, &owner, "Other").await;
    let key = make_key(&app, &owner, org, json!({"name": "reader", "permissions": ["org:read", "members:read"]})).await;
    let value = key["value"].as_str().unwrap();
    assert!(value.starts_with("idn_ak_"), "{value}");
    assert_eq!(key["permissions"], json!(["org:read", "members:read"]), "in catalog order");
    assert_eq!(key["hint"], format!("{}…", &value[..11]));

    // Its permissions: reads work, a write it was not given is 403.
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(value)).await.status, 200);
    assert_eq!(app.get(&format!("/orgs/{org}/members"), Some(value)).await.status, 200);
    let write = app.call(Method::PATCH, &format!("/orgs/{org}"), Some(json!({"name": "Renamed"})), Some(value)).await;
    assert_eq!(write.status, 403, "{}", write.json);
    assert_eq!(app.get(&format!("/orgs/{org}/audit-log"), Some(value)).await.status, 403);

    // Another org of the same owner: the stranger's 404. No /me route, no org creation.
    let elsewhere = app.get(&format!("/orgs/{other}"), Some(value)).await;
    assert_eq!(elsewhere.status, 404, "{}", elsewhere.json);
    let me = app.get("/me", Some(value)).await;
    assert_eq!(me.status, 401);
    assert!(me.json["detail"].as_str().unwrap().contains("API keys act only on their organization's routes"));
    assert_eq!(app.call(Method::POST, "/orgs", Some(json!({"name": "Mine"})), Some(value)).await.status, 401);

    // A flipped checksum character, or a key that never existed, is a 401 without a lookup.
    let mut flipped = value.to_owned();
    let last = flipped.pop().unwrap();
    flipped.push(if last == 'a' { 'b' } else { 'a' });
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(&flipped)).await.status, 401);
}

#[tokio::test]
async fn no_key_holds_more_than_its_maker_and_a_key_manages_only_within_its_own() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let (admin, _) = app.signed_in("admin@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    app.add_member(org, user_id(&app, &admin), &["admin"]).await;
    // An admin lacks org:delete: no key of theirs may hold it.
    let refused = app
        .call(
            Method::POST,
            &format!("/orgs/{org}/api-keys"),
            Some(json!({"name": "x", "permissions": ["org:delete"]})),
            Some(&admin),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.json);
    // A member without api_keys:manage makes none.
    let (member, _) = app.signed_in("member@example.com", PASSWORD).await;
    app.add_member(org, user_id(&app, &member), &["member"]).await;
    let denied = app
        .call(
            Method::POST,
            &format!("/orgs/{org}/api-keys"),
            Some(json!({"name": "x", "permissions": ["org:read"]})),
            Some(&member),
        )
        .await;
    assert_eq!(denied.status, 403);
    // A key that may manage keys makes keys only within its own permissions.
    let manager_key =
        make_key(&app, &owner, org, json!({"name": "ops", "permissions": ["api_keys:manage", "org:read"]})).await;
    let manager = manager_key["value"].as_str().unwrap();
    let wider = app
        .call(
            Method::POST,
            &format!("/orgs/{org}/api-keys"),
            Some(json!({"name": "y", "permissions": ["members:read"]})),
            Some(manager),
        )
        .await;
    assert_eq!(wider.status, 403, "{}", wider.json);
    let narrower = make_key(&app, manager, org, json!({"name": "z", "permissions": ["org:read"]})).await;
    assert_eq!(narrower["created_by"], Value::Null, "a key made by a key has no member maker");
    // The audit log names the key as the actor.
    let log = app.get(&format!("/orgs/{org}/audit-log"), Some(&owner)).await;
    let made_by_key = log.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "api_key.created" && e["target_id"] == narrower["id"])
        .expect("the key's creation is audited");
    assert_eq!(made_by_key["actor_type"], "api_key");
    assert_eq!(made_by_key["actor_id"], manager_key["id"]);
}

#[tokio::test]
async fn revoked_expired_and_changed_keys_take_effect_on_the_next_request() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let key = make_key(&app, &owner, org, json!({"name": "k", "permissions": ["org:read", "members:read"]})).await;
    let (id, value) = (key["id"].as_str().unwrap(), key["value"].as_str().unwrap());
    assert_eq!(app.get(&format!("/orgs/{org}/members"), Some(value)).await.status, 200);

    // Narrowed: the next request has the new permissions.
    let narrowed = app
        .call(
            Method::PATCH,
            &format!("/orgs/{org}/api-keys/{id}"),
            Some(json!({"permissions": ["org:read"]})),
            Some(&owner),
        )
        .await;
    assert_eq!(narrowed.status, 200, "{}", narrowed.json);
    assert_eq!(app.get(&format!("/orgs/{org}/members"), Some(value)).await.status, 403);

    // Revoked: the next request is a 401, and revoking again a 409.
    let revoked = app.call(Method::DELETE, &format!("/orgs/{org}/api-keys/{id}"), None, Some(&owner)).await;
    assert_eq!(revoked.status, 204);
    let after = app.get(&format!("/orgs/{org}"), Some(value)).await;
    assert_eq!(after.status, 401);
    assert_eq!(after.json["detail"], "The API key is invalid, expired or revoked.");
    assert_eq!(app.call(Method::DELETE, &format!("/orgs/{org}/api-keys/{id}"), None, Some(&owner)).await.status, 409);

    // Expired: made live, then its expiry passes.
    let soon = make_key(
        &app,
        &owner,
        org,
        json!({"name": "soon", "permissions": ["org:read"], "expires_at": "2999-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(soon["value"].as_str().unwrap())).await.status, 200);
    app.sql(&format!(
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = '{}'",
        soon["id"].as_str().unwrap()
    ))
    .await;
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(soon["value"].as_str().unwrap())).await.status, 401);

    // An expiry in the past is refused on its field.
    let past = app
        .call(
            Method::POST,
            &format!("/orgs/{org}/api-keys"),
            Some(json!({"name": "p", "permissions": [], "expires_at": "2001-01-01T00:00:00Z"})),
            Some(&owner),
        )
        .await;
    assert_eq!(past.status, 422);
    assert_eq!(past.json["errors"][0]["field"], "expires_at");
}

#[tokio::test]
async fn rotation_keeps_the_old_key_for_the_overlap_only() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let old = make_key(&app, &owner, org, json!({"name": "sync", "permissions": ["org:read"]})).await;
    let (old_id, old_value) = (old["id"].as_str().unwrap(), old["value"].as_str().unwrap());
    let rotate = format!("/orgs/{org}/api-keys/{old_id}/rotate");
    let new = app.call(Method::POST, &rotate, Some(json!({"overlap_seconds": 3600})), Some(&owner)).await;
    assert_eq!(new.status, 201, "{}", new.json);
    assert_eq!(new.header("cache-control"), Some("no-store"));
    let new_value = new.json["value"].as_str().unwrap();
    assert_ne!(new_value, old_value);
    assert_eq!(new.json["name"], "sync");
    // Both work during the overlap; the old one names its heir.
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(old_value)).await.status, 200);
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(new_value)).await.status, 200);
    let old_now = app.get(&format!("/orgs/{org}/api-keys/{old_id}"), Some(&owner)).await;
    assert_eq!(old_now.json["replaced_by"], new.json["id"]);
    assert!(old_now.json["expires_at"].is_string());
    // Rotated once: rotating it again is a 409; the heir rotates with no overlap, at once.
    assert_eq!(app.call(Method::POST, &rotate, None, Some(&owner)).await.status, 409);
    let heir = new.json["id"].as_str().unwrap();
    let third = app
        .call(
            Method::POST,
            &format!("/orgs/{org}/api-keys/{heir}/rotate"),
            Some(json!({"overlap_seconds": 0})),
            Some(&owner),
        )
        .await;
    assert_eq!(third.status, 201);
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(new_value)).await.status, 401);
    // An overlap beyond seven days is refused on its field.
    let too_long = app
        .call(
            Method::POST,
            &format!("/orgs/{org}/api-keys/{}/rotate", third.json["id"].as_str().unwrap()),
            Some(json!({"overlap_seconds": 604801})),
            Some(&owner),
        )
        .await;
    assert_eq!(too_long.status, 422);
}

#[tokio::test]
async fn the_value_is_shown_once_and_never_stored_listed_or_audited() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let key = make_key(&app, &owner, org, json!({"name": "secretive", "permissions": ["org:read"]})).await;
    let value = key["value"].as_str().unwrap().to_owned();
    app.get(&format!("/orgs/{org}"), Some(&value)).await;
    let random = &value[7..];
    for path in [
        format!("/orgs/{org}/api-keys"),
        format!("/orgs/{org}/api-keys/{}", key["id"].as_str().unwrap()),
        format!("/orgs/{org}/audit-log"),
    ] {
        let res = app.get(&path, Some(&owner)).await;
        assert_eq!(res.status, 200);
        assert!(!String::from_utf8_lossy(&res.body).contains(random), "{path} shows the value");
    }
    // The database holds its hash and a hint, not the value: search every text column.
    let dump = app.sql("SELECT string_agg(t::text, ' ') FROM api_keys t").await;
    assert!(!format!("{dump:?}").contains(random));
    let audit = app.sql("SELECT string_agg(t::text, ' ') FROM audit_log t").await;
    assert!(!format!("{audit:?}").contains(random));
    // last_used_at was written by the request above.
    let used = app.get(&format!("/orgs/{org}/api-keys/{}", key["id"].as_str().unwrap()), Some(&owner)).await;
    assert!(used.json["last_used_at"].is_string(), "{}", used.json);
}

#[tokio::test]
async fn an_org_holds_at_most_fifty_active_keys() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let owner_id = user_id(&app, &owner);
    app.sql(&format!(
        "INSERT INTO api_keys (id, org_id, name, permissions, secret_hash, hint, created_by)
         SELECT gen_random_uuid(), '{org}', 'k' || n, '{{}}', sha256(n::text::bytea), 'idn_ak_x…', '{owner_id}' FROM generate_series(1, 50) n"
    ))
    .await;
    let full = app
        .call(
            Method::POST,
            &format!("/orgs/{org}/api-keys"),
            Some(json!({"name": "51st", "permissions": []})),
            Some(&owner),
        )
        .await;
    assert_eq!(full.status, 429, "{}", full.json);
    assert_eq!(full.json["quota"], "api_keys_per_org");
    // A revoked key frees its place.
    app.sql(&format!("UPDATE api_keys SET revoked_at = now() WHERE org_id = '{org}' AND name = 'k1'")).await;
    make_key(&app, &owner, org, json!({"name": "51st", "permissions": []})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_over_its_requests_per_minute_gets_429_with_retry_after_never_401() {
    let app = crate::app_with(&[("QUOTA_API_KEY_REQUESTS_PER_MINUTE", "3")]).await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let key = make_key(&app, &owner, org, json!({"name": "busy", "permissions": ["org:read"]})).await;
    let value = key["value"].as_str().unwrap();
    let other = make_key(&app, &owner, org, json!({"name": "quiet", "permissions": ["org:read"]})).await;
    // One after another: exactly three get through.
    for want in [200, 200, 200, 429] {
        assert_eq!(app.get(&format!("/orgs/{org}"), Some(value)).await.status, want);
    }
    // Forty at once on a fresh count: at least the limit and at most seven more get through
    // (the count is spread over eight rows; each request sees the others as they were).
    app.sql("DELETE FROM request_counters").await;
    let app = std::sync::Arc::new(app);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let (app, value) = (app.clone(), value.to_owned());
        calls.spawn(async move { app.get(&format!("/orgs/{org}"), Some(&value)).await.status.as_u16() });
    }
    let statuses = calls.join_all().await;
    let passed = statuses.iter().filter(|s| **s == 200).count();
    assert!((3..=10).contains(&passed), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 40 - passed, "{statuses:?}");
    let limited = app.get(&format!("/orgs/{org}"), Some(value)).await;
    limited.assert_problem(429);
    let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Each key has its own count; a member's session has none.
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(other["value"].as_str().unwrap())).await.status, 200);
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(&owner)).await.status, 200);
    // The window passes: the key works again.
    app.sql("UPDATE request_counters SET window_start = now() - interval '61 seconds'").await;
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(value)).await.status, 200);
}
