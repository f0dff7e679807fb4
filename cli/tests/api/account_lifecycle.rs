//! Changing the sign-in address by a mailed link, and deleting an account (the user's own, or
//! any by a platform admin), with mail through the real SES client and emulator.

use std::sync::Arc;

use axum::http::Method;
use identity_testkit::{TestApp, TestResponse, ses};
use serde_json::json;
use uuid::Uuid;

use crate::{PASSWORD, app, app_with_ses, create_org, unique, user_id};

async fn change_email(app: &TestApp, token: &str, new_email: &str, password: &str) -> TestResponse {
    app.call(Method::POST, "/me/email", Some(json!({"new_email": new_email, "password": password})), Some(token)).await
}

async fn delete_me(app: &TestApp, token: &str, password: &str) -> TestResponse {
    app.call(Method::DELETE, "/me", Some(json!({"password": password})), Some(token)).await
}

async fn count(app: &TestApp, query: &str) -> i64 {
    app.sql(query).await[0].get(0)
}

#[tokio::test]
async fn changing_the_address_takes_the_mailed_link_and_ends_the_other_sessions() {
    let app = app_with_ses().await;
    let old = unique("nora");
    let new = unique("nora.new");
    let (asking, _) = app.signed_in(&old, PASSWORD).await;
    let (other, other_refresh) = app.login(&old, PASSWORD).await;

    let res = change_email(&app, &asking, &new.to_uppercase(), PASSWORD).await;
    assert_eq!(res.status, 202, "{}", res.json);
    let confirm = ses::mail_with_subject(&new, "Confirm your new email address").await;
    let text = confirm["body"]["text"].as_str().unwrap();
    assert!(text.contains("https://app.identity.test/confirm-email-change?token="), "{text}");
    let notice = ses::mail_with_subject(&old, "Your sign-in address is being changed").await;
    assert!(notice["body"]["text"].as_str().unwrap().contains(&new), "the old address is told where to");
    let notice_text = notice["body"]["text"].as_str().unwrap();
    assert!(!notice_text.contains("confirm-email-change"), "the old address gets no change link");
    assert!(notice_text.contains("/cancel-email-change?token="), "the old address can cancel: {notice_text}");

    // Nothing changes before the link is used.
    assert_eq!(app.get("/me", Some(&asking)).await.json["email"], old.as_str());
    app.login(&old, PASSWORD).await;

    let token = ses::token_in(&confirm);
    let res = app.post("/auth/email/confirm", json!({"token": token})).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.json["email"], new.as_str(), "stored canonical");
    assert_eq!(res.json["email_verified"], true, "the link proved the address");
    app.post("/auth/email/confirm", json!({"token": token})).await.assert_problem(422);

    // The asking session stays, every other ends.
    assert_eq!(app.get("/me", Some(&asking)).await.json["email"], new.as_str());
    app.get("/me", Some(&other)).await.assert_problem(401);
    app.post("/auth/refresh", json!({"refresh_token": other_refresh})).await.assert_problem(401);
    let old_login = app.post("/auth/login", json!({"email": old, "password": PASSWORD})).await;
    old_login.assert_problem(401);
    assert_eq!(app.post("/auth/login", json!({"email": new, "password": PASSWORD})).await.status, 200);

    let audit = app.sql("SELECT actor_id, metadata::text FROM audit_log WHERE action = 'user.email_changed'").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].get::<_, Uuid>(0), user_id(&app, &asking));
    let metadata: String = audit[0].get(1);
    assert!(!metadata.contains(&old) && !metadata.contains(&new), "the log keeps no address: {metadata}");
}

#[tokio::test]
async fn a_taken_address_answers_exactly_as_a_free_one() {
    let app = app_with_ses().await;
    let ada = unique("ada");
    let taken = unique("taken");
    let free = unique("free");
    let (token, _) = app.signed_in(&ada, PASSWORD).await;
    app.user(&taken, PASSWORD).await;

    let to_free = change_email(&app, &token, &free, PASSWORD).await;
    let to_taken = change_email(&app, &token, &taken, PASSWORD).await;
    assert_eq!((to_free.status.as_u16(), to_taken.status.as_u16()), (202, 202));
    assert_eq!(to_free.body, to_taken.body, "the answer tells nothing about the address");
    // The taken address's owner is told, with no link that changes anything.
    let in_use = ses::mails_to(&taken).await;
    let in_use = in_use.last().expect("a mail to the taken address");
    assert!(!in_use["body"]["text"].as_str().unwrap().contains("confirm-email-change"), "{in_use}");
    // The newest request replaces the older one whether or not its address is taken (so the
    // free link dying tells nothing either); a taken address's link is never mailed. The
    // notices to the asker's address are alike but for the address named.
    let pending =
        app.sql("SELECT new_email FROM one_time_tokens WHERE purpose = 'change_email' AND used_at IS NULL").await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].get::<_, String>(0), taken);
    let free_link = ses::token_in(&ses::mail_with_subject(&free, "Confirm your new email address").await);
    app.post("/auth/email/confirm", json!({"token": free_link})).await.assert_problem(422);
    let notices: Vec<String> = ses::mails_to(&ada)
        .await
        .iter()
        .filter(|m| m["subject"] == "Your sign-in address is being changed")
        .map(|m| {
            let text = m["body"]["text"].as_str().unwrap();
            let text = text.replace(&free, "X").replace(&taken, "X");
            // Tokens (43 characters) and the expiry minute aside.
            let text: String = text.split("token=").map(|part| part.chars().skip(43).collect::<String>()).collect();
            text.lines().filter(|line| !line.contains("until")).collect()
        })
        .collect();
    assert_eq!(notices.len(), 2);
    assert_eq!(notices[0], notices[1], "the notices differ only in the address and the token");
    assert_eq!(app.get("/me", Some(&token)).await.json["email"], ada.as_str());
}

#[tokio::test]
async fn a_wrong_password_or_the_same_address_changes_nothing_and_mails_nothing() {
    let app = app_with_ses().await;
    let ada = unique("ada");
    let new = unique("elsewhere");
    let (token, _) = app.signed_in(&ada, PASSWORD).await;
    let wrong = change_email(&app, &token, &new, "not the password").await;
    assert_eq!(wrong.assert_problem(422)["errors"][0]["field"], "password");
    let same = change_email(&app, &token, &ada.to_uppercase(), PASSWORD).await;
    assert_eq!(same.assert_problem(422)["errors"][0]["field"], "new_email");
    let bad = change_email(&app, &token, "not an address", PASSWORD).await;
    assert_eq!(bad.assert_problem(422)["errors"][0]["field"], "new_email");
    change_email(&app, "garbage", &new, PASSWORD).await.assert_problem(401);
    assert!(ses::mails_to(&new).await.is_empty());
    assert_eq!(count(&app, "SELECT count(*) FROM one_time_tokens WHERE purpose = 'change_email'").await, 0);
    // Wrong passwords here count toward the lockout, as at login.
    let fails =
        count(&app, &format!("SELECT coalesce(sum(failures), 0)::int8 FROM login_lockouts WHERE email = '{ada}'"))
            .await;
    assert_eq!(fails, 1);
}

#[tokio::test]
async fn a_new_request_or_a_new_address_kills_the_links_mailed_before() {
    let app = app_with_ses().await;
    let ada = unique("ada");
    let first = unique("first");
    let second = unique("second");
    let (token, _) = app.signed_in(&ada, PASSWORD).await;
    // A reset link mailed to the old address...
    assert_eq!(app.post("/auth/password/forgot", json!({"email": ada})).await.status, 202);
    let reset = ses::token_in(&ses::mail_with_subject(&ada, "Reset your password").await);

    assert_eq!(change_email(&app, &token, &first, PASSWORD).await.status, 202);
    let first_link = ses::token_in(&ses::mail_with_subject(&first, "Confirm your new email address").await);
    assert_eq!(change_email(&app, &token, &second, PASSWORD).await.status, 202);
    let second_link = ses::token_in(&ses::mail_with_subject(&second, "Confirm your new email address").await);
    app.post("/auth/email/confirm", json!({"token": first_link})).await.assert_problem(422);
    assert_eq!(app.post("/auth/email/confirm", json!({"token": second_link})).await.json["email"], second.as_str());
    // ...works no more once the address has changed.
    let res = app.post("/auth/password/reset", json!({"token": reset, "new_password": "a brand new password"})).await;
    res.assert_problem(422);
}

#[tokio::test]
async fn a_link_to_an_address_taken_since_is_refused_and_changes_nothing() {
    let app = app_with_ses().await;
    let ada = unique("ada");
    let new = unique("contested");
    let (token, _) = app.signed_in(&ada, PASSWORD).await;
    assert_eq!(change_email(&app, &token, &new, PASSWORD).await.status, 202);
    let link = ses::token_in(&ses::mail_with_subject(&new, "Confirm your new email address").await);
    app.user(&new, PASSWORD).await;
    app.post("/auth/email/confirm", json!({"token": link})).await.assert_problem(409);
    assert_eq!(app.get("/me", Some(&token)).await.json["email"], ada.as_str());
}

#[tokio::test]
async fn pending_invitations_follow_the_verified_address() {
    let app = app_with_ses().await;
    let (owner, _) = app.signed_in(&unique("owner"), PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let ada = unique("ada");
    let work = unique("ada.work");
    let (token, _) = app.unverified_signed_in(&ada, PASSWORD).await;
    let invited =
        app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(json!({"email": work})), Some(&owner)).await;
    assert_eq!(invited.status, 201, "{}", invited.json);
    assert_eq!(app.get("/me/invitations", Some(&token)).await.status, 403, "an unverified address sees none");
    assert_eq!(change_email(&app, &token, &work, PASSWORD).await.status, 403, "nor may it move");
    app.sql(&format!("UPDATE users SET email_verified_at = now() WHERE email = '{ada}'")).await;
    app.get("/me", Some(&token)).await.assert_problem(401);
    let (token, _) = app.login(&ada, PASSWORD).await;

    assert_eq!(change_email(&app, &token, &work, PASSWORD).await.status, 202);
    let link = ses::token_in(&ses::mail_with_subject(&work, "Confirm your new email address").await);
    assert_eq!(app.post("/auth/email/confirm", json!({"token": link})).await.status, 200);
    let mine = app.get("/me/invitations", Some(&token)).await;
    assert_eq!(mine.status, 200, "{}", mine.json);
    assert_eq!(mine.json["items"][0]["id"], invited.json["id"]);
    let id = invited.json["id"].as_str().unwrap();
    let accepted = app.call(Method::POST, format!("/me/invitations/{id}/accept"), None, Some(&token)).await;
    assert_eq!(accepted.status, 200, "{}", accepted.json);
}

#[tokio::test]
async fn deleting_my_account_takes_everything_personal_in_one_go() {
    let app = app_with_ses().await;
    let (owner, _) = app.signed_in(&unique("owner"), PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let ada = unique("ada");
    let invited =
        app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(json!({"email": ada})), Some(&owner)).await;
    assert_eq!(invited.status, 201);
    let (token, refresh) = app.signed_in(&ada, PASSWORD).await;
    let (laptop, _) = app.login(&ada, PASSWORD).await;
    let id = user_id(&app, &token);
    app.add_member(org, id, &["member"]).await;
    assert_eq!(app.post("/auth/password/forgot", json!({"email": ada})).await.status, 202);

    delete_me(&app, &token, "not the password").await.assert_problem(422);
    assert_eq!(app.get("/me", Some(&token)).await.status, 200, "a wrong password deletes nothing");

    let res = delete_me(&app, &token, PASSWORD).await;
    assert_eq!(res.status, 204, "{}", res.json);
    for access in [&token, &laptop] {
        app.get("/me", Some(access)).await.assert_problem(401);
    }
    app.post("/auth/refresh", json!({"refresh_token": refresh})).await.assert_problem(401);
    app.post("/auth/login", json!({"email": ada, "password": PASSWORD})).await.assert_problem(401);
    for table in [
        "users WHERE id",
        "sessions WHERE user_id",
        "memberships WHERE user_id",
        "member_roles WHERE user_id",
        "one_time_tokens WHERE user_id",
    ] {
        assert_eq!(count(&app, &format!("SELECT count(*) FROM {table} = '{id}'")).await, 0, "{table}");
    }
    let members = app.get(&format!("/orgs/{org}/members"), Some(&owner)).await;
    assert_eq!(members.json["items"].as_array().unwrap().len(), 1, "only the owner is left");

    // The log keeps who did what, by id, and nothing that names the person.
    let by_ada = count(&app, &format!("SELECT count(*) FROM audit_log WHERE actor_id = '{id}'")).await;
    assert!(by_ada >= 2, "user.deleted and member.removed are kept under the id");
    let with_ip =
        count(&app, &format!("SELECT count(*) FROM audit_log WHERE actor_id = '{id}' AND ip IS NOT NULL")).await;
    assert_eq!(with_ip, 0);
    let named = count(&app, &format!("SELECT count(*) FROM audit_log WHERE metadata::text ILIKE '%{ada}%'")).await;
    assert_eq!(named, 0, "the invitation's row no longer holds the address");
    let left = app
        .sql(&format!("SELECT metadata->>'reason' FROM audit_log WHERE org_id = '{org}' AND action = 'member.removed' AND target_id = '{id}'"))
        .await;
    assert_eq!(left[0].get::<_, String>(0), "account_deleted", "the org's own log says why the member left");
    assert_eq!(count(&app, &format!("SELECT count(*) FROM email_outbox WHERE recipient = '{ada}'")).await, 0);

    // The address is free: it can sign up again, as a new account.
    let again = app.user(&ada, PASSWORD).await;
    assert_ne!(again, id);
}

#[tokio::test]
async fn the_last_owner_of_an_org_cannot_delete_their_account() {
    let app = app().await;
    let (ada, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let acme = create_org(&app, &ada, "Acme Corp").await;
    create_org(&app, &ada, "Beta").await;
    let res = delete_me(&app, &ada, PASSWORD).await;
    let detail = res.assert_problem(409)["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("Acme Corp") && detail.contains("Beta"), "{detail}");
    assert_eq!(app.get("/me", Some(&ada)).await.status, 200);
    assert_eq!(count(&app, "SELECT count(*) FROM audit_log WHERE action = 'user.deleted'").await, 0);

    // With a second owner in each, or the org gone, it can go.
    let (bob, _) = app.signed_in("bob@example.com", PASSWORD).await;
    app.add_member(acme, user_id(&app, &bob), &["owner"]).await;
    let still = delete_me(&app, &ada, PASSWORD).await;
    let detail = still.assert_problem(409)["detail"].as_str().unwrap().to_owned();
    assert!(!detail.contains("Acme Corp") && detail.contains("Beta"), "{detail}");
    let beta = app.sql("SELECT id FROM organizations WHERE name = 'Beta'").await[0].get::<_, Uuid>(0);
    assert_eq!(app.call(Method::DELETE, format!("/orgs/{beta}"), None, Some(&ada)).await.status, 204);
    assert_eq!(delete_me(&app, &ada, PASSWORD).await.status, 204);
    let acme_members = app.get(&format!("/orgs/{acme}/members"), Some(&bob)).await;
    assert_eq!(acme_members.json["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_owners_deleting_themselves_at_once_leave_one_owner() {
    for round in 0..3 {
        let app = Arc::new(app().await);
        let (ada, _) = app.signed_in(&format!("ada{round}@example.com"), PASSWORD).await;
        let (bob, _) = app.signed_in(&format!("bob{round}@example.com"), PASSWORD).await;
        let org = create_org(&app, &ada, "Acme").await;
        app.add_member(org, user_id(&app, &bob), &["owner"]).await;
        let tasks: Vec<_> = [ada, bob]
            .into_iter()
            .map(|token| {
                let app = app.clone();
                tokio::spawn(async move { delete_me(&app, &token, PASSWORD).await.status.as_u16() })
            })
            .collect();
        let mut statuses = vec![];
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        statuses.sort();
        assert_eq!(statuses, [204, 409], "round {round}");
        let owners = count(&app, &format!("SELECT count(*) FROM member_roles WHERE org_id = '{org}'")).await;
        assert_eq!(owners, 1, "round {round}: the org keeps an owner");
    }
}

#[tokio::test]
async fn platform_admins_delete_accounts_but_not_their_own() {
    let app = app().await;
    let root = crate::platform_admin(&app).await;
    let (bob, _) = app.signed_in("bob@example.com", PASSWORD).await;
    let (carol, _) = app.signed_in("carol@example.com", PASSWORD).await;
    let bob_id = user_id(&app, &bob);
    let carol_id = user_id(&app, &carol);
    create_org(&app, &carol, "Carol's").await;

    app.call(Method::DELETE, format!("/users/{bob_id}"), None, Some(&carol)).await.assert_problem(403);
    assert_eq!(app.get("/me", Some(&bob)).await.status, 200);
    let res = app.call(Method::DELETE, format!("/users/{bob_id}"), None, Some(&root)).await;
    assert_eq!(res.status, 204, "{}", res.json);
    app.get("/me", Some(&bob)).await.assert_problem(401);
    app.call(Method::DELETE, format!("/users/{bob_id}"), None, Some(&root)).await.assert_problem(404);
    app.call(Method::DELETE, format!("/users/{carol_id}"), None, Some(&root)).await.assert_problem(409);
    let own = app.call(Method::DELETE, format!("/users/{}", user_id(&app, &root)), None, Some(&root)).await;
    own.assert_problem(409);
    assert_eq!(app.get("/me", Some(&root)).await.status, 200);
    let audit = app
        .sql(&format!("SELECT actor_id FROM audit_log WHERE action = 'user.deleted' AND target_id = '{bob_id}'"))
        .await;
    assert_eq!(audit[0].get::<_, Uuid>(0), user_id(&app, &root));
}
