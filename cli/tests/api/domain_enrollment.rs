//! What a verified domain does for people whose verified email is at it: `auto_join` makes
//! them members, `invitation` leaves a pending invitation (no mail) in `/me/invitations`,
//! `manual` nothing; when an email becomes verified and at sign-in, never for an unverified
//! email, within the seats, once, leaving members and those who left as they are.

use axum::http::Method;
use identity_testkit::TestApp;
use identity_testkit::dns;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domains::verified;
use crate::{PASSWORD, create_org};

/// An app whose mail fails to send (nothing listens on port 9), so each link stays in the
/// outbox for the test to follow.
async fn app() -> TestApp {
    crate::app_with_ses_at("http://127.0.0.1:9", &[]).await
}

/// An owner and their organization with `domain` verified in `mode`.
async fn org_with_domain(app: &TestApp, domain: &str, mode: &str) -> (String, Uuid, Value) {
    let (owner, _) = app.signed_in(&format!("owner.{}@owners.example.net", Uuid::now_v7().simple()), PASSWORD).await;
    let org = create_org(app, &owner, &format!("Org of {mode}")).await;
    let claimed = verified(app, &owner, org, domain, mode).await;
    (owner, org, claimed)
}

/// The token of the newest mail of `template` to `to` in the outbox.
async fn mailed_token(app: &TestApp, template: &str, to: &str) -> String {
    let rows = app
        .sql(&format!(
            "SELECT payload->>'link' FROM email_outbox WHERE template = '{template}' AND recipient = '{to}' ORDER BY id DESC LIMIT 1"
        ))
        .await;
    let link: String = rows[0].get(0);
    link.split("token=").nth(1).unwrap().to_owned()
}

/// Registers `email` through the API and proves it with the mailed link; the account's id.
async fn register_and_verify(app: &TestApp, email: &str) -> Uuid {
    let res = app.post("/auth/register", json!({"email": email, "password": PASSWORD, "name": "Zoe"})).await;
    assert_eq!(res.status, 202, "{}", res.json);
    let token = mailed_token(app, "verify_email", email).await;
    let res = app.post("/auth/verify-email", json!({"token": token})).await;
    assert_eq!(res.status, 200, "{}", res.json);
    res.json["id"].as_str().unwrap().parse().unwrap()
}

/// The account's roles in `org`, or None if it is not a member.
async fn roles_in(app: &TestApp, org: Uuid, user: Uuid) -> Option<Vec<String>> {
    let rows = app.sql(&format!("SELECT roles FROM memberships WHERE org_id = '{org}' AND user_id = '{user}'")).await;
    rows.first().map(|r| r.get(0))
}

/// Pending invitations to `email` in `org`, and how many of them a domain made.
async fn invitations_to(app: &TestApp, org: Uuid, email: &str) -> (i64, i64) {
    let rows = app
        .sql(&format!(
            "SELECT count(*), count(invited_by_domain) FROM invitations WHERE org_id = '{org}' AND email = '{email}' AND status = 'pending'"
        ))
        .await;
    (rows[0].get(0), rows[0].get(1))
}

#[tokio::test]
async fn auto_join_makes_a_verified_email_a_member_once() {
    let app = app().await;
    let domain = dns::unique_domain("join");
    let (owner, org, claimed) = org_with_domain(&app, &domain, "auto_join").await;
    let email = format!("zoe@{domain}");
    // Registered but unproven: nothing, even at sign-in.
    let res = app.post("/auth/register", json!({"email": email, "password": PASSWORD, "name": "Zoe"})).await;
    assert_eq!(res.status, 202);
    let zoe: Uuid = app.sql(&format!("SELECT id FROM users WHERE email = '{email}'")).await[0].get(0);
    app.login(&email, PASSWORD).await;
    assert_eq!(roles_in(&app, org, zoe).await, None, "an unverified email joins nothing");
    // The mailed link proves it: a member with the default role, the source said.
    let token = mailed_token(&app, "verify_email", &email).await;
    assert_eq!(app.post("/auth/verify-email", json!({"token": token})).await.status, 200);
    assert_eq!(roles_in(&app, org, zoe).await, Some(vec!["member".to_owned()]));
    let audit = app
        .sql(&format!("SELECT actor_id, metadata FROM audit_log WHERE org_id = '{org}' AND action = 'member.added' AND target_id = '{zoe}'"))
        .await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].get::<_, Option<Uuid>>(0), Some(zoe));
    let metadata: Value = audit[0].get(1);
    assert_eq!((metadata["source"].as_str(), metadata["domain"].as_str()), (Some("domain"), Some(domain.as_str())));
    let event: Value = app
        .sql(&format!("SELECT data FROM events WHERE org_id = '{org}' AND type = 'organization_membership.created' AND data->>'id' = '{zoe}'"))
        .await[0]
        .get(0);
    assert_eq!(event["source"], "domain");
    // Signing in again changes nothing; a role given since stays.
    let (zoe_token, _) = app.login(&email, PASSWORD).await;
    let body = json!({"roles": ["admin"]});
    let res = app.call(Method::PUT, format!("/orgs/{org}/members/{zoe}/roles"), Some(body), Some(&owner)).await;
    assert_eq!(res.status, 200, "{}", res.json);
    app.login(&email, PASSWORD).await;
    assert_eq!(roles_in(&app, org, zoe).await, Some(vec!["admin".to_owned()]));
    let orgs = app.get("/me/organizations", Some(&zoe_token)).await;
    assert_eq!(orgs.json["items"].as_array().map(Vec::len), Some(1), "{}", orgs.json);
    // Leaving is final: the domain does not bring her back.
    assert_eq!(app.call(Method::DELETE, format!("/orgs/{org}/members/{zoe}"), None, Some(&owner)).await.status, 204);
    app.login(&email, PASSWORD).await;
    assert_eq!(roles_in(&app, org, zoe).await, None, "someone removed is not re-added by the domain");
    // A subdomain's people are not at the domain.
    let sub = register_and_verify(&app, &format!("xi@eu.{domain}")).await;
    assert_eq!(roles_in(&app, org, sub).await, None);
    // A deleted domain enrolls no one: a new account at it stays outside.
    let id = claimed["id"].as_str().unwrap();
    assert_eq!(app.call(Method::DELETE, format!("/orgs/{org}/domains/{id}"), None, Some(&owner)).await.status, 204);
    let yan = register_and_verify(&app, &format!("yan@{domain}")).await;
    assert_eq!(roles_in(&app, org, yan).await, None);
}

#[tokio::test]
async fn a_domain_verified_later_enrolls_at_the_next_sign_in() {
    let app = app().await;
    let domain = dns::unique_domain("later");
    let email = format!("ann@{domain}");
    let ann = app.user(&email, PASSWORD).await;
    let (owner, org, _) = org_with_domain(&app, &domain, "manual").await;
    app.login(&email, PASSWORD).await;
    assert_eq!(roles_in(&app, org, ann).await, None, "manual: nothing automatic");
    let id: Uuid = app.sql(&format!("SELECT id FROM org_domains WHERE org_id = '{org}'")).await[0].get(0);
    let body = json!({"enrollment_mode": "auto_join"});
    assert_eq!(
        app.call(Method::PATCH, format!("/orgs/{org}/domains/{id}"), Some(body), Some(&owner)).await.status,
        200
    );
    // Signed in with the organization as scope: joined first, so the scope holds.
    let login = app.post("/auth/login", json!({"email": email, "password": PASSWORD, "org_id": org})).await;
    assert_eq!(login.status, 200, "{}", login.json);
    assert_eq!(roles_in(&app, org, ann).await, Some(vec!["member".to_owned()]));
}

#[tokio::test]
async fn invitation_mode_leaves_an_unmailed_invitation_to_take_or_decline() {
    let app = app().await;
    let domain = dns::unique_domain("invite");
    let (owner, org, claimed) = org_with_domain(&app, &domain, "invitation").await;
    let email = format!("ivy@{domain}");
    let ivy = register_and_verify(&app, &email).await;
    assert_eq!(roles_in(&app, org, ivy).await, None, "invited, not joined");
    assert_eq!(invitations_to(&app, org, &email).await, (1, 1));
    let mails = app
        .sql(&format!("SELECT count(*) FROM email_outbox WHERE recipient = '{email}' AND template = 'invitation'"))
        .await;
    assert_eq!(mails[0].get::<_, i64>(0), 0, "a domain's invitation is never mailed");
    let (token, _) = app.login(&email, PASSWORD).await;
    assert_eq!(invitations_to(&app, org, &email).await, (1, 1), "a sign-in adds no second one");
    let mine = app.get("/me/invitations", Some(&token)).await;
    let items = mine.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", mine.json);
    assert_eq!(items[0]["roles"], json!(["member"]));
    let audit: Value = app
        .sql(&format!("SELECT metadata FROM audit_log WHERE org_id = '{org}' AND action = 'invitation.created'"))
        .await[0]
        .get(0);
    assert_eq!(audit["source"], "domain");
    // Taken from the list: a member with the default role.
    let id = items[0]["id"].as_str().unwrap();
    let accepted = app.call(Method::POST, format!("/me/invitations/{id}/accept"), None, Some(&token)).await;
    assert_eq!(accepted.status, 200, "{}", accepted.json);
    assert_eq!(roles_in(&app, org, ivy).await, Some(vec!["member".to_owned()]));

    // Declined by another: it does not come back at the next sign-in.
    let other = format!("oli@{domain}");
    register_and_verify(&app, &other).await;
    let (oli, _) = app.login(&other, PASSWORD).await;
    let mine = app.get("/me/invitations", Some(&oli)).await;
    let id = mine.json["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.call(Method::POST, format!("/me/invitations/{id}/decline"), None, Some(&oli)).await.status, 200);
    app.login(&other, PASSWORD).await;
    assert_eq!(invitations_to(&app, org, &other).await, (0, 0), "a declined domain invitation stays declined");

    // Made by a domain that is then set to manual: refused at accept, and said in the log.
    let third = format!("uma@{domain}");
    register_and_verify(&app, &third).await;
    let (uma, _) = app.login(&third, PASSWORD).await;
    let mine = app.get("/me/invitations", Some(&uma)).await;
    let id = mine.json["items"][0]["id"].as_str().unwrap().to_owned();
    let domain_id = claimed["id"].as_str().unwrap();
    let body = json!({"enrollment_mode": "manual"});
    let res = app.call(Method::PATCH, format!("/orgs/{org}/domains/{domain_id}"), Some(body), Some(&owner)).await;
    assert_eq!(res.status, 200);
    app.call(Method::POST, format!("/me/invitations/{id}/accept"), None, Some(&uma)).await.assert_problem(409);
}

#[tokio::test]
async fn a_full_organization_enrolls_no_one_and_says_why_once() {
    let app = app().await;
    let domain = dns::unique_domain("full");
    let (owner, org, _) = org_with_domain(&app, &domain, "auto_join").await;
    app.sql(&format!("UPDATE organizations SET max_members = 1 WHERE id = '{org}'")).await;
    let email = format!("max@{domain}");
    let max = register_and_verify(&app, &email).await;
    app.login(&email, PASSWORD).await;
    assert_eq!(roles_in(&app, org, max).await, None, "the one seat is the owner's");
    let refused = app
        .sql(&format!("SELECT metadata FROM audit_log WHERE org_id = '{org}' AND action = 'domain.enrollment_refused'"))
        .await;
    assert_eq!(refused.len(), 1, "said once a day, not at each sign-in");
    let metadata: Value = refused[0].get(0);
    assert_eq!((metadata["reason"].as_str(), metadata["email"].as_str()), (Some("seat_limit"), Some(email.as_str())));
    // A seat freed: the next sign-in joins.
    app.sql(&format!("UPDATE organizations SET max_members = 2 WHERE id = '{org}'")).await;
    app.login(&email, PASSWORD).await;
    assert_eq!(roles_in(&app, org, max).await, Some(vec!["member".to_owned()]));
    drop(owner);
}

#[tokio::test]
async fn an_existing_member_and_an_invited_email_are_left_as_they_are() {
    let app = app().await;
    let domain = dns::unique_domain("kept");
    let (owner, org, _) = org_with_domain(&app, &domain, "invitation").await;
    // A member already: no invitation appears.
    let email = format!("kim@{domain}");
    let kim = app.user(&email, PASSWORD).await;
    app.add_member(org, kim, &["admin"]).await;
    app.login(&email, PASSWORD).await;
    assert_eq!(invitations_to(&app, org, &email).await, (0, 0));
    assert_eq!(roles_in(&app, org, kim).await, Some(vec!["admin".to_owned()]));
    // Invited by an admin already (with other roles): that invitation stands alone.
    let lee = format!("lee@{domain}");
    let body = json!({"email": lee, "roles": ["admin"]});
    let res = app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(body), Some(&owner)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    register_and_verify(&app, &lee).await;
    assert_eq!(invitations_to(&app, org, &lee).await, (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_ins_at_once_enroll_once_and_never_beyond_the_seats() {
    let app = std::sync::Arc::new(app().await);
    let domain = dns::unique_domain("race");
    let (_, org, _) = org_with_domain(&app, &domain, "auto_join").await;
    // One account signing in eight times at once: one membership, every sign-in answered.
    let email = format!("one@{domain}");
    let one = app.user(&email, PASSWORD).await;
    let body = json!({"email": email, "password": PASSWORD});
    assert_all_signed_in(&app, vec![body; 8]).await;
    assert_eq!(roles_in(&app, org, one).await, Some(vec!["member".to_owned()]));
    // Six accounts at once for the one seat left: exactly one joins.
    app.sql(&format!("UPDATE organizations SET max_members = 3 WHERE id = '{org}'")).await;
    let mut emails = vec![];
    for n in 0..6 {
        let email = format!("p{n}@{domain}");
        app.user(&email, PASSWORD).await;
        emails.push(email);
    }
    assert_all_signed_in(&app, emails.iter().map(|e| json!({"email": e, "password": PASSWORD})).collect()).await;
    let members = app.sql(&format!("SELECT count(*) FROM memberships WHERE org_id = '{org}'")).await;
    assert_eq!(members[0].get::<_, i64>(0), 3, "the owner, the first account and one of the six");
    let refused = app
        .sql(&format!("SELECT count(*) FROM audit_log WHERE org_id = '{org}' AND action = 'domain.enrollment_refused'"))
        .await;
    assert_eq!(refused[0].get::<_, i64>(0), 5, "each refused address said once");
}

/// Sends every login at once; each must answer 200.
async fn assert_all_signed_in(app: &std::sync::Arc<TestApp>, bodies: Vec<Value>) {
    let mut sign_ins = tokio::task::JoinSet::new();
    for body in bodies {
        let app = app.clone();
        sign_ins.spawn(async move { app.post("/auth/login", body).await });
    }
    for res in sign_ins.join_all().await {
        assert_eq!(res.status, 200, "{}", res.json);
    }
}

#[tokio::test]
async fn a_sign_up_by_invitation_and_an_email_change_prove_an_address_too() {
    let app = app().await;
    let domain = dns::unique_domain("proven");
    let (_, org, _) = org_with_domain(&app, &domain, "auto_join").await;
    // Invited to another organization, signing up on the link: the link proves the address.
    let email = format!("sam@{domain}");
    let (_, other) = app.invited_to_acme(&email, json!(["member"])).await;
    let token = mailed_token(&app, "invitation", &email).await;
    let accepted = app.post("/invitations/accept", json!({"token": token, "name": "Sam", "password": PASSWORD})).await;
    assert_eq!(accepted.status, 201, "{}", accepted.json);
    let sam: Uuid = app.sql(&format!("SELECT id FROM users WHERE email = '{email}'")).await[0].get(0);
    assert_eq!(roles_in(&app, other, sam).await, Some(vec!["member".to_owned()]));
    assert_eq!(roles_in(&app, org, sam).await, Some(vec!["member".to_owned()]), "and the domain's organization");
    // An account elsewhere moving its address to the domain: the confirmation proves it.
    let (tess, _) = app.signed_in("tess@elsewhere.example.net", PASSWORD).await;
    let moved = format!("tess@{domain}");
    let body = json!({"new_email": moved, "password": PASSWORD});
    assert_eq!(app.call(Method::POST, "/me/email", Some(body), Some(&tess)).await.status, 202);
    let tess_id = crate::user_id(&app, &tess);
    assert_eq!(roles_in(&app, org, tess_id).await, None, "asking proves nothing yet");
    let token = mailed_token(&app, "confirm_email_change", &moved).await;
    let confirmed = app.post("/auth/email/confirm", json!({"token": token})).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.json);
    assert_eq!(roles_in(&app, org, tess_id).await, Some(vec!["member".to_owned()]));
}

#[tokio::test]
async fn enrollment_needs_no_second_connection() {
    // One connection in the pool: a sign-in that enrolls must not wait for another.
    let app = crate::app_with_ses_at("http://127.0.0.1:9", &[("DATABASE_POOL_SIZE", "1")]).await;
    let domain = dns::unique_domain("pool");
    let (_, org, _) = org_with_domain(&app, &domain, "auto_join").await;
    let email = format!("una@{domain}");
    let una = app.user(&email, PASSWORD).await;
    let login = app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(login.status, 200, "{}", login.json);
    assert_eq!(roles_in(&app, org, una).await, Some(vec!["member".to_owned()]));
}
