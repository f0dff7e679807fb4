//! Verified domains against a real DNS server (scripts/lib/dns_server.py, which answers what
//! each test publishes): claims normalised and refused, a proof that is one whole TXT record
//! at the challenge name and nothing near it, the first organization to prove a domain
//! holding it, the schedule's re-check, and what a verified domain does for people at it.

use std::time::Duration;

use axum::http::Method;
use identity_shared::domains::dns::TxtResolver;
use identity_shared::services::domain_checks;
use identity_testkit::TestApp;
use identity_testkit::client::TestResponse;
use identity_testkit::dns::{self, Answer};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{PASSWORD, app, create_org, user_id};

/// Claims `domain` for `org`; the 201's body.
pub async fn claim(app: &TestApp, token: &str, org: Uuid, domain: &str) -> Value {
    let res =
        app.call(Method::POST, format!("/orgs/{org}/domains"), Some(json!({"domain": domain})), Some(token)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    res.json
}

/// Asks for the claim's record to be looked up now.
pub async fn verify(app: &TestApp, token: &str, org: Uuid, claim: &Value) -> TestResponse {
    let id = claim["id"].as_str().unwrap();
    app.call(Method::POST, format!("/orgs/{org}/domains/{id}/verify"), None, Some(token)).await
}

/// Publishes the claim's exact record at its challenge name.
pub fn prove(claim: &Value) {
    let name = claim["verification"]["record_name"].as_str().unwrap();
    dns::publish(name, Answer::txt(claim["verification"]["record_value"].as_str().unwrap()));
}

/// Claims, proves and verifies `domain` for `org`, with `mode` once verified.
pub async fn verified(app: &TestApp, token: &str, org: Uuid, domain: &str, mode: &str) -> Value {
    let claimed = claim(app, token, org, domain).await;
    prove(&claimed);
    let res = verify(app, token, org, &claimed).await;
    assert_eq!(res.json["state"], "verified", "{}", res.json);
    let id = claimed["id"].as_str().unwrap();
    let body = json!({"enrollment_mode": mode});
    let res = app.call(Method::PATCH, format!("/orgs/{org}/domains/{id}"), Some(body), Some(token)).await;
    assert_eq!(res.status, 200, "{}", res.json);
    res.json
}

/// An owner (owner@<domain of their own>) and their organization.
async fn owner_of(app: &TestApp, name: &str) -> (String, Uuid) {
    let (owner, _) = app.signed_in(&format!("owner.{}@owners.example.net", Uuid::now_v7().simple()), PASSWORD).await;
    let org = create_org(app, &owner, name).await;
    (owner, org)
}

#[tokio::test]
async fn claims_are_normalised_refused_clearly_and_permitted_to_managers() {
    let app = app().await;
    let (owner, org) = owner_of(&app, "Acme").await;
    let domain = dns::unique_domain("acme");
    let claimed = claim(&app, &owner, org, &format!(" {}. ", domain.to_uppercase())).await;
    assert_eq!(claimed["domain"], domain.as_str());
    assert_eq!(claimed["state"], "pending");
    assert_eq!(claimed["enrollment_mode"], "manual");
    assert_eq!(claimed["verification"]["record_type"], "TXT");
    assert_eq!(claimed["verification"]["record_name"], format!("_identity-challenge.{domain}"));
    let value = claimed["verification"]["record_value"].as_str().unwrap();
    let token = value.strip_prefix("identity-domain-verification=").expect("the record's prefix");
    assert!(token.len() >= 43, "a random token of 256 bits: {token}");
    let expires: chrono::DateTime<chrono::Utc> = claimed["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.0).contains(&days), "a claim lives 30 days: {days}");

    // An internationalised name is stored in its ASCII form.
    let idn = claim(&app, &owner, org, &format!("bücher-{}.example", Uuid::now_v7().simple())).await;
    assert!(idn["domain"].as_str().unwrap().starts_with("xn--bcher-"), "{}", idn["domain"]);

    let path = format!("/orgs/{org}/domains");
    for (raw, why) in [
        ("192.0.2.1", "IP address"),
        ("[2001:db8::1]", "IP address"),
        ("intranet", "single label"),
        ("co.uk", "public suffix"),
        ("github.io", "public suffix"),
        ("gmail.com", "consumer"),
        ("ada@acme.example.com", "not an email address"),
        ("", "empty"),
    ] {
        let res = app.call(Method::POST, &path, Some(json!({"domain": raw})), Some(&owner)).await;
        let problem = res.assert_problem(422);
        assert_eq!(problem["errors"][0]["field"], "domain", "{raw}");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains(why), "{raw}: {problem}");
    }
    let again = app.call(Method::POST, &path, Some(json!({"domain": domain})), Some(&owner)).await;
    again.assert_problem(409);

    // A member reads; only a holder of domains:manage claims, changes, verifies or deletes.
    let (member, _) = app.signed_in("member@example.com", PASSWORD).await;
    app.add_member(org, user_id(&app, &member), &["member"]).await;
    let listed = app.get(&path, Some(&member)).await;
    assert_eq!(listed.status, 200, "{}", listed.json);
    assert_eq!(listed.json["items"].as_array().unwrap().len(), 2);
    let id = claimed["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("{path}/{id}"), Some(&member)).await.json["domain"], domain.as_str());
    let other = dns::unique_domain("member");
    app.call(Method::POST, &path, Some(json!({"domain": other})), Some(&member)).await.assert_problem(403);
    verify(&app, &member, org, &claimed).await.assert_problem(403);
    let mode = json!({"enrollment_mode": "auto_join"});
    app.call(Method::PATCH, format!("{path}/{id}"), Some(mode.clone()), Some(&member)).await.assert_problem(403);
    app.call(Method::DELETE, format!("{path}/{id}"), None, Some(&member)).await.assert_problem(403);
    let bad =
        app.call(Method::PATCH, format!("{path}/{id}"), Some(json!({"enrollment_mode": "open"})), Some(&owner)).await;
    assert_eq!(bad.assert_problem(422)["errors"][0]["field"], "enrollment_mode");
    let set = app.call(Method::PATCH, format!("{path}/{id}"), Some(mode), Some(&owner)).await;
    assert_eq!(set.json["enrollment_mode"], "auto_join", "{}", set.json);

    // Another organization's member sees none of it.
    let (stranger, _) = owner_of(&app, "Beta").await;
    app.get(&format!("{path}/{id}"), Some(&stranger)).await.assert_problem(404);

    assert_eq!(app.call(Method::DELETE, format!("{path}/{id}"), None, Some(&owner)).await.status, 204);
    app.get(&format!("{path}/{id}"), Some(&owner)).await.assert_problem(404);
    let actions: Vec<String> = app
        .sql(&format!("SELECT action FROM audit_log WHERE org_id = '{org}' AND target_type = 'domain' ORDER BY id"))
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(actions, ["domain.created", "domain.created", "domain.updated", "domain.deleted"]);
}

#[tokio::test]
async fn only_one_whole_record_at_the_challenge_name_proves_a_claim() {
    let app = app().await;
    let (owner, org) = owner_of(&app, "Acme").await;
    /// What the server answers for the challenge name (and the apex), and whether it proves.
    enum Case {
        Proves(fn(&str) -> Answer),
        Pending(fn(&str) -> Answer, &'static str),
        Apex,
    }
    let cases: Vec<(&str, Case)> = vec![
        ("exact", Case::Proves(Answer::txt)),
        ("among-others", Case::Proves(|v| Answer::Txt(vec![vec!["v=spf1 -all".into()], vec![v.into()]]))),
        ("split", Case::Proves(|v| Answer::Txt(vec![vec![v[..20].into(), v[20..].into()]]))),
        ("absent", Case::Pending(|_| Answer::NxDomain, "does not exist (NXDOMAIN)")),
        ("no-txt", Case::Pending(|_| Answer::Empty, "No TXT record")),
        ("suffixed", Case::Pending(|v| Answer::txt(&format!("{v}x")), "is exactly")),
        ("prefixed", Case::Pending(|v| Answer::txt(&format!("x{v}")), "is exactly")),
        ("inside", Case::Pending(|v| Answer::txt(&format!("a {v} b")), "is exactly")),
        ("truncated", Case::Pending(|v| Answer::txt(&v[..v.len() - 1]), "is exactly")),
        ("upper-case", Case::Pending(|v| Answer::txt(&v.to_uppercase()), "is exactly")),
        ("servfail", Case::Pending(|_| Answer::ServFail, "lookup")),
        ("slow", Case::Pending(|_| Answer::Slow(Duration::from_millis(2500)), "lookup")),
        ("apex", Case::Apex),
    ];
    for (label, case) in cases {
        let domain = dns::unique_domain(label);
        // Upper case in the claim: it is normalised, and the lookup is of the normalised name.
        let claimed = claim(&app, &owner, org, &domain.to_uppercase()).await;
        let name = claimed["verification"]["record_name"].as_str().unwrap();
        let value = claimed["verification"]["record_value"].as_str().unwrap();
        match &case {
            Case::Proves(answer) | Case::Pending(answer, _) => dns::publish(name, answer(value)),
            // The record at the domain itself, not at the challenge name.
            Case::Apex => dns::publish(&domain, Answer::txt(value)),
        }
        let res = verify(&app, &owner, org, &claimed).await;
        assert_eq!(res.status, 200, "{label}: {}", res.json);
        match case {
            Case::Proves(_) => {
                assert_eq!(res.json["state"], "verified", "{label}: {}", res.json);
                assert!(res.json["verified_at"].is_string() && res.json["expires_at"].is_null(), "{label}");
                assert!(res.json["last_error"].is_null(), "{label}");
            }
            Case::Pending(_, why) => {
                assert_eq!(res.json["state"], "pending", "{label}: {}", res.json);
                let error = res.json["last_error"].as_str().unwrap_or_default();
                assert!(error.contains(why), "{label}: {error}");
                assert!(res.json["last_checked_at"].is_string(), "{label}");
            }
            Case::Apex => {
                assert_eq!(res.json["state"], "pending", "{label}: {}", res.json);
                assert!(res.json["last_error"].as_str().unwrap().contains("NXDOMAIN"), "{}", res.json);
            }
        }
    }
    // An internationalised domain: claimed in Unicode, proven at its ASCII challenge name.
    let idn = claim(&app, &owner, org, &format!("Bücher-{}.Example.com", Uuid::now_v7().simple())).await;
    let name = idn["verification"]["record_name"].as_str().unwrap();
    assert!(name.starts_with("_identity-challenge.xn--bcher-"), "{name}");
    prove(&idn);
    assert_eq!(verify(&app, &owner, org, &idn).await.json["state"], "verified");
    // A verified domain verifies again as it is; its record can go.
    let domain = dns::unique_domain("again");
    let claimed = verified(&app, &owner, org, &domain, "manual").await;
    dns::publish(claimed["verification"]["record_name"].as_str().unwrap(), Answer::NxDomain);
    assert_eq!(verify(&app, &owner, org, &claimed).await.json["state"], "verified");
    let verified_rows =
        app.sql(&format!("SELECT count(*) FROM audit_log WHERE org_id = '{org}' AND action = 'domain.verified'")).await;
    assert_eq!(verified_rows[0].get::<_, i64>(0), 5, "three cases, the IDN and the last domain, each once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_organization_to_prove_a_domain_holds_it() {
    let app = app().await;
    let domain = dns::unique_domain("contested");
    let mut claims = vec![];
    for name in ["Acme", "Beta", "Gamma"] {
        let (owner, org) = owner_of(&app, name).await;
        let claimed = claim(&app, &owner, org, &domain).await;
        claims.push((owner, org, claimed));
    }
    // Each claim's record at the one challenge name, as several TXT records.
    let name = claims[0].2["verification"]["record_name"].as_str().unwrap().to_owned();
    let records: Vec<Vec<String>> =
        claims.iter().map(|(_, _, c)| vec![c["verification"]["record_value"].as_str().unwrap().to_owned()]).collect();
    dns::publish(&name, Answer::Txt(records));
    // Two verify at once: exactly one holds it.
    let (a, b) = (&claims[0], &claims[1]);
    let (first, second) = tokio::join!(verify(&app, &a.0, a.1, &a.2), verify(&app, &b.0, b.1, &b.2));
    let statuses = [first.status.as_u16(), second.status.as_u16()];
    assert!(statuses.contains(&200) && statuses.contains(&409), "{statuses:?}: {} {}", first.json, second.json);
    let loser = if first.status == 409 { &first } else { &second };
    assert!(loser.json["detail"].as_str().unwrap().contains("Another organization"), "{}", loser.json);
    // The third, later: told so, its claim still pending with why.
    let c = &claims[2];
    verify(&app, &c.0, c.1, &c.2).await.assert_problem(409);
    let id = c.2["id"].as_str().unwrap();
    let pending = app.get(&format!("/orgs/{}/domains/{id}", c.1), Some(&c.0)).await;
    assert_eq!(pending.json["state"], "pending");
    assert!(pending.json["last_error"].as_str().unwrap().contains("verified"), "{}", pending.json);
    // A new claim on a held domain is refused at once.
    let (late, org) = owner_of(&app, "Delta").await;
    let res =
        app.call(Method::POST, format!("/orgs/{org}/domains"), Some(json!({"domain": domain})), Some(&late)).await;
    res.assert_problem(409);
    let held =
        app.sql(&format!("SELECT count(*) FROM org_domains WHERE domain = '{domain}' AND state = 'verified'")).await;
    assert_eq!(held[0].get::<_, i64>(0), 1);
}

#[tokio::test]
async fn the_schedule_proves_pending_claims_and_ends_old_ones() {
    let app = app().await;
    let (owner, org) = owner_of(&app, "Acme").await;
    let later = claim(&app, &owner, org, &dns::unique_domain("later")).await;
    let never = claim(&app, &owner, org, &dns::unique_domain("never")).await;
    let old = claim(&app, &owner, org, &dns::unique_domain("old")).await;
    prove(&later);
    prove(&old);
    // One claim made 31 days ago: it ends, proof or not.
    let old_id = old["id"].as_str().unwrap();
    app.sql(&format!(
        "UPDATE org_domains SET created_at = now() - interval '31 days', expires_at = now() - interval '1 day' WHERE id = '{old_id}'"
    ))
    .await;
    let settings = &app.state.config().domains;
    let resolver = TxtResolver::new(settings.dns_server, settings.dns_timeout).unwrap();
    let report = domain_checks::recheck(app.state.pool(), &resolver).await.unwrap();
    assert_eq!((report.checked, report.verified, report.expired), (2, 1, 1), "{report:?}");
    let state = |claim: &Value| {
        let id = claim["id"].as_str().unwrap().to_owned();
        let (app, owner) = (&app, &owner);
        async move { app.get(&format!("/orgs/{org}/domains/{id}"), Some(owner)).await.json }
    };
    assert_eq!(state(&later).await["state"], "verified");
    let never_now = state(&never).await;
    assert_eq!(never_now["state"], "pending");
    assert!(never_now["last_error"].as_str().unwrap().contains("NXDOMAIN"), "{never_now}");
    let old_now = state(&old).await;
    assert_eq!(old_now["state"], "failed");
    assert!(old_now["last_error"].as_str().unwrap().contains("30 days"), "{old_now}");
    verify(&app, &owner, org, &old).await.assert_problem(409);
    // Just looked at: the next run leaves the pending claim alone.
    let again = domain_checks::recheck(app.state.pool(), &resolver).await.unwrap();
    assert_eq!(again.checked, 0, "{again:?}");
    let rows = app
        .sql(&format!(
            "SELECT action, actor_id IS NULL FROM audit_log WHERE org_id = '{org}' AND action IN ('domain.verified', 'domain.verification_failed') ORDER BY id"
        ))
        .await;
    let rows: Vec<(String, bool)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(rows, [("domain.verification_failed".into(), true), ("domain.verified".into(), true)], "by the system");
    let events =
        app.sql("SELECT type, actor_type FROM events WHERE type LIKE 'organization_domain.%' ORDER BY id").await;
    assert!(
        events
            .iter()
            .any(|r| r.get::<_, String>(0) == "organization_domain.verified" && r.get::<_, String>(1) == "system")
    );
}
