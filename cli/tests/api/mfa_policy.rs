//! An org that requires a second factor: who may turn it on, the audit row, the 403 of its own
//! type on that org's routes and for its org-scoped tokens, and nothing changed elsewhere.

use axum::http::Method;
use serde_json::json;

use crate::{PASSWORD, app, create_org, user_id};

const MFA_REQUIRED: &str = "urn:identity-api:problem:mfa-required";

#[tokio::test]
async fn members_without_a_second_factor_get_a_403_of_its_own_type_until_they_enrol() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let relaxed = create_org(&app, &owner, "Relaxed").await;
    let (member, member_refresh) = app.signed_in("mia@example.com", PASSWORD).await;
    app.add_member(org, user_id(&app, &member), &["member"]).await;
    app.add_member(relaxed, user_id(&app, &member), &["member"]).await;

    // A member cannot set the policy; the owner can, and it is audited.
    let on = json!({"require_mfa": true});
    let denied = app.call(Method::PATCH, format!("/orgs/{org}"), Some(on.clone()), Some(&member)).await;
    assert_eq!(denied.assert_problem(403)["type"], "urn:identity-api:problem:forbidden");
    let set = app.call(Method::PATCH, format!("/orgs/{org}"), Some(on.clone()), Some(&owner)).await;
    assert_eq!(set.status, 200, "{}", set.json);
    assert_eq!(set.json["require_mfa"], true);
    let audit = app.sql("SELECT metadata FROM audit_log WHERE action = 'org.mfa_policy_changed'").await;
    assert_eq!(audit[0].get::<_, serde_json::Value>(0), json!({"before": false, "after": true}));
    // Setting it again changes nothing and writes no second row.
    app.call(Method::PATCH, format!("/orgs/{org}"), Some(on), Some(&owner)).await;
    assert_eq!(app.sql("SELECT 1 FROM audit_log WHERE action = 'org.mfa_policy_changed'").await.len(), 1);

    // The owner too has no factor yet: every route of that org answers the distinct 403.
    for (who, token) in [("member", &member), ("owner", &owner)] {
        for path in [format!("/orgs/{org}"), format!("/orgs/{org}/members"), format!("/orgs/{org}/roles")] {
            let res = app.get(&path, Some(token)).await;
            assert_eq!(res.assert_problem(403)["type"], MFA_REQUIRED, "{who} {path}");
        }
    }
    // Other orgs, and the account's own routes, are unaffected.
    assert_eq!(app.get(&format!("/orgs/{relaxed}"), Some(&member)).await.status, 200);
    assert_eq!(app.get("/me", Some(&member)).await.status, 200);
    // A stranger still cannot tell the org exists.
    let (stranger, _) = app.signed_in("sam@example.com", PASSWORD).await;
    app.get(&format!("/orgs/{org}"), Some(&stranger)).await.assert_problem(404);

    // No org-scoped tokens either: not by login, not by refresh.
    let login = app.post("/auth/login", json!({"email": "mia@example.com", "password": PASSWORD, "org_id": org})).await;
    assert_eq!(login.assert_problem(403)["type"], MFA_REQUIRED);
    let refresh = app.post("/auth/refresh", json!({"refresh_token": member_refresh, "org_id": org})).await;
    assert_eq!(refresh.assert_problem(403)["type"], MFA_REQUIRED);
    // ... and the refused refresh left the token usable.
    let plain = app.post("/auth/refresh", json!({"refresh_token": member_refresh})).await;
    assert_eq!(plain.status, 200, "{}", plain.json);

    // Enrolling (this session proves the code) opens the org's routes and its tokens.
    let factor = app.enrol_totp(&member, PASSWORD).await;
    assert_eq!(app.get(&format!("/orgs/{org}/members"), Some(&member)).await.status, 200);
    let (access, refresh) = app.login_with_code("mia@example.com", PASSWORD, &factor).await;
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(&access)).await.status, 200);
    let scoped = app.post("/auth/refresh", json!({"refresh_token": refresh, "org_id": org})).await;
    assert_eq!(scoped.status, 200, "{}", scoped.json);
    let claims = app.state.jwt().verify(scoped.json["access_token"].as_str().unwrap()).unwrap();
    assert_eq!((claims.org_id, claims.amr), (Some(org), vec!["pwd".to_owned(), "otp".to_owned()]));
}

#[tokio::test]
async fn a_session_scoped_to_an_org_that_starts_requiring_mfa_refreshes_unscoped() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let (member, refresh) = app.signed_in("mia@example.com", PASSWORD).await;
    app.add_member(org, user_id(&app, &member), &["member"]).await;
    let scoped = app.post("/auth/refresh", json!({"refresh_token": refresh, "org_id": org})).await;
    assert_eq!(scoped.status, 200);
    app.enrol_totp(&owner, PASSWORD).await;
    let res = app.call(Method::PATCH, format!("/orgs/{org}"), Some(json!({"require_mfa": true})), Some(&owner)).await;
    assert_eq!(res.status, 200, "an owner whose session proved a code sets it: {}", res.json);
    let next = app.post("/auth/refresh", json!({"refresh_token": scoped.json["refresh_token"]})).await;
    assert_eq!(next.status, 200, "{}", next.json);
    let claims = app.state.jwt().verify(next.json["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims.org_id, None, "the org's tokens stop at once");
}
