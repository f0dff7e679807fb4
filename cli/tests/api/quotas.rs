//! Quotas on what mails or grows without bound: each answers 429 with Retry-After and a
//! problem of type `quota-exceeded` naming the quota, counted exactly under concurrency.

use std::sync::Arc;

use axum::http::Method;
use identity_testkit::TestResponse;
use serde_json::json;

use crate::{PASSWORD, app_with, create_org, unique};

fn assert_quota(res: &TestResponse, quota: &str) {
    let problem = res.assert_problem(429);
    assert_eq!(problem["type"], "urn:identity-api:problem:quota-exceeded", "{problem}");
    assert_eq!(problem["quota"], quota, "{problem}");
    let wait: u64 = res.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
}

#[tokio::test]
async fn one_invitation_is_resent_only_so_often_and_an_org_invites_only_so_many_an_hour() {
    let app = app_with(&[("QUOTA_RESENDS_PER_INVITATION_HOUR", "3"), ("QUOTA_INVITATIONS_PER_ORG_HOUR", "6")]).await;
    let (owner, _) = app.signed_in(&unique("owner"), PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let body = json!({"email": "stranger@example.com"});
    let invited = app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(body), Some(&owner)).await;
    let id = invited.json["id"].as_str().unwrap().to_owned();
    let resend = format!("/orgs/{org}/invitations/{id}/resend");
    let mut statuses = vec![];
    for _ in 0..40 {
        statuses.push(app.call(Method::POST, &resend, None, Some(&owner)).await);
    }
    assert!(statuses[..3].iter().all(|r| r.status == 200));
    for refused in &statuses[3..] {
        assert_quota(refused, "resends_per_invitation_hour");
    }
    let mails = "SELECT count(*) FROM email_outbox WHERE recipient = 'stranger@example.com'";
    assert_eq!(app.sql(mails).await[0].get::<_, i64>(0), 4, "the invitation and three resends, no more");
    // The org has used 4 of its 6 an hour: two more invitations, then none.
    for n in 0..2 {
        let body = json!({"email": format!("more{n}@example.com")});
        assert_eq!(
            app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(body), Some(&owner)).await.status,
            201
        );
    }
    let body = json!({"email": "one.too.many@example.com"});
    assert_quota(
        &app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(body), Some(&owner)).await,
        "invitations_per_org_hour",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_invitations_at_once_against_a_quota_of_ten_make_ten() {
    let app = Arc::new(app_with(&[("QUOTA_INVITATIONS_PER_ORG_HOUR", "10")]).await);
    let (owner, _) = app.signed_in(&unique("owner"), PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let tasks: Vec<_> = (0..32)
        .map(|n| {
            let (app, owner) = (app.clone(), owner.clone());
            tokio::spawn(async move {
                let body = json!({"email": format!("guest{n}@example.com")});
                app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(body), Some(&owner))
                    .await
                    .status
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = vec![];
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 22, "{statuses:?}");
}

#[tokio::test]
async fn email_changes_organizations_and_roles_have_quotas() {
    let app = app_with(&[
        ("QUOTA_EMAIL_CHANGES_PER_USER_HOUR", "2"),
        ("QUOTA_ORGS_PER_USER", "2"),
        ("QUOTA_ROLES_PER_ORG", "1"),
    ])
    .await;
    let (token, _) = app.signed_in(&unique("ada"), PASSWORD).await;
    for n in 0..2 {
        let body = json!({"new_email": unique(&format!("next{n}")), "password": PASSWORD});
        assert_eq!(app.call(Method::POST, "/me/email", Some(body), Some(&token)).await.status, 202);
    }
    let body = json!({"new_email": unique("third"), "password": PASSWORD});
    assert_quota(&app.call(Method::POST, "/me/email", Some(body), Some(&token)).await, "email_changes_per_user_hour");

    let org = create_org(&app, &token, "One").await;
    create_org(&app, &token, "Two").await;
    let third = app.call(Method::POST, "/orgs", Some(json!({"name": "Three"})), Some(&token)).await;
    assert_quota(&third, "orgs_per_user");
    // Deleting one makes room again.
    assert_eq!(app.call(Method::DELETE, format!("/orgs/{org}"), None, Some(&token)).await.status, 204);
    let org = create_org(&app, &token, "Three").await;

    let role = |name: &str| json!({"name": name, "permissions": ["org:read"]});
    assert_eq!(
        app.call(Method::POST, format!("/orgs/{org}/roles"), Some(role("first")), Some(&token)).await.status,
        201
    );
    let second = app.call(Method::POST, format!("/orgs/{org}/roles"), Some(role("second")), Some(&token)).await;
    assert_quota(&second, "roles_per_org");
}

#[tokio::test]
async fn a_new_session_beyond_the_quota_ends_the_oldest() {
    let app = app_with(&[("QUOTA_SESSIONS_PER_USER", "3")]).await;
    let ada = unique("ada");
    app.user(&ada, PASSWORD).await;
    let mut sessions = vec![];
    for _ in 0..5 {
        sessions.push(app.login(&ada, PASSWORD).await.0);
    }
    let mut live = vec![];
    for token in &sessions {
        live.push(app.get("/me", Some(token)).await.status.as_u16());
    }
    assert_eq!(live, [401, 401, 200, 200, 200], "the two oldest ended");
}
