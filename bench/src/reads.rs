//! Authenticated reads against the database's ceiling: every org read beside GET /me, the
//! statements of GET /me and GET /orgs/{org} run by pgbench alone, the verified-token cache on
//! and off, and what the session's last-used mark costs PostgreSQL. The baseline run measures
//! the same with the commit before, so the report shows both.

use std::path::Path;

use serde_json::{Value, json};
use tokio_postgres::Client;

use crate::api::Api;
use crate::ceiling::{self, Statement};
use crate::cpu;
use crate::load::{self, Target, with};

/// Where and how long the reads are measured.
pub struct Setup<'a> {
    /// The server measured.
    pub url: &'a str,
    /// Its process, for its CPU time.
    pub pid: u32,
    /// PostgreSQL's postmaster, for its backends' CPU time.
    pub postmaster: u32,
    /// The bearer of every read.
    pub token: &'a str,
    /// Seconds each read is measured.
    pub seconds: u64,
    /// Seconds of unrecorded load before each.
    pub warmup: u64,
    /// The baseline's commit, or "" for this build.
    pub commit: &'a str,
}

/// A GET of `url` with the setup's bearer.
pub fn get(url: String, token: &str) -> Target {
    Target {
        method: "GET".into(),
        url,
        headers: vec![format!("authorization: Bearer {token}")],
        body: None,
        vary: 1,
        expect: None,
    }
}

/// Each of `reads` (name, path) closed loop at 8 connections, with the server's and
/// PostgreSQL's CPU per request.
pub async fn ratios(setup: &Setup<'_>, reads: &[(&str, String)]) -> anyhow::Result<Vec<Value>> {
    let mut rows = vec![];
    for (name, path) in reads {
        let target = get(format!("{}{path}", setup.url), setup.token);
        // The warm-up apart, so that the CPU counted is the measured requests'.
        if setup.warmup > 0 {
            load::run(target.clone(), 0, setup.warmup, 0, 8).await?;
        }
        let before = cpu::Usage::now(setup.pid, setup.postmaster)?;
        let row = load::run(target, 0, setup.seconds, 0, 8).await?;
        let requests = row["requests"].as_f64().unwrap_or(0.0);
        let (server_us, database_us) =
            cpu::Usage::now(setup.pid, setup.postmaster)?.per_request_since(&before, requests);
        let fields = json!({"kind": "ratio", "name": name, "server_us": server_us, "database_us": database_us,
                            "commit": setup.commit});
        rows.push(with(row, fields));
    }
    Ok(rows)
}

/// What the ceiling is measured with.
pub struct Database<'a> {
    /// A connection to the cluster, to turn the statement log on and off.
    pub admin: &'a Client,
    /// The cluster's log.
    pub log: &'a Path,
    /// The benchmark's database, for pgbench.
    pub url: &'a str,
    /// Where pgbench's scripts are written.
    pub out: &'a Path,
}

/// GET /me's and GET /orgs/{org}'s statements as the server at `setup.url` sends them, each
/// run by pgbench at 8 clients on 2 threads, in two alternating rounds; with GET /me's
/// statement also as it was when every check carried the session's last-used mark.
pub async fn ceilings(setup: &Setup<'_>, db: &Database<'_>, org: &str) -> anyhow::Result<Vec<Value>> {
    let api = Api::new(setup.url);
    let me = ceiling::capture(db.admin, db.log, &api, "/me", setup.token).await?;
    let org_read = ceiling::capture(db.admin, db.log, &api, &format!("/orgs/{org}"), setup.token).await?;
    let mut routes = vec![("GET /me", me.clone()), ("GET /orgs/{org}", org_read)];
    if setup.commit.is_empty() {
        routes.push(("GET /me, marking the session in its check", with_mark_in_check(&me)));
    }
    let seconds = setup.seconds.max(1);
    let mut rows = vec![];
    for round in 1..=2 {
        for (name, statements) in &routes {
            let file = format!("{}-{round}", name.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
            let rate = ceiling::rate(db.url, db.out, &file, statements, 8, 2, seconds).await?;
            rows.push(json!({"kind": "ceiling", "name": name, "round": round, "rate": rate,
                             "statements": statements.len(), "commit": setup.commit}));
        }
    }
    Ok(rows)
}

/// GET /me's statement with the mark every session check carried before (a CTE that writes
/// `last_used_at` when it is over a minute old), to show what leaving it out saves.
fn with_mark_in_check(me: &[Statement]) -> Vec<Statement> {
    const MARK: &str = "WITH touched AS (UPDATE sessions SET last_used_at = now() WHERE id = (SELECT id FROM sessions \
                        WHERE id = $1 AND revoked_at IS NULL AND last_used_at < now() - interval '1 minute' \
                        FOR NO KEY UPDATE SKIP LOCKED)) ";
    me.iter().map(|s| Statement { sql: format!("{MARK}{}", s.sql), params: s.params.clone() }).collect()
}

/// GET /me and GET /orgs/{org} against `on` (tokens verified once and kept) and `off`
/// (TOKEN_CACHE_ENTRIES=0), alternating, two rounds each.
pub async fn token_cache(setup: &Setup<'_>, off: &str, org: &str) -> anyhow::Result<Vec<Value>> {
    let mut rows = vec![];
    for round in 1..=2 {
        for (route, path) in [("GET /me", "/me".to_owned()), ("GET /orgs/{org}", format!("/orgs/{org}"))] {
            for (variant, base) in [("on", setup.url), ("off", off)] {
                let target = get(format!("{base}{path}"), setup.token);
                let row = load::run(target, 0, setup.seconds, setup.warmup.min(1), 8).await?;
                rows.push(with(row, json!({"kind": "token-cache", "name": route, "variant": variant, "round": round})));
            }
        }
    }
    Ok(rows)
}

/// GET /orgs/{org} at warn (`quiet`) and at info in JSON lines (`logged`), alternating.
pub async fn logging(setup: &Setup<'_>, quiet: &str, logged: &str, org: &str) -> anyhow::Result<Vec<Value>> {
    let mut rows = vec![];
    for round in 1..=2 {
        for (level, base) in [("warn", quiet), ("info", logged)] {
            let target = get(format!("{base}/orgs/{org}"), setup.token);
            let row = load::run(target, 0, setup.seconds, setup.warmup.min(1), 8).await?;
            rows.push(with(row, json!({"kind": "logging", "level": level, "round": round, "commit": setup.commit})));
        }
    }
    Ok(rows)
}
