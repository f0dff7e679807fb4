//! The whole benchmark as `scripts/bench` runs it: a private PostgreSQL cluster (its statement
//! log counts round trips) and a seeded database, `identity serve` at the production argon2
//! cost, every measurement in turn into JSON lines, and the report. Goals are goals to measure
//! against, not tests: nothing here fails on them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use identity_shared::auth::jwk::{self, SigningAlg};
use identity_testkit::cluster::Cluster;
use identity_testkit::proxy::Proxy;
use identity_testkit::tls::TlsServer;
use serde_json::{Value, json};
use tokio::process::Command;

use crate::api::Api;
use crate::cpu;
use crate::load::{self, Target, with};
use crate::server::{self, Server, UNREACHED, free_port, ip_limits};
use crate::{coldstart, fake_ses, flows, hashing, reads, report, webhooks, wire, writes};
use identity_testkit::rie::RieFunction;

/// Every seeded account's password.
const PASSWORD: &str = "bench password 1";

/// How long and how often each step measures.
pub struct Plan {
    /// Where the built binaries are (identity, identity-bench, identity-<function>).
    pub bin: PathBuf,
    /// Every step briefly, on the debug build, to prove the benchmark still works.
    pub smoke: bool,
    /// Seconds each load step measures.
    pub seconds: u64,
    /// Seconds of unrecorded load before each.
    pub warmup: u64,
    /// Cold starts per function.
    pub cold_starts: usize,
    /// Member pages walked before the deep-page measurement.
    pub pages: usize,
    /// Seconds of each growth measurement.
    pub short: u64,
    /// Requests whose round trips are counted, per kind.
    pub trips: usize,
    /// Measure only this commit's cold starts and event-making writes, into bench/baseline.jsonl.
    pub baseline: Option<String>,
}

impl Plan {
    /// The smoke run scripts/test makes after the tests.
    pub fn smoke(bin: PathBuf) -> Plan {
        Plan { bin, smoke: true, seconds: 1, warmup: 0, cold_starts: 2, pages: 5, short: 1, trips: 3, baseline: None }
    }

    /// The full run whose table goes into docs/benchmarks.md.
    pub fn full(bin: PathBuf, seconds: u64, cold_starts: usize, baseline: Option<String>) -> Plan {
        Plan { bin, smoke: false, seconds, warmup: 2, cold_starts, pages: 500, short: 5, trips: 20, baseline }
    }
}

/// The JSON lines measured so far, each also appended to `.local/bench/results.jsonl`.
struct Results {
    file: PathBuf,
    rows: Vec<Value>,
}

impl Results {
    fn record(&mut self, row: Value) -> anyhow::Result<()> {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.file)?;
        writeln!(file, "{row}")?;
        self.rows.push(row);
        Ok(())
    }
}

/// Every org read measured against GET /me, GET /me first and last.
fn every_read(org: &str, me: &str, invitation: &str) -> Vec<(&'static str, String)> {
    vec![
        ("me-first", "/me".to_owned()),
        ("GET /orgs/{org}", format!("/orgs/{org}")),
        ("GET /orgs/{org}/members", format!("/orgs/{org}/members?limit=20")),
        ("GET /orgs/{org}/members/{user}", format!("/orgs/{org}/members/{me}")),
        ("GET /orgs/{org}/roles", format!("/orgs/{org}/roles")),
        ("GET /orgs/{org}/invitations", format!("/orgs/{org}/invitations")),
        ("GET /orgs/{org}/invitations/{id}", format!("/orgs/{org}/invitations/{invitation}")),
        ("GET /orgs/{org}/audit-log", format!("/orgs/{org}/audit-log")),
        ("me-last", "/me".to_owned()),
    ]
}

/// A server's settings at info, in JSON lines, as on Lambda.
fn info_env(common: &[(String, String)]) -> Vec<(String, String)> {
    let mut env = common.to_vec();
    env.extend(server::env(&[("RUST_LOG", "info"), ("LOG_FORMAT", "json")]));
    env
}

/// The baseline's `identity serve` (built at `target`) measured as this build's is: the org
/// reads against GET /me, the ceiling, the log line.
#[allow(clippy::too_many_arguments)]
async fn baseline_reads(
    target: &Path,
    out: &Path,
    common: &[(String, String)],
    token: &str,
    api: &Api,
    postmaster: u32,
    plan: &Plan,
    commit: &str,
    cluster: &Cluster,
) -> anyhow::Result<Vec<Value>> {
    let org1 = org(1);
    let mut env = common.to_vec();
    env.extend(ip_limits("0"));
    let before = Server::start(target, out, "baseline", &env).await?;
    let me = api.expect("GET", "/me", Value::Null, Some(token), 200).await?;
    let me = me["id"].as_str().context("my id")?.to_owned();
    let invite = json!({"email": format!("baseline.{}@bench.example", std::process::id())});
    let invited = api.expect("POST", &format!("/orgs/{org1}/invitations"), invite, Some(token), 201).await?;
    let invitation = invited["id"].as_str().context("an invitation id")?.to_owned();
    let setup = reads::Setup {
        url: &before.url,
        pid: before.pid()?,
        postmaster,
        token,
        seconds: plan.short,
        warmup: plan.warmup.min(1),
        commit,
    };
    let mut rows = reads::ratios(&setup, &every_read(&org1, &me, &invitation)).await?;
    let (admin, connection) = tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let database_url = format!("postgres://postgres@127.0.0.1:{}/identity_bench", cluster.port());
    let log = cluster.log_file();
    let database = reads::Database { admin: &admin, log: &log, url: &database_url, out };
    rows.extend(reads::ceilings(&setup, &database, &org1).await?);
    let info = Server::start(target, out, "baseline-info", &info_env(common)).await?;
    rows.extend(reads::logging(&setup, &before.url, &info.url, &org1).await?);
    Ok(rows)
}

/// Org number `n` of the seed data.
fn org(n: u32) -> String {
    format!("00000000-0000-4000-9000-{n:012x}")
}

/// Runs the benchmark in the repository at `root`.
pub async fn run(root: &Path, plan: Plan) -> anyhow::Result<()> {
    let out = root.join(".local/bench");
    std::fs::create_dir_all(&out)?;
    let mut results = Results { file: out.join("results.jsonl"), rows: vec![] };
    std::fs::write(&results.file, "")?;

    println!("== PostgreSQL");
    let cluster = Cluster::start_durable_with("-c max_connections=200").await;
    let (admin, connection) = tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    admin.batch_execute("CREATE DATABASE identity_bench").await?;
    let database_url = format!("postgres://postgres@127.0.0.1:{}/identity_bench", cluster.port());
    let status = Command::new(plan.bin.join("identity")).arg("migrate").env("DATABASE_URL", &database_url).status();
    if !status.await?.success() {
        bail!("identity migrate failed");
    }
    let (db, connection) = tokio_postgres::connect(&database_url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);

    println!("== seeding 101,000 users, 102 orgs, 111,000 memberships");
    let hash = hashing::hash(PASSWORD).await?;
    let seed = std::fs::read_to_string(root.join("bench/seed.sql"))?;
    // The seed is also psql's (-v hash=...); the hash holds no quote. What follows its
    // transaction (VACUUM, CHECKPOINT) cannot run in one, so each goes alone.
    let seed = seed.replace(":'hash'", &format!("'{hash}'"));
    let (data, settle) = seed.split_once("COMMIT;").context("the seed commits")?;
    db.batch_execute(&format!("{data}COMMIT;")).await.map_err(|e| anyhow::anyhow!("seeding: {e:?}"))?;
    let settle: String = settle.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
    for statement in settle.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        db.batch_execute(statement).await.map_err(|e| anyhow::anyhow!("{statement}: {e:?}"))?;
    }

    // EdDSA access tokens and an RS256 key for ID tokens, as scripts/dev and the guide set up.
    let private_key = format!("{},{}", jwk::generate(SigningAlg::EdDSA).0, jwk::generate(SigningAlg::RS256).0);
    let api_url = format!("http://127.0.0.1:{}", free_port()?);
    // Users 3001-4000 sign in with a second factor, sealed under the server's key.
    let mfa_key = identity_shared::auth::tokens::generate();
    let with_factor = crate::mfa::seed(&db, &mfa_key, 3001, 1000).await?;
    // The issuer every process here signs and checks: the server's and the functions' alike.
    let common = vec![
        ("DATABASE_URL".to_owned(), database_url.clone()),
        ("JWT_PRIVATE_KEY".to_owned(), private_key),
        ("JWT_ISSUER".to_owned(), api_url.clone()),
        ("MFA_ENCRYPTION_KEY".to_owned(), mfa_key),
    ];
    let ses_port = free_port()?;
    let mut main_env = common.clone();
    main_env.extend(ip_limits("0"));
    // The webhook step's own server sends; this one's sender would only compete with it.
    main_env.extend(server::env(&[("WEBHOOK_SENDER_OFF", "true"), ("SSO_ALLOW_LOCAL_PROVIDERS", "true")]));
    main_env.extend(fake_ses_env(ses_port));
    let server = Server::start_on(&plan.bin, &out, "main", &api_url, &main_env).await?;
    let api = Api::new(&api_url);
    let login = |email: String| {
        let api = &api;
        async move { api.expect("POST", "/auth/login", json!({"email": email, "password": PASSWORD}), None, 200).await }
    };
    let signed_in = login("user1@bench.example".into()).await?;
    let token = signed_in["access_token"].as_str().context("an access token")?.to_owned();
    let cold = ColdStarts { root, plan: &plan, token: &token, common: &common };
    let postmaster = cluster.postmaster_pid().context("the benchmark's PostgreSQL is not running")?;
    let writes = writes::Setup {
        admin: &admin,
        port: cluster.port(),
        postmaster,
        out: &out,
        common: &common,
        seconds: plan.short,
        warmup: plan.warmup.min(1),
    };

    if let Some(commit) = &plan.baseline {
        println!("== {commit}'s functions and identity (release), for the before figures");
        let target = build_baseline(root, &out, commit).await?;
        for row in cold.all(&target, "before", commit).await? {
            results.record(row)?;
        }
        println!("== {commit}'s writes: a role change and an invitation (closed loop, 4 connections)");
        for row in writes::measure(&writes, &target, "before", commit).await? {
            results.record(row)?;
        }
        println!("== {commit}'s reads: GET /me and the org reads, the ceiling, the log line");
        for row in baseline_reads(&target, &out, &common, &token, &api, postmaster, &plan, commit, &cluster).await? {
            results.record(row)?;
        }
        let lines: Vec<String> = results.rows.iter().map(Value::to_string).collect();
        std::fs::write(root.join("bench/baseline.jsonl"), lines.join("\n") + "\n")?;
        println!("wrote bench/baseline.jsonl ({commit})");
        drop(server);
        return Ok(());
    }

    let auth = format!("authorization: Bearer {token}");
    let get = |url: String| Target {
        method: "GET".into(),
        url,
        headers: vec![auth.clone()],
        body: None,
        vary: 1,
        expect: None,
    };
    let logins = || Target {
        method: "POST".into(),
        url: format!("{api_url}/auth/login"),
        headers: vec![],
        body: Some(format!(r#"{{"email": "user{{n}}@bench.example", "password": "{PASSWORD}"}}"#)),
        vary: 1000,
        expect: None,
    };
    let (org1, mid, big) = (org(1), org(101), org(102));

    println!("== warm reads: open loop at 500 requests/s (latency from when each was due), then closed loop");
    for (name, path, rate) in [
        ("org-open", format!("/orgs/{org1}"), 500),
        ("members-open", format!("/orgs/{org1}/members?limit=20"), 500),
        ("org-closed", format!("/orgs/{org1}"), 0),
        ("members-closed", format!("/orgs/{org1}/members?limit=20"), 0),
    ] {
        let row = load::run(get(format!("{api_url}{path}")), rate, plan.seconds, plan.warmup, 32).await?;
        results.record(with(row, json!({"kind": "http", "name": name})))?;
    }

    println!("== every org read against GET /me (closed loop, 8 connections, one run)");
    let me = api.expect("GET", "/me", Value::Null, Some(&token), 200).await?;
    let me = me["id"].as_str().context("my id")?.to_owned();
    let invite = json!({"email": format!("ratio.{}@bench.example", std::process::id())});
    let invited = api.expect("POST", &format!("/orgs/{org1}/invitations"), invite, Some(&token), 201).await?;
    let invitation = invited["id"].as_str().context("an invitation id")?.to_owned();
    let reads = every_read(&org1, &me, &invitation);
    let setup = reads::Setup {
        url: &api_url,
        pid: server.pid()?,
        postmaster,
        token: &token,
        seconds: plan.short,
        warmup: plan.warmup.min(1),
        commit: "",
    };
    for row in reads::ratios(&setup, &reads).await? {
        results.record(row)?;
    }

    println!("== the database's ceiling: GET /me's and GET /orgs/{{org}}'s statements run by pgbench alone");
    let log = cluster.log_file();
    let database = reads::Database { admin: &admin, log: &log, url: &database_url, out: &out };
    for row in reads::ceilings(&setup, &database, &org1).await? {
        results.record(row)?;
    }

    println!("== the verified-token cache: GET /me and GET /orgs/{{org}} with it on and off, alternating");
    let mut uncached_env = common.clone();
    uncached_env.extend(ip_limits("0"));
    uncached_env.extend(server::env(&[("TOKEN_CACHE_ENTRIES", "0")]));
    let uncached = Server::start(&plan.bin, &out, "uncached", &uncached_env).await?;
    for row in reads::token_cache(&setup, &uncached.url, &org1).await? {
        results.record(row)?;
    }
    drop(uncached);

    println!("== an org read with an API key beside the same read with a session, and a forged key");
    let key = json!({"name": "bench", "permissions": ["org:read"]});
    let key = api.expect("POST", &format!("/orgs/{org1}/api-keys"), key, Some(&token), 201).await?;
    let key = key["value"].as_str().context("a key value")?.to_owned();
    // The last checksum character changed: refused by the checksum, before any query.
    let mut forged = key.clone();
    let last = forged.pop().context("a key")?;
    forged.push(if last == '0' { '1' } else { '0' });
    for n in 1..=2 {
        for (variant, bearer, expect) in
            [("session", &token, None), ("api-key", &key, None), ("forged-key", &forged, Some(401))]
        {
            let target = Target {
                headers: vec![format!("authorization: Bearer {bearer}")],
                expect,
                ..get(format!("{api_url}/orgs/{org1}"))
            };
            if plan.warmup > 0 {
                load::run(target.clone(), 0, plan.warmup.min(1), 0, 8).await?;
            }
            let before = cpu::Usage::now(server.pid()?, postmaster)?;
            let row = load::run(target, 0, plan.short, 0, 8).await?;
            let requests = row["requests"].as_f64().unwrap_or(0.0);
            let (server_us, database_us) =
                cpu::Usage::now(server.pid()?, postmaster)?.per_request_since(&before, requests);
            let fields = json!({"kind": "api-key", "variant": variant, "round": n, "server_us": server_us, "database_us": database_us});
            results.record(with(row, fields))?;
        }
    }

    println!("== client-credentials grants against GET /me (closed loop, 8 connections, alternating rounds)");
    let client =
        json!({"name": "grants", "permissions": ["org:read"], "token_endpoint_auth_method": "client_secret_post"});
    let client = api.expect("POST", &format!("/orgs/{org1}/clients"), client, Some(&token), 201).await?;
    let grant = Target {
        method: "POST".into(),
        url: format!("{api_url}/oauth2/token"),
        headers: vec!["content-type: application/x-www-form-urlencoded".into()],
        body: Some(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            client["client_id"].as_str().context("a client id")?,
            client["client_secret"].as_str().context("a client secret")?
        )),
        vary: 1,
        expect: None,
    };
    for n in 1..=2 {
        for (variant, target) in [("me", get(format!("{api_url}/me"))), ("grant", grant.clone())] {
            let row = load::run(target, 0, plan.short, plan.warmup.min(1), 8).await?;
            results.record(with(row, json!({"kind": "grant", "variant": variant, "round": n})))?;
        }
    }

    println!(
        "== webhooks: a change's request to the receiver's 2xx; a role write with an endpoint taking it and without"
    );
    let (hook_url, arrivals) = webhooks::receiver().await?;
    let mut hooks_env = common.clone();
    hooks_env.extend(ip_limits("0"));
    hooks_env.extend(server::env(&[("WEBHOOK_ALLOW_LOCAL_TARGETS", "true"), ("QUOTA_ROLES_PER_ORG", "0")]));
    let hooked = Server::start(&plan.bin, &out, "webhooks", &hooks_env).await?;
    let hooks_api = Api::new(&hooked.url);
    let endpoint = json!({"url": hook_url, "event_types": ["role.created", "role.updated"]});
    let endpoint = hooks_api.expect("POST", &format!("/orgs/{org1}/webhooks"), endpoint, Some(&token), 201).await?;
    let endpoint = format!("/orgs/{org1}/webhooks/{}", endpoint["id"].as_str().context("an endpoint id")?);
    let count = if plan.smoke { 5 } else { 200 };
    results.record(webhooks::commit_to_delivery(&hooks_api, &token, &org1, &arrivals, count, "serve").await?)?;
    let role = json!({"name": "webhook-writes", "permissions": ["members:read"]});
    hooks_api.expect("POST", &format!("/orgs/{org1}/roles"), role, Some(&token), 201).await?;
    let write = writes::role_change(format!("{}/orgs/{org1}/roles/webhook-writes", hooked.url), &auth);
    for n in 1..=2 {
        for (variant, enabled) in [("none", false), ("endpoint", true)] {
            let toggle = json!({"enabled": enabled});
            hooks_api.expect("PATCH", &endpoint, toggle, Some(&token), 200).await?;
            let row = load::run(write.clone(), 0, plan.short, plan.warmup.min(1), 4).await?;
            results.record(with(row, json!({"kind": "webhook-write", "variant": variant, "round": n})))?;
        }
    }
    hooks_api
        .expect("PATCH", &endpoint, json!({"enabled": true, "event_types": ["role.created"]}), Some(&token), 200)
        .await?;

    println!(
        "== the same under the Lambda Runtime Interface Emulator: the orgs function hands off to the sender function"
    );
    let mut sender_env = common.clone();
    sender_env.extend(server::env(&[("WEBHOOK_ALLOW_LOCAL_TARGETS", "true"), ("RUST_LOG", "warn")]));
    let sender = RieFunction::start(&plan.bin.join("identity-sender"), &borrowed(&sender_env)).await;
    let mut orgs_env = common.clone();
    orgs_env.extend(fake_ses_env(ses_port));
    orgs_env.extend(server::env(&[("WEBHOOK_SENDER_FUNCTION", "function"), ("RUST_LOG", "warn")]));
    orgs_env.push(("AWS_ENDPOINT_URL_LAMBDA".into(), sender.url()));
    orgs_env.push(("QUOTA_ROLES_PER_ORG".into(), "0".into()));
    let orgs = RieFunction::start(&plan.bin.join("identity-orgs"), &borrowed(&orgs_env)).await;
    let create = cold.event("orgs-roles-create")?;
    let row = webhooks::through_functions(&orgs, &create, &api, &token, &org1, &arrivals, count).await?;
    results.record(row)?;
    drop((orgs, sender));
    hooks_api.expect("DELETE", &endpoint, Value::Null, Some(&token), 204).await?;
    drop(hooked);

    println!("== writes that make events: a role change and an invitation (closed loop, 4 connections)");
    for row in writes::measure(&writes, &plan.bin, "after", "").await? {
        results.record(row)?;
    }

    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
    println!("== logins against the argon2 limit ({cores} cores)");
    // Enough clients that a login is always waiting for each core the hashing may use, as 1,000
    // different users: in-flight attempts at one email count toward its lockout until they
    // succeed. Logins and raw verifies alternate in short rounds, so drift in what the machine
    // gives us (a shared VM's CPU varies by 10-20% from minute to minute) falls on both alike.
    let round = plan.seconds / 2 + 1;
    for n in 1..=3 {
        let row = load::run(logins(), 0, round, plan.warmup, cores * 8).await?;
        results.record(with(row, json!({"kind": "http", "name": format!("login-{n}")})))?;
        let rate = hashing::verify_rate(round, cores).await?;
        results.record(with(rate, json!({"round": n})))?;
    }

    println!("== sign-in with a second factor beside sign-in without (each account once)");
    // The same closed loop for both: accounts 1-1000 with the password alone, 3001-4000 with
    // the password and then the current code, alternating.
    for n in 1..=2 {
        let plain: Vec<(String, Option<Vec<u8>>)> =
            (1..=1000).map(|k| (format!("user{k}@bench.example"), None)).collect();
        let row = crate::mfa::sign_ins(&api_url, plain, PASSWORD, round, cores * 8).await?;
        results.record(with(row, json!({"kind": "sign-in", "variant": "password", "round": n})))?;
        // Each round its own half of the accounts: a code is accepted once per time step.
        let half = with_factor.iter().skip((n - 1) * 500).take(500);
        let coded: Vec<(String, Option<Vec<u8>>)> = half.map(|(e, s)| (e.clone(), Some(s.clone()))).collect();
        let row = crate::mfa::sign_ins(&api_url, coded, PASSWORD, round, cores * 8).await?;
        results.record(with(row, json!({"kind": "sign-in", "variant": "code", "round": n})))?;
    }

    println!(
        "== an application's sign-in through the OpenID Provider beside a plain login; the token endpoint's grants"
    );
    db.execute("UPDATE users SET is_platform_admin = true WHERE email = 'user1@bench.example'", &[]).await?;
    let application = crate::oidc::register(&api, &token).await?;
    for row in crate::oidc::measure(&api_url, application, PASSWORD, plan.seconds, cores * 8).await? {
        results.record(row)?;
    }

    println!("== a single sign-on callback beside its provider's own answer");
    let idp = crate::sso::provider().await?;
    let sso_app = crate::sso::connect(&api, &db, &token, &org1, &idp.issuer).await?;
    for row in crate::sso::measure(&api_url, &idp, &sso_app, if plan.smoke { 3 } else { 300 }).await? {
        results.record(row)?;
    }
    drop(idp);

    println!("== logins while a flood of forged password-reset tokens comes in");
    // The same login load beside as many clients sending well-formed reset tokens that match
    // nothing: each must cost a database lookup, not a password hash.
    let forged = Target {
        method: "POST".into(),
        url: format!("{api_url}/auth/password/reset"),
        headers: vec![],
        body: Some(format!(r#"{{"token": "{}", "new_password": "flood password 1"}}"#, "A".repeat(43))),
        vary: 1,
        expect: Some(422),
    };
    let flood = tokio::spawn(load::run(forged.clone(), 0, round + 2, 0, cores * 8));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let busy = load::run(logins(), 0, round, plan.warmup, cores * 8).await?;
    let flood = flood.await??;
    results.record(with(flood, json!({"kind": "http", "name": "flood-resets"})))?;
    results.record(with(busy, json!({"kind": "http", "name": "flood-logins"})))?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (after_kib, peak_kib) = server.memory()?;
    results.record(json!({"kind": "memory", "after_kib": after_kib, "peak_kib": peak_kib}))?;

    println!("== the per-IP check: forged resets with limits off and on (never reached), alternating");
    let mut guarded_env = common.clone();
    guarded_env.extend(ip_limits(UNREACHED));
    let guarded = Server::start(&plan.bin, &out, "ip-limits", &guarded_env).await?;
    for n in 1..=2 {
        for (variant, base) in [("off", &api_url), ("on", &guarded.url)] {
            let target = Target { url: format!("{base}/auth/password/reset"), ..forged.clone() };
            let row = load::run(target, 0, plan.short, plan.warmup.min(1), 8).await?;
            results.record(with(row, json!({"kind": "ip-check", "variant": variant, "round": n})))?;
        }
    }
    drop(guarded);

    println!("== refresh rotation and invite + accept (closed loop)");
    results.record(flows::run(flows::Kind::Refresh, &api_url, 16, plan.seconds, 0, PASSWORD).await?)?;
    results.record(flows::run(flows::Kind::Invite, &api_url, 8, plan.seconds, ses_port, PASSWORD).await?)?;

    println!("== growth: members list with 1,000 and 100,000 members");
    for (name, org) in [("members-1k", &mid), ("members-100k", &big)] {
        let row =
            load::run(get(format!("{api_url}/orgs/{org}/members?limit=20")), 0, plan.short, plan.warmup, 8).await?;
        results.record(with(row, json!({"kind": "http", "name": name})))?;
    }
    let mut cursor = String::new();
    for _ in 0..plan.pages {
        let after = if cursor.is_empty() { String::new() } else { format!("&cursor={cursor}") };
        let path = format!("/orgs/{big}/members?limit=100{after}");
        let page = api.expect("GET", &path, Value::Null, Some(&token), 200).await?;
        cursor = page["next_cursor"].as_str().context("another page")?.to_owned();
    }
    let deep = get(format!("{api_url}/orgs/{big}/members?limit=20&cursor={cursor}"));
    let row = load::run(deep, 0, plan.short, plan.warmup, 8).await?;
    results.record(with(row, json!({"kind": "http", "name": format!("members-100k-page-{}", plan.pages + 1)})))?;

    println!("== the per-request log line: GET /orgs/{{org}} at warn and at info (JSON lines), alternating");
    let info = Server::start(&plan.bin, &out, "info", &info_env(&common)).await?;
    for row in reads::logging(&setup, &api_url, &info.url, &org1).await? {
        results.record(row)?;
    }
    drop(info);

    println!("== TLS to PostgreSQL: a server and a cold function over verify-full");
    let tls = TlsServer::start().await;
    let tls_url = tls.url("localhost", &format!("sslmode=verify-full&sslrootcert={}", tls.ca.display()));
    let status = Command::new(plan.bin.join("identity")).arg("migrate").env("DATABASE_URL", &tls_url).status();
    if !status.await?.success() {
        bail!("identity migrate over TLS failed");
    }
    let mut tls_env = common.clone();
    tls_env.extend(ip_limits("0"));
    tls_env.push(("DATABASE_URL".into(), tls_url.clone()));
    let over_tls = Server::start(&plan.bin, &out, "tls", &tls_env).await?;
    let tls_api = Api::new(&over_tls.url);
    let (tls_token, _) = tls_api.account("tls@bench.example", PASSWORD).await?;
    let tls_org = tls_api.expect("POST", "/orgs", json!({"name": "TLS"}), Some(&tls_token), 201).await?;
    let tls_org = tls_org["id"].as_str().context("an org id")?.to_owned();
    let tls_get = Target {
        headers: vec![format!("authorization: Bearer {tls_token}")],
        ..get(format!("{}/orgs/{tls_org}", over_tls.url))
    };
    for (name, rate, connections) in [("tls-open", 500, 32), ("tls-closed", 0, 32)] {
        let row = load::run(tls_get.clone(), rate, plan.seconds, plan.warmup, connections).await?;
        results.record(with(row, json!({"kind": "http", "name": name})))?;
    }
    drop(over_tls);

    println!("== database round trips per route, on the wire (a proxy) and in PostgreSQL's statement log");
    for setting in ["log_min_duration_statement = 0", "log_line_prefix = '%a: '"] {
        db.batch_execute(&format!("ALTER SYSTEM SET {setting}")).await?;
    }
    db.batch_execute("SELECT pg_reload_conf()").await?;
    let proxy = Proxy::start(format!("127.0.0.1:{}", cluster.port()).parse()?).await;
    let wire_ses = free_port()?;
    let mailbox = fake_ses::serve(wire_ses).await?;
    let mut wire_env = common.clone();
    wire_env.extend(ip_limits(UNREACHED));
    wire_env.extend(fake_ses_env(wire_ses));
    wire_env.push(("DATABASE_URL".into(), format!("postgres://postgres@{}/identity_bench", proxy.addr)));
    let wired = Server::start(&plan.bin, &out, "wire", &wire_env).await?;
    let log = cluster.log_file();
    let mut counter = wire::Counter::new(&proxy, &log);
    // The first round prepares each statement on the connections it meets; the rounds counted
    // after it show a warm server.
    wire::life(&mut wire::Counter::new(&proxy, &log), &Api::new(&wired.url), &mailbox, "warm", 1).await?;
    wire::life(&mut counter, &Api::new(&wired.url), &mailbox, "counted", plan.trips.div_ceil(4)).await?;
    for row in counter.rows() {
        results.record(row)?;
    }
    // ALTER SYSTEM cannot share a batch (an implicit transaction) with another statement.
    db.batch_execute("ALTER SYSTEM RESET log_min_duration_statement").await?;
    db.batch_execute("SELECT pg_reload_conf()").await?;
    drop(wired);

    for row in cold.all(&plan.bin, "after", "").await? {
        results.record(row)?;
    }
    // The orgs function's first invocation over TLS: the handshake and verify-full included.
    let tls_event = cold.event("orgs-get")?.replace(&token, &tls_token).replace(&org(1), &tls_org);
    let mut env = common.clone();
    env.extend(server::env(&[("RUST_LOG", "warn"), ("MAIL_TRANSPORT", "log")]));
    env.push(("DATABASE_URL".into(), tls_url));
    let binary = plan.bin.join("identity-orgs");
    let row = coldstart::run(&binary, serde_json::from_str(&tls_event)?, plan.cold_starts, None, &env).await?;
    let fields = json!({"kind": "cold", "binary_bytes": std::fs::metadata(&binary)?.len(), "zip_bytes": zip_size(&binary)?,
                        "variant": "after", "what": "over TLS", "commit": ""});
    results.record(with(row, fields))?;
    drop(tls);
    drop(server);

    println!();
    let baseline = std::fs::read_to_string(root.join("bench/baseline.jsonl")).unwrap_or_default();
    let baseline: Vec<Value> =
        baseline.lines().filter(|l| !l.trim().is_empty()).map(serde_json::from_str).collect::<Result<_, _>>()?;
    let table = report::render(&results.rows, &baseline, plan.smoke)?;
    println!("{table}");
    if plan.smoke {
        std::fs::write(out.join("smoke.md"), &table)?;
    } else {
        report::into_doc(&root.join("docs/benchmarks.md"), &table)?;
    }
    Ok(())
}

/// Settings as the emulator's starter takes them.
fn borrowed(pairs: &[(String, String)]) -> Vec<(&str, String)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect()
}

/// The settings that make a process send mail through the real SES client to a fake endpoint.
fn fake_ses_env(port: u16) -> Vec<(String, String)> {
    [
        ("MAIL_TRANSPORT", "ses".to_owned()),
        ("AWS_ENDPOINT_URL_SES", format!("http://127.0.0.1:{port}")),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "bench".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "bench".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .to_vec()
}

/// Cold starts of each function, under the fake Lambda Runtime API.
struct ColdStarts<'a> {
    root: &'a Path,
    plan: &'a Plan,
    token: &'a str,
    common: &'a [(String, String)],
}

impl ColdStarts<'_> {
    /// An events/ sample with its placeholders filled.
    fn event(&self, name: &str) -> anyhow::Result<String> {
        let text = std::fs::read_to_string(self.root.join("events").join(format!("{name}.json")))?;
        Ok(text.replace("REPLACE_WITH_ACCESS_TOKEN", self.token).replace("REPLACE_WITH_ORG_ID", &org(1)))
    }

    /// Every function's cold starts from the binaries in `dir`, as `variant` (after: this
    /// build; before: the baseline `commit`).
    async fn all(&self, dir: &Path, variant: &str, commit: &str) -> anyhow::Result<Vec<Value>> {
        let runs = self.plan.cold_starts;
        println!("== cold starts ({variant}): {runs} per function under a fake Lambda Runtime API");
        let schedule = r#"{"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}"#;
        let forgot = self.event("auth-password-forgot")?;
        let cases = [
            ("auth", "", forgot.clone()),
            ("orgs", "", self.event("orgs-get")?),
            ("invitations", "", self.event("invitations-list")?),
            ("users", "", self.event("users-me")?),
            ("mailer", "", schedule.to_owned()),
            ("migrate", "", "{}".to_owned()),
            // The first mail: forgot-password for an account, so the first invocation also
            // builds the SES client and sends through it (to a fake SES that counts what it gets).
            ("auth", "first mail", forgot.replace("ada@example.com", "user7@bench.example")),
        ];
        let mut rows = vec![];
        for (function, what, event) in cases {
            // An older migrate refuses a database migrated past it (as it should): the
            // baseline's is not measured.
            if variant == "before" && function == "migrate" {
                continue;
            }
            let binary = dir.join(format!("identity-{function}"));
            // Forgot-password waits out FORGOT_PASSWORD_MIN_MS when it sends no mail (so that
            // unknown emails look like known ones); off here, where the point is what starting costs.
            let mut env = self.common.to_vec();
            env.extend(
                [("IP_LIMIT_FORGOT", "0"), ("FORGOT_PASSWORD_MIN_MS", "0"), ("RUST_LOG", "warn")]
                    .map(|(k, v)| (k.to_owned(), v.to_owned())),
            );
            let ses_port = if what.is_empty() {
                env.push(("MAIL_TRANSPORT".into(), "log".into()));
                None
            } else {
                let port = free_port()?;
                env.extend(fake_ses_env(port));
                Some(port)
            };
            let row = coldstart::run(&binary, serde_json::from_str(&event)?, runs, ses_port, &env).await?;
            let bytes = std::fs::metadata(&binary)?.len();
            let fields = json!({"kind": "cold", "binary_bytes": bytes, "zip_bytes": zip_size(&binary)?,
                                "variant": variant, "what": what, "commit": commit});
            rows.push(with(row, fields));
        }
        Ok(rows)
    }
}

/// The size of `binary` zipped as a Lambda package's `bootstrap` (deflated, as `zip` does).
fn zip_size(binary: &Path) -> anyhow::Result<u64> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("bootstrap", options)?;
    zip.write_all(&std::fs::read(binary)?)?;
    Ok(zip.finish()?.into_inner().len() as u64)
}

/// Builds the functions of `commit` (release) in a folder of their own; their target folder.
async fn build_baseline(root: &Path, out: &Path, commit: &str) -> anyhow::Result<PathBuf> {
    let src = out.join("baseline-src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src)?;
    let archive = format!("git -C '{}' archive '{commit}' | tar -x -C '{}'", root.display(), src.display());
    if !Command::new("sh").arg("-c").arg(archive).status().await?.success() {
        bail!("could not unpack {commit}");
    }
    let target = out.join("baseline-target");
    let functions = ["auth", "orgs", "invitations", "users", "mailer", "migrate"];
    let packages = functions.iter().flat_map(|f| ["-p".to_owned(), format!("{f}-function")]);
    // Its `identity serve` too, for the writes measured against this build's.
    let packages = packages.chain(["-p".to_owned(), "identity-cli".to_owned()]);
    let built = Command::new("cargo")
        .args(["build", "--release", "-q"])
        .args(packages)
        .current_dir(&src)
        .env("CARGO_TARGET_DIR", &target)
        .stdout(Stdio::inherit())
        .status()
        .await?;
    if !built.success() {
        bail!("building {commit}'s functions failed");
    }
    Ok(target.join("release"))
}
