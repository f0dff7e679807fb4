//! What writing events costs the writes that make them: a role change and an invitation, each
//! on a database of its own, by this build's `identity serve` or by a baseline commit's (one
//! from before events), so that both meet the same empty schema and the same requests.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::api::Api;
use crate::cpu;
use crate::load::{self, Target};
use crate::server::{self, Server};

/// How long each write is measured, and where.
pub struct Setup<'a> {
    /// The cluster's admin connection and port, for a database of this run's own.
    pub admin: &'a tokio_postgres::Client,
    pub port: u16,
    /// The cluster's postmaster, whose children's CPU is the database's.
    pub postmaster: u32,
    /// Where the bench writes its logs.
    pub out: &'a Path,
    /// The issuer and keys every process here shares.
    pub common: &'a [(String, String)],
    /// Seconds measured and warmed up, per round.
    pub seconds: u64,
    pub warmup: u64,
}

/// Two alternating rounds of each write by the `identity` in `bin`, as rows of kind
/// `write-cost` marked `variant` (after: this build; before: the baseline) and `commit`.
pub async fn measure(setup: &Setup<'_>, bin: &Path, variant: &str, commit: &str) -> anyhow::Result<Vec<Value>> {
    let database = format!("identity_writes_{variant}");
    setup.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database}")).await?;
    setup.admin.batch_execute(&format!("CREATE DATABASE {database}")).await?;
    let url = format!("postgres://postgres@127.0.0.1:{}/{database}", setup.port);
    if !Command::new(bin.join("identity")).arg("migrate").env("DATABASE_URL", &url).status().await?.success() {
        bail!("{variant}: identity migrate failed");
    }
    let mut env = setup.common.to_vec();
    env.extend(server::ip_limits("0"));
    // Mail is printed, not sent: both builds queue an invitation's mail in its transaction and
    // send it after, alike; the sender of webhooks has no endpoint to send to and is off.
    env.extend(server::env(&[
        ("DATABASE_URL", &url),
        ("MAIL_TRANSPORT", "log"),
        ("WEBHOOK_SENDER_OFF", "true"),
        ("QUOTA_ROLES_PER_ORG", "0"),
    ]));
    let served = Server::start(bin, setup.out, &format!("writes-{variant}"), &env).await?;
    let api = Api::new(&served.url);
    let (token, _) = api.account("writer@bench.example", "bench password 1").await?;
    let org = api.expect("POST", "/orgs", json!({"name": "Writes"}), Some(&token), 201).await?;
    let org = org["id"].as_str().context("an org id")?.to_owned();
    let role = json!({"name": "written", "permissions": ["members:read"]});
    api.expect("POST", &format!("/orgs/{org}/roles"), role, Some(&token), 201).await?;
    let auth = format!("authorization: Bearer {token}");
    let role_change = role_change(format!("{}/orgs/{org}/roles/written", served.url), &auth);
    // Every invitation to an address of its own (a second to one address would be a 409): `{n}`
    // counts from 1 in each load, so each load also has its own `{run}`.
    let invitation = Target {
        method: "POST".into(),
        url: format!("{}/orgs/{org}/invitations", served.url),
        headers: vec![auth],
        body: Some(r#"{"email": "invitee{run}.{n}@bench.example"}"#.into()),
        vary: u64::MAX,
        expect: None,
    };
    let mut rows = vec![];
    for round in 1..=2 {
        for (name, target) in [("role-change", &role_change), ("invitation", &invitation)] {
            let load = |phase: &str| {
                let body = target.body.as_ref().map(|b| b.replace("{run}", &format!("{round}-{phase}")));
                Target { body, ..target.clone() }
            };
            if setup.warmup > 0 {
                load::run(load("warm"), 0, setup.warmup, 0, 4).await?;
            }
            let before = cpu::Usage::now(served.pid()?, setup.postmaster)?;
            let row = load::run(load("measured"), 0, setup.seconds, 0, 4).await?;
            let requests = row["requests"].as_f64().unwrap_or(0.0);
            let (server_us, database_us) =
                cpu::Usage::now(served.pid()?, setup.postmaster)?.per_request_since(&before, requests);
            let fields = json!({"kind": "write-cost", "name": name, "variant": variant, "commit": commit,
                                "round": round, "server_us": server_us, "database_us": database_us});
            rows.push(load::with(row, fields));
        }
    }
    drop(served);
    setup.admin.batch_execute(&format!("DROP DATABASE {database} WITH (FORCE)")).await?;
    Ok(rows)
}

/// A role's description changed over and over (an audited change, so an event): a PATCH of the
/// role at `url`, with the `authorization` header `auth`.
pub fn role_change(url: String, auth: &str) -> Target {
    Target {
        method: "PATCH".into(),
        url,
        headers: vec![auth.to_owned()],
        body: Some(r#"{"description": "written {n}"}"#.into()),
        vary: 1000,
        expect: None,
    }
}
