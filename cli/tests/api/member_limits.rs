//! Member limits: set by platform admins, checked when invitations are made and, atomically,
//! when they are accepted.

use std::sync::Arc;

use axum::http::Method;
use identity_testkit::{TestApp, TestResponse, ses};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{PASSWORD, app, app_with_ses, create_org, email, unique, user_id};

struct Org {
    app: TestApp,
    root: String,
    owner: String,
    org: Uuid,
}

async fn org_in(app: TestApp) -> Org {
    let (root, _) = app.signed_in(&unique("root"), PASSWORD).await;
    let root_email = app.get("/me", Some(&root)).await.json["email"].as_str().unwrap().to_owned();
    identity_shared::services::users::grant_platform_admin(app.state.pool(), &email(&root_email)).await.unwrap();
    let (owner, _) = app.signed_in(&unique("owner"), PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    Org { app, root, owner, org }
}

impl Org {
    async fn set_limit(&self, token: &str, body: Value) -> TestResponse {
        self.app.call(Method::PUT, format!("/orgs/{}/limits", self.org), Some(body), Some(token)).await
    }

    async fn invite(&self, who: &str) -> TestResponse {
        self.app
            .call(
                Method::POST,
                format!("/orgs/{}/invitations", self.org),
                Some(json!({"email": who})),
                Some(&self.owner),
            )
            .await
    }

    async fn members(&self) -> i64 {
        self.app.sql(&format!("SELECT count(*) FROM memberships WHERE org_id = '{}'", self.org)).await[0].get(0)
    }
}

#[tokio::test]
async fn only_platform_admins_set_the_limit_and_it_is_checked() {
    let org = org_in(app().await).await;
    org.set_limit(&org.owner, json!({"max_members": 5})).await.assert_problem(403);
    let patched = org
        .app
        .call(Method::PATCH, format!("/orgs/{}", org.org), Some(json!({"max_members": 500})), Some(&org.owner))
        .await;
    assert_eq!(patched.assert_problem(422)["errors"][0]["field"], "max_members", "owners cannot raise their own limit");

    let res = org.set_limit(&org.root, json!({"max_members": 5})).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.json["max_members"], 5);
    assert_eq!(org.app.get(&format!("/orgs/{}", org.org), Some(&org.owner)).await.json["max_members"], 5);
    for bad in [
        json!({}),
        json!({"max_members": 0}),
        json!({"max_members": 1_000_001}),
        json!({"max_members": "5"}),
        json!({"max_members": 2.5}),
    ] {
        let res = org.set_limit(&org.root, bad.clone()).await;
        assert_eq!(res.assert_problem(422)["errors"][0]["field"], "max_members", "{bad}");
    }
    let cleared = org.set_limit(&org.root, json!({"max_members": null})).await;
    assert_eq!(cleared.status, 200);
    assert_eq!(cleared.json["max_members"], Value::Null);
    let nowhere = org
        .app
        .call(Method::PUT, format!("/orgs/{}/limits", Uuid::now_v7()), Some(json!({"max_members": 5})), Some(&org.root))
        .await;
    nowhere.assert_problem(404);

    let log = org
        .app
        .sql(&format!("SELECT actor_id, metadata FROM audit_log WHERE org_id = '{}' AND action = 'org.limits_changed' ORDER BY id", org.org))
        .await;
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].get::<_, Uuid>(0), user_id(&org.app, &org.root));
    assert_eq!(log[0].get::<_, Value>(1), json!({"before": {"max_members": null}, "after": {"max_members": 5}}));
    assert_eq!(log[1].get::<_, Value>(1), json!({"before": {"max_members": 5}, "after": {"max_members": null}}));
}

#[tokio::test]
async fn invitations_beyond_the_limit_are_refused_when_made() {
    let org = org_in(app().await).await;
    assert_eq!(org.set_limit(&org.root, json!({"max_members": 2})).await.status, 200);
    let first = org.invite("a@example.com").await;
    assert_eq!(first.status, 201, "{}", first.json);
    // One member and one seat promised: the org is full.
    let refused = org.invite("b@example.com").await;
    let detail = refused.assert_problem(409)["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("2 seats"), "{detail}");
    let id = first.json["id"].as_str().unwrap();
    let revoked =
        org.app.call(Method::POST, format!("/orgs/{}/invitations/{id}/revoke", org.org), None, Some(&org.owner)).await;
    assert_eq!(revoked.status, 200);
    assert_eq!(org.invite("b@example.com").await.status, 201, "a revoked invitation frees its seat");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_sixteen_simultaneous_accepts_into_the_last_seat_exactly_one_joins() {
    let org = org_in(app().await).await;
    let mut invitees = vec![];
    for n in 0..16 {
        let who = format!("guest{n}@example.com");
        let invitation = org.invite(&who).await;
        assert_eq!(invitation.status, 201, "{}", invitation.json);
        let (token, _) = org.app.signed_in(&who, PASSWORD).await;
        invitees.push((token, invitation.json["id"].as_str().unwrap().to_owned()));
    }
    org.app.sql("UPDATE users SET email_verified_at = now()").await;
    // Invitations made before the limit was set may outnumber its seats; accepting checks again.
    assert_eq!(org.set_limit(&org.root, json!({"max_members": 2})).await.status, 200);
    let app = Arc::new(org.app);
    let tasks: Vec<_> = invitees
        .into_iter()
        .map(|(token, id)| {
            let app = app.clone();
            tokio::spawn(async move {
                app.call(Method::POST, format!("/me/invitations/{id}/accept"), None, Some(&token)).await
            })
        })
        .collect();
    let mut joined = 0;
    for task in tasks {
        let res = task.await.unwrap();
        match res.status.as_u16() {
            200 => joined += 1,
            409 => assert!(res.assert_problem(409)["detail"].as_str().unwrap().contains("full"), "{}", res.json),
            other => panic!("unexpected {other}: {}", res.json),
        }
    }
    assert_eq!(joined, 1);
    let members: i64 =
        app.sql(&format!("SELECT count(*) FROM memberships WHERE org_id = '{}'", org.org)).await[0].get(0);
    assert_eq!(members, 2);
    let pending: i64 = app.sql("SELECT count(*) FROM invitations WHERE status = 'pending'").await[0].get(0);
    assert_eq!(pending, 15, "a refused accept leaves its invitation as it was");
}

#[tokio::test]
async fn a_sign_up_accept_into_a_full_org_creates_no_account() {
    let org = org_in(app_with_ses().await).await;
    let kim = unique("kim");
    assert_eq!(org.invite(&kim).await.status, 201);
    let token = ses::token_in(ses::mails_to(&kim).await.last().unwrap());
    assert_eq!(org.set_limit(&org.root, json!({"max_members": 1})).await.status, 200);
    let res = org.app.post("/invitations/accept", json!({"token": token, "name": "Kim", "password": PASSWORD})).await;
    res.assert_problem(409);
    let accounts: i64 = org.app.sql(&format!("SELECT count(*) FROM users WHERE email = '{kim}'")).await[0].get(0);
    assert_eq!(accounts, 0, "nothing is half-written");
    assert_eq!(org.members().await, 1);
    // Once a seat is there, the same link works.
    assert_eq!(org.set_limit(&org.root, json!({"max_members": 2})).await.status, 200);
    let res = org.app.post("/invitations/accept", json!({"token": token, "name": "Kim", "password": PASSWORD})).await;
    assert_eq!(res.status, 201, "{}", res.json);
    assert_eq!(org.members().await, 2);
}
