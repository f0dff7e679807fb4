//! Authorization when requests meet: every write decides with the organization's lock held,
//! so a caller removed, demoted or signed out by a write that committed first is judged as
//! they are now; platform admins cannot demote each other into none; each field of a PATCH
//! checks its own permission; database conflicts are answers, never 500s.

use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use identity_testkit::{TestApp, TestResponse};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{PASSWORD, figure};

fn unique(name: &str) -> String {
    format!("{name}.{}@example.com", Uuid::now_v7().simple())
}

/// Mail goes to an SES endpoint that refuses it, so the outbox keeps each link.
async fn app() -> Arc<TestApp> {
    let settings = identity_testkit::ses::settings("http://127.0.0.1:9");
    let overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Arc::new(TestApp::new(identity_cli::routes(), &overrides).await)
}

/// A signed-in account: its access token and id.
async fn account(app: &TestApp, name: &str) -> (String, Uuid) {
    let (token, _) = app.signed_in(&unique(name), PASSWORD).await;
    let id = app.state.jwt().verify(&token).unwrap().sub;
    (token, id)
}

async fn create_org(app: &TestApp, token: &str) -> Uuid {
    let res = app.call(Method::POST, "/orgs", Some(json!({"name": "Acme"})), Some(token)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    res.json["id"].as_str().unwrap().parse().unwrap()
}

async fn count(app: &TestApp, query: &str) -> i64 {
    app.sql(query).await[0].get(0)
}

/// Organizations left with no owner: there must never be one.
async fn ownerless(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT count(*) FROM organizations o WHERE NOT EXISTS (
             SELECT 1 FROM member_roles mr WHERE mr.org_id = o.id AND mr.role_id = '00000000-0000-7000-8000-000000000001')",
    )
    .await
}

/// The org's row held locked by another transaction while `request` is sent, until the
/// request waits on it; then `meanwhile` (SQL run in that transaction) commits with it: the
/// request was authorized before the change and acts after it.
async fn in_flight_across(
    app: &Arc<TestApp>,
    org: Uuid,
    meanwhile: &str,
    request: impl Fn() -> RequestSpec,
) -> TestResponse {
    let holder = identity_shared::db::client(app.state.pool()).await.unwrap();
    holder.batch_execute(&format!("BEGIN; SELECT 1 FROM organizations WHERE id = '{org}' FOR UPDATE")).await.unwrap();
    let spec = request();
    let sent = {
        let app = app.clone();
        tokio::spawn(async move { app.call(spec.method, spec.path, spec.body, Some(&spec.token)).await })
    };
    let watcher = identity_shared::db::client(app.state.pool()).await.unwrap();
    let waiting =
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
    for _ in 0..500 {
        if watcher.query_one(waiting, &[]).await.unwrap().get::<_, i64>(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    holder.batch_execute(&format!("{meanwhile}; COMMIT")).await.unwrap();
    sent.await.unwrap()
}

/// A request to send.
struct RequestSpec {
    method: Method,
    path: String,
    body: Option<Value>,
    token: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_owners_removing_each_other_at_once_do_not_both_succeed() {
    let rounds = 10;
    let mut both = 0;
    for _ in 0..rounds {
        let app = app().await;
        let (a, a_id) = account(&app, "a").await;
        let org = create_org(&app, &a).await;
        let (b, b_id) = account(&app, "b").await;
        let (_, c_id) = account(&app, "c").await;
        app.add_member(org, b_id, &["owner"]).await;
        app.add_member(org, c_id, &["owner"]).await;
        let remove = |token: String, target: Uuid| {
            let app = app.clone();
            tokio::spawn(async move {
                app.call(Method::DELETE, format!("/orgs/{org}/members/{target}"), None, Some(&token)).await.status
            })
        };
        let (one, two) = (remove(a, b_id), remove(b, a_id));
        let statuses = [one.await.unwrap().as_u16(), two.await.unwrap().as_u16()];
        assert!(statuses.iter().all(|s| [204, 404].contains(s)), "{statuses:?}");
        if statuses == [204, 204] {
            both += 1;
        }
        assert_eq!(ownerless(&app).await, 0);
    }
    figure(format!("two of three owners removing each other at once: {rounds} rounds, {both} with both removed"));
    assert_eq!(both, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_in_flight_is_judged_by_the_callers_rights_when_it_acts() {
    let app = app().await;
    let (owner, _) = account(&app, "owner").await;
    let org = create_org(&app, &owner).await;
    let (ousted, ousted_id) = account(&app, "ousted").await;
    let (_, accomplice) = account(&app, "accomplice").await;
    app.add_member(org, ousted_id, &["owner"]).await;
    app.add_member(org, accomplice, &["member"]).await;
    let removed = format!("DELETE FROM memberships WHERE org_id = '{org}' AND user_id = '{ousted_id}'");
    let mut cells = vec![];

    // Removed while promoting an accomplice: the promotion does not happen.
    let promote = || RequestSpec {
        method: Method::PUT,
        path: format!("/orgs/{org}/members/{accomplice}/roles"),
        body: Some(json!({"roles": ["owner"]})),
        token: ousted.clone(),
    };
    let res = in_flight_across(&app, org, &removed, promote).await;
    res.assert_problem(404);
    let owners = count(&app, &format!("SELECT count(*) FROM member_roles WHERE org_id = '{org}' AND user_id = '{accomplice}' AND role_id = '00000000-0000-7000-8000-000000000001'")).await;
    assert_eq!(owners, 0, "the accomplice is no owner");
    cells.push("removed owner promoting: 404, nothing changed");

    // Removed while deleting the organization: it stays.
    app.add_member(org, ousted_id, &["owner"]).await;
    let delete =
        || RequestSpec { method: Method::DELETE, path: format!("/orgs/{org}"), body: None, token: ousted.clone() };
    in_flight_across(&app, org, &removed, delete).await.assert_problem(404);
    assert_eq!(count(&app, &format!("SELECT count(*) FROM organizations WHERE id = '{org}'")).await, 1);
    cells.push("removed owner deleting the org: 404, the org stays");

    // Demoted to member while demoting another admin: refused.
    let (demoted, demoted_id) = account(&app, "demoted").await;
    let (_, other_admin) = account(&app, "other.admin").await;
    app.add_member(org, demoted_id, &["admin"]).await;
    app.add_member(org, other_admin, &["admin"]).await;
    let to_member = format!(
        "DELETE FROM member_roles WHERE org_id = '{org}' AND user_id = '{demoted_id}';
         INSERT INTO member_roles (org_id, user_id, role_id) SELECT '{org}', '{demoted_id}', id FROM roles WHERE org_id IS NULL AND name = 'member'"
    );
    let demote = || RequestSpec {
        method: Method::PUT,
        path: format!("/orgs/{org}/members/{other_admin}/roles"),
        body: Some(json!({"roles": ["member"]})),
        token: demoted.clone(),
    };
    in_flight_across(&app, org, &to_member, demote).await.assert_problem(403);
    cells.push("demoted admin demoting another: 403, nothing changed");

    // Signed out while inviting: 401, no invitation.
    let (leaving, leaving_id) = account(&app, "leaving").await;
    app.add_member(org, leaving_id, &["admin"]).await;
    let sign_out = format!("UPDATE sessions SET revoked_at = now() WHERE user_id = '{leaving_id}'");
    let invite = || RequestSpec {
        method: Method::POST,
        path: format!("/orgs/{org}/invitations"),
        body: Some(json!({"email": "late@example.com"})),
        token: leaving.clone(),
    };
    in_flight_across(&app, org, &sign_out, invite).await.assert_problem(401);
    assert_eq!(count(&app, "SELECT count(*) FROM invitations WHERE email = 'late@example.com'").await, 0);
    cells.push("signed out while inviting: 401, no invitation");
    figure(format!("requests in flight across a change of the caller's rights: {}", cells.join("; ")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn platform_admins_demoting_each_other_at_once_leave_one() {
    let rounds = 10;
    let mut none_left = 0;
    for round in 0..rounds {
        let app = app().await;
        let (a, a_id) = account(&app, "admin.a").await;
        let (b, b_id) = account(&app, "admin.b").await;
        app.sql(&format!("UPDATE users SET is_platform_admin = true WHERE id IN ('{a_id}', '{b_id}')")).await;
        // Half the rounds demote, half disable.
        let body = if round % 2 == 0 { json!({"is_platform_admin": false}) } else { json!({"status": "disabled"}) };
        let change = |token: String, target: Uuid| {
            let (app, body) = (app.clone(), body.clone());
            tokio::spawn(
                async move { app.call(Method::PATCH, format!("/users/{target}"), Some(body), Some(&token)).await },
            )
        };
        let (one, two) = (change(a, b_id), change(b, a_id));
        let (one, two) = (one.await.unwrap(), two.await.unwrap());
        let statuses = [one.status.as_u16(), two.status.as_u16()];
        assert!(statuses.iter().all(|s| [200, 401, 403].contains(s)), "{statuses:?} {} {}", one.json, two.json);
        let left = count(&app, "SELECT count(*) FROM users WHERE is_platform_admin AND status = 'active'").await;
        if left == 0 {
            none_left += 1;
        }
    }
    figure(format!(
        "two platform admins demoting or disabling each other at once: {rounds} rounds, {none_left} left none"
    ));
    assert_eq!(none_left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_field_of_an_org_patch_checks_its_own_permission() {
    let app = app().await;
    let (owner, _) = account(&app, "owner").await;
    let org = create_org(&app, &owner).await;
    // Custom roles holding one of the two permissions a PATCH can need (and what reading the
    // org and granting its default role take).
    let base = ["org:read", "members:read", "roles:read"];
    for (name, extra) in [("settings", "org:update"), ("role-keeper", "roles:manage")] {
        let permissions: Vec<&str> = base.iter().copied().chain([extra]).collect();
        let body = json!({"name": name, "permissions": permissions});
        let res = app.call(Method::POST, format!("/orgs/{org}/roles"), Some(body), Some(&owner)).await;
        assert_eq!(res.status, 201, "{}", res.json);
    }
    let mut callers = vec![];
    for role in ["settings", "role-keeper", "member"] {
        let (token, id) = account(&app, role).await;
        app.add_member(org, id, &[role]).await;
        callers.push((role, token));
    }
    let bodies: [(&str, Value, &[&str]); 6] = [
        ("name", json!({"name": "Renamed"}), &["org:update"]),
        ("slug", json!({"slug": "renamed"}), &["org:update"]),
        ("require_mfa", json!({"require_mfa": false}), &["org:update"]),
        ("default_role", json!({"default_role": "member"}), &["roles:manage"]),
        (
            "default_role + require_mfa",
            json!({"default_role": "member", "require_mfa": false}),
            &["org:update", "roles:manage"],
        ),
        ("name + default_role", json!({"name": "Renamed", "default_role": "member"}), &["org:update", "roles:manage"]),
    ];
    let held = |role: &str| -> &[&str] {
        match role {
            "settings" => &["org:update"],
            "role-keeper" => &["roles:manage"],
            _ => &[],
        }
    };
    let snapshot = "SELECT name || slug || require_mfa::text || default_role_id::text FROM organizations";
    let (mut refused, mut allowed, mut wrong) = (0, 0, vec![]);
    for (role, token) in &callers {
        for (what, body, needs) in &bodies {
            let before: String = app.sql(snapshot).await[0].get(0);
            let res = app.call(Method::PATCH, format!("/orgs/{org}"), Some(body.clone()), Some(token)).await;
            let may = needs.iter().all(|p| held(role).contains(p));
            let after: String = app.sql(snapshot).await[0].get(0);
            match (may, res.status.as_u16()) {
                (false, 403) if before == after => refused += 1,
                (true, 200) => allowed += 1,
                (_, status) => wrong.push(format!("{role} sending {what}: {status}, changed: {}", before != after)),
            }
            // Back as it was for the next cell.
            let reset = json!({"name": "Acme", "require_mfa": false});
            app.call(Method::PATCH, format!("/orgs/{org}"), Some(reset), Some(&owner)).await;
        }
    }
    figure(format!(
        "PATCH /orgs/{{org}} fields x callers lacking one permission: {} cells, {refused} refused with nothing changed, {allowed} allowed, {} wrong",
        callers.len() * bodies.len(),
        wrong.len()
    ));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resending_applies_the_grant_rule_and_revives_nothing() {
    let app = app().await;
    let (owner, _) = account(&app, "owner").await;
    let org = create_org(&app, &owner).await;
    // An inviter who may invite but not grant owner.
    let body = json!({"name": "recruiter", "permissions": ["org:read", "invitations:create", "invitations:read"]});
    assert_eq!(app.call(Method::POST, format!("/orgs/{org}/roles"), Some(body), Some(&owner)).await.status, 201);
    let (recruiter, recruiter_id) = account(&app, "recruiter").await;
    app.add_member(org, recruiter_id, &["recruiter"]).await;
    let body = json!({"email": "future.owner@example.com", "roles": ["owner"]});
    let invited = app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(body), Some(&owner)).await;
    let id = invited.json["id"].as_str().unwrap().to_owned();
    let resend = format!("/orgs/{org}/invitations/{id}/resend");
    app.call(Method::POST, &resend, None, Some(&recruiter)).await.assert_problem(403);
    // An expired one is not revived, even by its owner.
    app.sql(&format!("UPDATE invitations SET expires_at = now() - interval '1 second' WHERE id = '{id}'")).await;
    app.call(Method::POST, &resend, None, Some(&owner)).await.assert_problem(410);
    let status: String = app.sql(&format!("SELECT status FROM invitation_details WHERE id = '{id}'")).await[0].get(0);
    assert_eq!(status, "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_account_deleted_while_it_creates_an_organization_leaves_no_orphan() {
    let rounds = 30;
    let (mut server_errors, mut orphans, mut created) = (0, 0, 0);
    for _ in 0..rounds {
        let app = app().await;
        let (token, _) = account(&app, "maker").await;
        let create = {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move {
                app.call(Method::POST, "/orgs", Some(json!({"name": "Fleeting"})), Some(&token)).await
            })
        };
        let delete = {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move {
                app.call(Method::DELETE, "/me", Some(json!({"password": PASSWORD})), Some(&token)).await
            })
        };
        let (create, delete) = (create.await.unwrap(), delete.await.unwrap());
        for res in [&create, &delete] {
            if res.status.is_server_error() {
                server_errors += 1;
            }
        }
        if create.status == 201 {
            created += 1;
        }
        orphans += ownerless(&app).await;
    }
    figure(format!(
        "account deleted while it creates an org: {rounds} rounds, {created} orgs created, {orphans} without an owner, {server_errors} server errors"
    ));
    assert_eq!((orphans, server_errors), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_invitations_into_one_free_seat_make_one() {
    let app = app().await;
    let (owner, _) = account(&app, "owner").await;
    let org = create_org(&app, &owner).await;
    app.sql(&format!("UPDATE organizations SET max_members = 2 WHERE id = '{org}'")).await;
    let tasks: Vec<_> = (0..32)
        .map(|n| {
            let (app, owner) = (app.clone(), owner.clone());
            tokio::spawn(async move {
                let body = json!({"email": format!("seat{n}@example.com")});
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
    let made = statuses.iter().filter(|s| **s == 201).count();
    figure(format!(
        "32 parallel invitations into 1 free seat: {made} made, {} refused with 409",
        statuses.iter().filter(|s| **s == 409).count()
    ));
    assert_eq!(made, 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| [201, 409].contains(s)), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_that_meet_answer_4xx_never_5xx() {
    let rounds = 10;
    let mut answers: Vec<u16> = vec![];
    for _ in 0..rounds {
        let app = app().await;
        let (owner, _) = account(&app, "owner").await;
        let org = create_org(&app, &owner).await;
        let (_, member) = account(&app, "member").await;
        app.add_member(org, member, &["member"]).await;
        let body = json!({"name": "doomed", "permissions": ["org:read"]});
        assert_eq!(app.call(Method::POST, format!("/orgs/{org}/roles"), Some(body), Some(&owner)).await.status, 201);
        // A role deleted while it is assigned, and while it is made the default.
        let calls = [
            (Method::DELETE, format!("/orgs/{org}/roles/doomed"), None),
            (Method::PUT, format!("/orgs/{org}/members/{member}/roles"), Some(json!({"roles": ["member", "doomed"]}))),
            (Method::PATCH, format!("/orgs/{org}"), Some(json!({"default_role": "doomed"}))),
        ];
        let tasks: Vec<_> = calls
            .into_iter()
            .map(|(method, path, body)| {
                let (app, owner) = (app.clone(), owner.clone());
                tokio::spawn(async move { app.call(method, path, body, Some(&owner)).await.status.as_u16() })
            })
            .collect();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        // The organization deleted while its invitations are accepted.
        let mut tokens = vec![];
        for n in 0..4 {
            let email = format!("joiner{n}@example.com");
            let body = json!({"email": email});
            app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(body), Some(&owner)).await;
            let link: String = app
                .sql(&format!(
                    "SELECT payload->>'link' FROM email_outbox WHERE recipient = '{email}' ORDER BY id DESC LIMIT 1"
                ))
                .await[0]
                .get(0);
            tokens.push(link.split_once("token=").unwrap().1.to_owned());
        }
        let mut tasks: Vec<_> = tokens
            .into_iter()
            .map(|token| {
                let app = app.clone();
                tokio::spawn(async move {
                    let body = json!({"token": token, "name": "Joiner", "password": "a joiner's password"});
                    app.post("/invitations/accept", body).await.status.as_u16()
                })
            })
            .collect();
        tasks.push({
            let (app, owner) = (app.clone(), owner.clone());
            tokio::spawn(async move {
                app.call(Method::DELETE, format!("/orgs/{org}"), None, Some(&owner)).await.status.as_u16()
            })
        });
        for task in tasks {
            answers.push(task.await.unwrap());
        }
    }
    let server_errors = answers.iter().filter(|s| **s >= 500).count();
    figure(format!(
        "writes that meet (role deleted while assigned or made default; org deleted while invitations are accepted): {} answers in {rounds} rounds, {server_errors} server errors",
        answers.len()
    ));
    assert_eq!(server_errors, 0, "{answers:?}");
}

#[tokio::test]
async fn nobody_is_left_without_a_role() {
    let app = app().await;
    let (owner, _) = account(&app, "owner").await;
    let org = create_org(&app, &owner).await;
    let (_, member) = account(&app, "member").await;
    app.add_member(org, member, &["member"]).await;
    // Roles [] for a member: refused on its field.
    let path = format!("/orgs/{org}/members/{member}/roles");
    let empty = app.call(Method::PUT, &path, Some(json!({"roles": []})), Some(&owner)).await;
    assert_eq!(empty.assert_problem(422)["errors"][0]["field"], "roles");
    // A role a pending invitation grants cannot be deleted until the invitation is gone.
    let body = json!({"name": "guest", "permissions": ["org:read"]});
    assert_eq!(app.call(Method::POST, format!("/orgs/{org}/roles"), Some(body), Some(&owner)).await.status, 201);
    let body = json!({"email": "guest@example.com", "roles": ["guest"]});
    let invited = app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(body), Some(&owner)).await;
    let id = invited.json["id"].as_str().unwrap().to_owned();
    let refused = app.call(Method::DELETE, format!("/orgs/{org}/roles/guest"), None, Some(&owner)).await;
    assert!(refused.assert_problem(409)["detail"].as_str().unwrap().contains("pending invitation"));
    let revoke = format!("/orgs/{org}/invitations/{id}/revoke");
    assert_eq!(app.call(Method::POST, revoke, None, Some(&owner)).await.status, 200);
    assert_eq!(app.call(Method::DELETE, format!("/orgs/{org}/roles/guest"), None, Some(&owner)).await.status, 204);
}

#[tokio::test]
async fn what_a_platform_admin_changes_is_audited() {
    let app = app().await;
    let (admin, admin_id) = account(&app, "admin").await;
    app.sql(&format!("UPDATE users SET is_platform_admin = true WHERE id = '{admin_id}'")).await;
    let (_, user) = account(&app, "user").await;
    app.login(&app.sql(&format!("SELECT email FROM users WHERE id = '{user}'")).await[0].get::<_, String>(0), PASSWORD)
        .await;
    let path = format!("/users/{user}");
    for body in [json!({"is_platform_admin": true}), json!({"is_platform_admin": false}), json!({"status": "disabled"})]
    {
        let res = app.call(Method::PATCH, &path, Some(body), Some(&admin)).await;
        assert_eq!(res.status, 200, "{}", res.json);
    }
    let rows = app
        .sql("SELECT action, metadata::text FROM audit_log WHERE action IN ('user.updated', 'session.revoked') ORDER BY id")
        .await;
    let actions: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(actions, ["user.updated", "user.updated", "user.updated", "session.revoked", "session.revoked"]);
    let granted: String = rows[0].get(1);
    assert!(
        granted.contains(r#""is_platform_admin": true"#) || granted.contains(r#""is_platform_admin":true"#),
        "{granted}"
    );
    let ended = count(
        &app,
        &format!("SELECT count(*) FROM audit_log WHERE action = 'session.revoked' AND actor_id = '{admin_id}'"),
    )
    .await;
    assert_eq!(ended, 2, "a row for each of the two sessions the disable ended");
}
