//! Each org's default role: what an invitation without `roles` grants, who may change it,
//! and that it cannot vanish from under the org.

use axum::http::Method;
use identity_testkit::{TestApp, ses};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{PASSWORD, app, app_with_ses, create_org, unique, user_id};

async fn invite(app: &TestApp, org: Uuid, token: &str, body: Value) -> identity_testkit::TestResponse {
    app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(body), Some(token)).await
}

/// Accepts the newest invitation to `email` by signing up; the answer and its access token.
async fn join_by_sign_up(app: &TestApp, email: &str) -> (identity_testkit::TestResponse, String) {
    let mails = ses::mails_to(email).await;
    let token = ses::token_in(mails.last().expect("the invitation mail arrived"));
    let res = app.post("/invitations/accept", json!({"token": token, "name": "New", "password": PASSWORD})).await;
    let access = res.json["access_token"].as_str().unwrap_or_default().to_owned();
    (res, access)
}

#[tokio::test]
async fn an_invitation_without_roles_grants_the_default_role_and_an_empty_list_is_refused() {
    let app = app_with_ses().await;
    let (owner, _) = app.signed_in(&unique("owner"), PASSWORD).await;
    let org = create_org(&app, &owner, "Org").await;
    let got = app.get(&format!("/orgs/{org}"), Some(&owner)).await;
    assert_eq!(got.json["default_role"], "member", "{}", got.json);

    let empty = invite(&app, org, &owner, json!({"email": "none@example.com", "roles": []})).await;
    assert_eq!(empty.assert_problem(422)["errors"][0]["field"], "roles");

    // Absent, or misspelled (an unknown field is ignored, never applied): the default role.
    let (plain, typo) = (unique("plain"), unique("typo"));
    for (email, body) in [(&plain, json!({"email": plain})), (&typo, json!({"email": typo, "role": ["admin"]}))] {
        let res = invite(&app, org, &owner, body).await;
        assert_eq!(res.status, 201, "{}", res.json);
        assert_eq!(res.json["roles"], json!(["member"]));
        let (joined, token) = join_by_sign_up(&app, email).await;
        assert_eq!(joined.status, 201, "{}", joined.json);
        assert_eq!(joined.json["member"]["roles"], json!(["member"]));
        assert_eq!(app.get(&format!("/orgs/{org}"), Some(&token)).await.status, 200, "the new member can read the org");
    }
}

#[tokio::test]
async fn whoever_manages_roles_chooses_the_default_and_it_cannot_be_deleted() {
    let app = app_with_ses().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Org").await;
    let created = app
        .call(
            Method::POST,
            format!("/orgs/{org}/roles"),
            Some(json!({"name": "viewer", "permissions": ["org:read", "members:read"]})),
            Some(&owner),
        )
        .await;
    assert_eq!(created.status, 201);

    // A member (no roles:manage) cannot; an unknown role is a 422.
    let (member, _) = app.signed_in("member@example.com", PASSWORD).await;
    app.add_member(org, user_id(&app, &member), &["member"]).await;
    let path = format!("/orgs/{org}");
    app.call(Method::PATCH, &path, Some(json!({"default_role": "viewer"})), Some(&member)).await.assert_problem(403);
    let unknown = app.call(Method::PATCH, &path, Some(json!({"default_role": "nobody"})), Some(&owner)).await;
    assert_eq!(unknown.assert_problem(422)["errors"][0]["field"], "default_role");
    let empty = app.call(Method::PATCH, &path, Some(json!({"default_role": ""})), Some(&owner)).await;
    assert_eq!(empty.assert_problem(422)["errors"][0]["field"], "default_role");

    let set = app.call(Method::PATCH, &path, Some(json!({"default_role": "viewer"})), Some(&owner)).await;
    assert_eq!((set.status.as_u16(), &set.json["default_role"]), (200, &json!("viewer")), "{}", set.json);
    let audit = app.get(&format!("/orgs/{org}/audit-log"), Some(&owner)).await;
    let updated = audit.json["items"].as_array().unwrap().iter().find(|e| e["action"] == "org.updated").unwrap();
    assert_eq!(updated["metadata"]["after"]["default_role"], "viewer", "{updated}");

    let newcomer = unique("new");
    let res = invite(&app, org, &owner, json!({"email": newcomer})).await;
    assert_eq!(res.json["roles"], json!(["viewer"]), "{}", res.json);
    let (joined, _) = join_by_sign_up(&app, &newcomer).await;
    assert_eq!(joined.json["member"]["roles"], json!(["viewer"]), "{}", joined.json);

    app.call(Method::DELETE, format!("/orgs/{org}/roles/viewer"), None, Some(&owner)).await.assert_problem(409);
    app.call(Method::PATCH, &path, Some(json!({"default_role": "member"})), Some(&owner)).await;
    let deleted = app.call(Method::DELETE, format!("/orgs/{org}/roles/viewer"), None, Some(&owner)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.json);
}

#[tokio::test]
async fn an_inviter_cannot_grant_a_default_role_holding_permissions_they_lack() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Org").await;
    let path = format!("/orgs/{org}");
    app.call(Method::PATCH, &path, Some(json!({"default_role": "admin"})), Some(&owner)).await;
    let (recruiter, _) = app.signed_in("recruiter@example.com", PASSWORD).await;
    let roles = format!("/orgs/{org}/roles");
    let body = json!({"name": "recruiter", "permissions": ["org:read", "invitations:create", "invitations:read"]});
    assert_eq!(app.call(Method::POST, &roles, Some(body), Some(&owner)).await.status, 201);
    app.add_member(org, user_id(&app, &recruiter), &["recruiter"]).await;
    let res = invite(&app, org, &recruiter, json!({"email": "kim@example.com"})).await;
    res.assert_problem(403);
}
