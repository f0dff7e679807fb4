//! The invitation workflow end to end, with mail through the real SES client and emulator.

use std::sync::Arc;

use axum::http::Method;
use identity_testkit::{TestApp, ses};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{PASSWORD, app, app_with_ses, create_org, unique, user_id};

struct Org {
    app: TestApp,
    owner: String,
    org: Uuid,
}

async fn org_with(app: TestApp) -> Org {
    let (owner, _) = app.signed_in(&unique("owner"), PASSWORD).await;
    let org = create_org(&app, &owner, "Acme Corp").await;
    Org { app, owner, org }
}

impl Org {
    async fn invite(&self, body: Value) -> identity_testkit::TestResponse {
        self.app.call(Method::POST, format!("/orgs/{}/invitations", self.org), Some(body), Some(&self.owner)).await
    }

    /// Invites and returns (invitation id, token), reading the token from the outbox row
    /// (the log transport keeps it there until the mail is sent... which for log is at once,
    /// so these tests use SES or read the mail).
    async fn invite_and_read(&self, email: &str, roles: Value) -> (Uuid, String) {
        let res = self.invite(json!({"email": email, "roles": roles})).await;
        assert_eq!(res.status, 201, "{}", res.json);
        // Mail goes to the address's canonical (lower-case) form.
        let mails = ses::mails_to(&email.to_lowercase()).await;
        let token = ses::token_in(mails.last().expect("the invitation mail arrived"));
        (res.json["id"].as_str().unwrap().parse().unwrap(), token)
    }
}

#[tokio::test]
async fn invite_mail_preview_and_sign_up_accept() {
    let org = org_with(app_with_ses().await).await;
    let bob = unique("bob");
    let res = org.invite(json!({"email": bob, "roles": ["admin"], "expires_in_days": 3})).await;
    assert_eq!(res.status, 201, "{}", res.json);
    assert_eq!(res.json["status"], "pending");
    assert_eq!(res.json["roles"], json!(["admin"]));
    assert!(!String::from_utf8_lossy(&res.body).contains("token"), "the inviter never sees the token");

    let mails = ses::mails_to(&bob).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    let subject = mail["subject"].as_str().unwrap();
    assert!(subject.starts_with("owner.") && subject.ends_with(" invited you to join Acme Corp"), "{subject}");
    assert_eq!(mail["from"], "Identity <no-reply@identity.test>");
    let text = mail["body"]["text"].as_str().unwrap();
    assert!(
        text.contains("as: admin") && text.contains("https://app.identity.test/invitations/accept?token="),
        "{text}"
    );
    assert!(mail["body"]["html"].as_str().unwrap().contains("Acme Corp"));
    let token = ses::token_in(mail);

    let preview = org.app.post("/invitations/preview", json!({"token": token})).await;
    assert_eq!(preview.status, 200, "{}", preview.json);
    assert_eq!(preview.json["org_name"], "Acme Corp");
    assert!(preview.json["inviter_name"].as_str().unwrap().starts_with("owner."));
    assert_eq!(preview.json["email"], bob.as_str());
    assert_eq!(preview.json["roles"], json!(["admin"]));
    assert_eq!(preview.json["account_exists"], false);
    assert_eq!(preview.json["status"], "pending");

    let accepted =
        org.app.post("/invitations/accept", json!({"token": token, "name": "Bob", "password": PASSWORD})).await;
    assert_eq!(accepted.status, 201, "{}", accepted.json);
    assert_eq!(accepted.json["member"]["roles"], json!(["admin"]));
    assert_eq!(accepted.json["user"]["email_verified"], true);
    assert_eq!(accepted.json["invitation"]["status"], "accepted");
    let access = accepted.json["access_token"].as_str().unwrap();
    let res = org.app.get(&format!("/orgs/{}/members", org.org), Some(access)).await;
    assert_eq!(res.json["items"].as_array().unwrap().len(), 2);

    let audit = org.app.get(&format!("/orgs/{}/audit-log?limit=3", org.org), Some(&org.owner)).await;
    let actions: Vec<&str> =
        audit.json["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["member.added", "invitation.accepted", "invitation.created"]);
    let outbox = org.app.sql("SELECT status, payload ? 'link' FROM email_outbox WHERE template = 'invitation'").await;
    assert_eq!(outbox[0].get::<_, String>(0), "sent");
    assert!(!outbox[0].get::<_, bool>(1), "the token is wiped once the mail is sent");
}

#[tokio::test]
async fn invitations_are_checked_before_they_are_made() {
    let org = org_with(app_with_ses().await).await;
    let member = unique("member");
    let member_token = {
        let (t, _) = org.app.signed_in(&member, PASSWORD).await;
        org.app.add_member(org.org, user_id(&org.app, &t), &["member"]).await;
        t
    };
    let bad = org.invite(json!({"email": "not-an-email", "roles": ["nope"], "expires_in_days": 31})).await;
    let fields: Vec<&str> =
        bad.assert_problem(422)["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["email", "expires_in_days"]);
    org.invite(json!({"email": unique("x"), "roles": ["nope"]})).await.assert_problem(422);
    org.invite(json!({"email": unique("x"), "expires_in_days": 0})).await.assert_problem(422);
    org.invite(json!({"email": member.to_uppercase()})).await.assert_problem(409);
    let carol = unique("carol");
    assert_eq!(org.invite(json!({"email": carol})).await.status, 201);
    org.invite(json!({"email": carol.to_uppercase()})).await.assert_problem(409);
    // A member without invitations:create, and an admin inviting an owner.
    let res = org
        .app
        .call(
            Method::POST,
            format!("/orgs/{}/invitations", org.org),
            Some(json!({"email": unique("y")})),
            Some(&member_token),
        )
        .await;
    res.assert_problem(403);
    let (admin, _) = org.app.signed_in(&unique("admin"), PASSWORD).await;
    org.app.add_member(org.org, user_id(&org.app, &admin), &["admin"]).await;
    let res = org
        .app
        .call(
            Method::POST,
            format!("/orgs/{}/invitations", org.org),
            Some(json!({"email": unique("z"), "roles": ["owner"]})),
            Some(&admin),
        )
        .await;
    res.assert_problem(403);
    assert_eq!(org.app.sql("SELECT 1 FROM invitations").await.len(), 1, "only carol's was made");
}

#[tokio::test]
async fn signed_in_invitees_accept_with_their_token_and_matching_email() {
    let org = org_with(app_with_ses().await).await;
    let dave = unique("dave");
    let (dave_token, _) = org.app.signed_in(&dave, PASSWORD).await;
    let (_, token) = org.invite_and_read(&dave.to_uppercase(), json!(["member"])).await;
    let (eve_token, _) = org.app.signed_in(&unique("eve"), PASSWORD).await;
    let wrong =
        org.app.call(Method::POST, "/invitations/accept", Some(json!({"token": token})), Some(&eve_token)).await;
    assert!(wrong.assert_problem(403)["detail"].as_str().unwrap().contains("another email"));
    let preview = org.app.post("/invitations/preview", json!({"token": token})).await;
    assert_eq!(preview.json["account_exists"], true);
    // Without signing in, an existing account must sign in first.
    let anon = org.app.post("/invitations/accept", json!({"token": token, "name": "D", "password": PASSWORD})).await;
    assert!(anon.assert_problem(409)["detail"].as_str().unwrap().contains("sign in"));
    let ok = org.app.call(Method::POST, "/invitations/accept", Some(json!({"token": token})), Some(&dave_token)).await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    assert!(ok.json.get("access_token").is_none());
    assert_eq!(ok.json["user"]["email_verified"], true, "the mailed token proves the address");
    assert_eq!(org.app.get(&format!("/orgs/{}", org.org), Some(&dave_token)).await.status, 200);
}

#[tokio::test]
async fn every_failing_accept_gets_its_own_clear_answer() {
    let org = org_with(app_with_ses().await).await;
    let accept = |token: String| {
        let app = &org.app;
        async move { app.post("/invitations/accept", json!({"token": token, "name": "N", "password": PASSWORD})).await }
    };
    accept("not-a-token".into()).await.assert_problem(422);
    accept(identity_shared::auth::tokens::generate()).await.assert_problem(404);
    org.app.post("/invitations/accept", json!({"name": "N"})).await.assert_problem(422);

    let (_, expired) = org.invite_and_read(&unique("exp"), json!(["member"])).await;
    org.app
        .sql(
            "UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE ttl_days = 7 AND status = 'pending'",
        )
        .await;
    let res = accept(expired.clone()).await;
    assert!(res.assert_problem(410)["detail"].as_str().unwrap().contains("expired"));

    let (id, revoked) = org.invite_and_read(&unique("rev"), json!(["member"])).await;
    let res =
        org.app.call(Method::POST, format!("/orgs/{}/invitations/{id}/revoke", org.org), None, Some(&org.owner)).await;
    assert_eq!(res.json["status"], "revoked");
    assert!(accept(revoked).await.assert_problem(410)["detail"].as_str().unwrap().contains("revoked"));

    let (_, used) = org.invite_and_read(&unique("used"), json!(["member"])).await;
    assert_eq!(accept(used.clone()).await.status, 201);
    assert!(accept(used).await.assert_problem(409)["detail"].as_str().unwrap().contains("already accepted"));

    let (_, declined) = org.invite_and_read(&unique("dec"), json!(["member"])).await;
    assert_eq!(org.app.post("/invitations/decline", json!({"token": declined})).await.json["status"], "declined");
    assert!(accept(declined.clone()).await.assert_problem(409)["detail"].as_str().unwrap().contains("declined"));
    org.app.post("/invitations/decline", json!({"token": declined})).await.assert_problem(409);
    org.app.post("/invitations/preview", json!({"token": "short"})).await.assert_problem(422);
    // Nothing half-written: only the one successful signup made an account.
    assert_eq!(org.app.sql("SELECT 1 FROM users").await.len(), 2);
}

#[tokio::test]
async fn resend_rotates_the_token_and_revoke_ends_it() {
    let org = org_with(app_with_ses().await).await;
    let frank = unique("frank");
    let (id, first) = org.invite_and_read(&frank, json!(["member"])).await;
    org.app.sql("UPDATE invitations SET expires_at = now() + interval '1 hour'").await;
    let resent =
        org.app.call(Method::POST, format!("/orgs/{}/invitations/{id}/resend", org.org), None, Some(&org.owner)).await;
    assert_eq!(resent.status, 200, "{}", resent.json);
    let expires: chrono::DateTime<chrono::Utc> = resent.json["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(expires > chrono::Utc::now() + chrono::Duration::days(6), "expiry extended");
    let mails = ses::mails_to(&frank).await;
    assert_eq!(mails.len(), 2);
    let second = ses::token_in(&mails[1]);
    assert_ne!(first, second);
    org.app.post("/invitations/preview", json!({"token": first})).await.assert_problem(404);
    assert_eq!(org.app.post("/invitations/preview", json!({"token": second})).await.status, 200);

    let revoke = format!("/orgs/{}/invitations/{id}/revoke", org.org);
    assert_eq!(org.app.call(Method::POST, revoke.clone(), None, Some(&org.owner)).await.status, 200);
    org.app.call(Method::POST, revoke, None, Some(&org.owner)).await.assert_problem(410);
    org.app
        .call(Method::POST, format!("/orgs/{}/invitations/{id}/resend", org.org), None, Some(&org.owner))
        .await
        .assert_problem(410);
    let audit = org.app.get(&format!("/orgs/{}/audit-log?limit=3", org.org), Some(&org.owner)).await;
    let actions: Vec<&str> =
        audit.json["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["invitation.revoked", "invitation.resent", "invitation.created"]);
}

#[tokio::test]
async fn lists_filter_by_status_and_expired_ones_read_as_expired() {
    let org = org_with(app().await).await;
    for i in 0..5 {
        assert_eq!(org.invite(json!({"email": format!("p{i}@example.com")})).await.status, 201);
    }
    org.app.sql("UPDATE invitations SET expires_at = now() - interval '1 second' WHERE email = 'p0@example.com'").await;
    let list = |query: &str| {
        let path = format!("/orgs/{}/invitations{query}", org.org);
        let app = &org.app;
        let owner = org.owner.clone();
        async move { app.get(&path, Some(&owner)).await }
    };
    let pending = list("?status=pending&limit=2").await;
    assert_eq!(pending.json["items"].as_array().unwrap().len(), 2);
    let next = pending.json["next_cursor"].as_str().unwrap();
    let rest = list(&format!("?status=pending&limit=2&cursor={next}")).await;
    assert_eq!(rest.json["items"].as_array().unwrap().len(), 2);
    assert_eq!(rest.json["next_cursor"], Value::Null);
    let expired = list("?status=expired").await;
    assert_eq!(expired.json["items"][0]["email"], "p0@example.com");
    list("?status=bogus").await.assert_problem(422);
    list("?status=").await.assert_problem(422);
    let id = expired.json["items"][0]["id"].as_str().unwrap();
    let one = org.app.get(&format!("/orgs/{}/invitations/{id}", org.org), Some(&org.owner)).await;
    assert_eq!(one.json["status"], "expired");
    // An expired invitation does not block a new one.
    assert_eq!(org.invite(json!({"email": "P0@example.com"})).await.status, 201);
    org.app
        .get(&format!("/orgs/{}/invitations/{}", org.org, Uuid::now_v7()), Some(&org.owner))
        .await
        .assert_problem(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_simultaneous_accepts_make_exactly_one_member() {
    let org = org_with(app_with_ses().await).await;
    let grace = unique("grace");
    let (grace_token, _) = org.app.signed_in(&grace, PASSWORD).await;
    let (_, token) = org.invite_and_read(&grace, json!(["member"])).await;
    let app = Arc::new(org.app);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (app, token, bearer) = (app.clone(), token.clone(), grace_token.clone());
            tokio::spawn(async move {
                app.call(Method::POST, "/invitations/accept", Some(json!({"token": token})), Some(&bearer)).await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        let res = task.await.unwrap();
        match res.status.as_u16() {
            200 => ok += 1,
            409 => {
                res.assert_problem(409);
            }
            other => panic!("unexpected {other}: {}", res.json),
        }
    }
    assert_eq!(ok, 1);
    let members = app.sql(&format!("SELECT count(*) FROM memberships WHERE org_id = '{}'", org.org)).await;
    assert_eq!(members[0].get::<_, i64>(0), 2, "owner and grace, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_simultaneous_sign_up_accepts_make_exactly_one_account() {
    let org = org_with(app_with_ses().await).await;
    let heidi = unique("heidi");
    let (_, token) = org.invite_and_read(&heidi, json!(["member"])).await;
    let app = Arc::new(org.app);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move {
                app.post("/invitations/accept", json!({"token": token, "name": "Heidi", "password": PASSWORD})).await
            })
        })
        .collect();
    let mut statuses = vec![];
    for task in tasks {
        statuses.push(task.await.unwrap().status.as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| [201, 409].contains(s)), "{statuses:?}");
    let users = app.sql(&format!("SELECT count(*) FROM users WHERE lower(email) = lower('{heidi}')")).await;
    assert_eq!(users[0].get::<_, i64>(0), 1);
}

#[tokio::test]
async fn my_invitations_need_a_verified_email() {
    let org = org_with(app_with_ses().await).await;
    let ivan = unique("ivan");
    let (ivan_token, _) = org.app.unverified_signed_in(&ivan, PASSWORD).await;
    let (id, _) = org.invite_and_read(&ivan, json!(["member"])).await;
    let other = create_org(&org.app, &org.owner, "Beta").await;
    let res = org
        .app
        .call(Method::POST, format!("/orgs/{other}/invitations"), Some(json!({"email": ivan})), Some(&org.owner))
        .await;
    let other_id = res.json["id"].as_str().unwrap().to_owned();

    org.app.get("/me/invitations", Some(&ivan_token)).await.assert_problem(403);
    org.app
        .call(Method::POST, format!("/me/invitations/{id}/accept"), None, Some(&ivan_token))
        .await
        .assert_problem(403);
    // Verify through the mailed link.
    let verify = ses::mails_to(&ivan).await.into_iter().find(|m| m["subject"] == "Confirm your email address").unwrap();
    assert_eq!(org.app.post("/auth/verify-email", json!({"token": ses::token_in(&verify)})).await.status, 200);
    // Proving the address ends the sessions that came before it (the prover owns the account).
    org.app.get("/me", Some(&ivan_token)).await.assert_problem(401);
    let (ivan_token, _) = org.app.login(&ivan, PASSWORD).await;

    let mine = org.app.get("/me/invitations", Some(&ivan_token)).await;
    assert_eq!(mine.status, 200, "{}", mine.json);
    let orgs: Vec<&str> =
        mine.json["items"].as_array().unwrap().iter().map(|i| i["org_name"].as_str().unwrap()).collect();
    assert_eq!(orgs, ["Beta", "Acme Corp"]);
    let accepted = org.app.call(Method::POST, format!("/me/invitations/{id}/accept"), None, Some(&ivan_token)).await;
    assert_eq!(accepted.status, 200, "{}", accepted.json);
    assert_eq!(accepted.json["member"]["roles"], json!(["member"]));
    let declined =
        org.app.call(Method::POST, format!("/me/invitations/{other_id}/decline"), None, Some(&ivan_token)).await;
    assert_eq!(declined.json["status"], "declined");
    org.app
        .call(Method::POST, format!("/me/invitations/{id}/accept"), None, Some(&ivan_token))
        .await
        .assert_problem(409);
    assert!(org.app.get("/me/invitations", Some(&ivan_token)).await.json["items"].as_array().unwrap().is_empty());
    // Someone else's invitation id is not found for this user.
    let judy = unique("judy");
    let res = org
        .app
        .call(Method::POST, format!("/orgs/{}/invitations", org.org), Some(json!({"email": judy})), Some(&org.owner))
        .await;
    let judy_id = res.json["id"].as_str().unwrap();
    org.app
        .call(Method::POST, format!("/me/invitations/{judy_id}/accept"), None, Some(&ivan_token))
        .await
        .assert_problem(404);
}
