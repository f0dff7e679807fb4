//! The benchmark's JSON lines as the markdown table of docs/benchmarks.md. A run
//! whose requests failed measured something else: it is refused, not reported.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value;

/// Markers around the table in docs/benchmarks.md.
const START: &str = "<!-- bench:start (scripts/bench writes this) -->";
const END: &str = "<!-- bench:end -->";

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(0.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

/// A cold-start row's name: the function, and what its first invocation does if special.
fn label(r: &Value) -> String {
    let function = r["function"].as_str().unwrap_or("?");
    match r["what"].as_str().filter(|w| !w.is_empty()) {
        Some(what) => format!("{function} ({what})"),
        None => function.to_owned(),
    }
}

/// This machine, the commit and the day, for the table's first line.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu.lines().find_map(|l| l.strip_prefix("model name")).and_then(|l| l.split_once(':'));
    let model = model.map(|(_, m)| m.trim().to_owned()).unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib: f64 = mem
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let run = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = run("git", &["rev-parse", "--short", "HEAD"]).filter(|c| !c.is_empty()).unwrap_or_else(|| "?".into());
    let kernel = run("uname", &["-r"]).unwrap_or_default();
    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(0);
    let day = chrono::Utc::now().format("%Y-%m-%d");
    format!("{cores} cores ({model}), {:.0} GiB, Linux {kernel}; commit {commit}; {day}", kib / 1024.0 / 1024.0)
}

/// The report of `rows`, with the cold starts of `baseline` (bench/baseline.jsonl) beside this
/// build's; an error naming what failed when any measured request did.
pub fn render(rows: &[Value], baseline: &[Value], smoke: bool) -> anyhow::Result<String> {
    let kind = |k: &'static str| rows.iter().filter(move |r| r["kind"] == k);
    let http: BTreeMap<String, &Value> =
        kind("http").map(|r| (r["name"].as_str().unwrap_or_default().to_owned(), r)).collect();
    let wire: Vec<&Value> = kind("wire").collect();
    let ratios: Vec<&Value> = kind("ratio").collect();
    let cold: Vec<&Value> = kind("cold").filter(|r| r["variant"] == "after").collect();
    let argon: Vec<&Value> = rows.iter().filter(|r| r.get("verifies_per_second").is_some()).collect();
    let logins: Vec<&Value> = http.iter().filter(|(k, _)| k.starts_with("login-")).map(|(_, r)| *r).collect();
    let flows: Vec<&Value> = rows.iter().filter(|r| r.get("flow").is_some()).collect();

    let mut out = String::new();
    let title = if smoke {
        "# Benchmark results (smoke run: debug build, one second each; the figures mean nothing)"
    } else {
        "# Benchmark results"
    };
    writeln!(out, "{title}\n\nMachine: {}.\n", machine())?;
    writeln!(out, "Written by `scripts/bench`; goals are from the benchmark issue and are measured, not asserted.\n")?;

    writeln!(out, "## Cold start (fake Lambda Runtime API, release build, x86_64)\n")?;
    writeln!(
        out,
        "| function | init median / p95 | first invocation median / p95 | binary | zip | peak RSS | AWS SDK clients | goals |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|")?;
    for r in &cold {
        let function = r["function"].as_str().unwrap_or_default();
        let mails = ["identity-auth", "identity-invitations", "identity-mailer"].contains(&function);
        let sdk = if mails { "SES, Secrets Manager" } else { "Secrets Manager" };
        let tls = r["what"] == "over TLS";
        let first_goal = if tls { 25.0 } else { 20.0 };
        let (init, first) = (&r["init"], &r["first_invocation"]);
        let (mb, zip, rss) = (f(r, "binary_bytes") / 1e6, f(r, "zip_bytes") / 1e6, f(r, "peak_rss_kib") / 1024.0);
        writeln!(
            out,
            "| {} | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {mb:.2} MB | {zip:.2} MB | {rss:.1} MiB | {sdk} | init {}, \
             first {}, size {}, RSS {} |",
            label(r),
            f(init, "median_ms"),
            f(init, "p95_ms"),
            f(first, "median_ms"),
            f(first, "p95_ms"),
            verdict(f(init, "median_ms") <= 10.0),
            verdict(f(first, "median_ms") <= first_goal),
            if mails { "(mails: no goal)" } else { "arm64: scripts/package" },
            verdict(rss <= 25.0),
        )?;
    }
    let runs = cold.first().map(|r| f(r, "runs")).unwrap_or(0.0);
    writeln!(
        out,
        "\n{runs} cold starts each. Goals: init median <= 10 ms, first invocation (including the first database \
         connection) <= 20 ms (<= 25 ms over TLS), binary <= 6 MB for the functions that send no mail, RSS <= 25 MB. \
         \"first mail\": forgot-password for an account, so the first invocation also builds the SES client \
         (aws-config's chain, loaded on the first send, not at init) and sends through it to a fake SES endpoint; the \
         row above it is the same function's first invocation without mail. \"over TLS\": orgs' first invocation \
         against a PostgreSQL that speaks only TLS, with sslmode=verify-full: the handshake and the certificate check \
         are in it. Every function links the Secrets Manager client, as any may read the database secret \
         (DATABASE_SECRET_ARN); only the three that send mail link SES and aws-config. Sizes here are x86_64 and \
         built without LTO, to keep the benchmark's build short; the size goal is for what deploys, the arm64 zips \
         `scripts/package` builds with the release profile's fat LTO (its table is in \
         docs/deploy.md).\n"
    )?;
    before_and_after(&mut out, &cold, baseline)?;

    writeln!(out, "## Warm (release `identity serve`, seeded: 1,000 users, 100 orgs, 10,000 memberships)\n")?;
    writeln!(out, "| request | mode | requests/s | p50 | p99 | goal |\n|---|---|---|---|---|---|")?;
    let open = "open loop, 500/s, latency-corrected";
    let closed = "closed loop, 32 connections";
    for (key, route, mode) in [
        ("org-open", "GET /orgs/{org}", open),
        ("members-open", "GET /orgs/{org}/members?limit=20", open),
        ("org-closed", "GET /orgs/{org}", closed),
        ("members-closed", "GET /orgs/{org}/members?limit=20", closed),
        ("tls-open", "GET /orgs/{org} over TLS", open),
        ("tls-closed", "GET /orgs/{org} over TLS", closed),
    ] {
        if let Some(r) = http.get(key) {
            let goal = if key.ends_with("open") {
                format!("p99 <= 5 ms: {}", verdict(f(r, "p99_ms") <= 5.0))
            } else {
                "highest throughput".to_owned()
            };
            writeln!(
                out,
                "| {route} | {mode} | {:.0} | {:.2} ms | {:.2} ms | {goal} |",
                f(r, "rps"),
                f(r, "p50_ms"),
                f(r, "p99_ms")
            )?;
        }
    }
    for flow in &flows {
        let what =
            if flow["flow"] == "refresh" { "POST /auth/refresh (rotation)" } else { "invite + accept by sign-up" };
        writeln!(
            out,
            "| {what} | closed loop, {} workers | {:.1} | {:.2} ms | {:.2} ms | |",
            flow["concurrency"],
            f(flow, "per_second"),
            f(flow, "p50_ms"),
            f(flow, "p99_ms")
        )?;
    }
    writeln!(
        out,
        "\n\"over TLS\": a second server whose pool connects with sslmode=verify-full to a PostgreSQL that speaks \
         only TLS (its own small database: a primary-key read costs the same in either).\n"
    )?;

    crate::report_reads::render(&mut out, rows, baseline)?;
    if let Some(m) = kind("memory").next() {
        let (after, peak) = (f(m, "after_kib") / 1024.0, f(m, "peak_kib") / 1024.0);
        writeln!(out, "## Memory of `identity serve` (after the logins and the flood below)\n")?;
        writeln!(out, "| | MiB | goal |\n|---|---|---|")?;
        writeln!(out, "| resident, 1 s after the load | {after:.1} | <= 64: {} |", verdict(after <= 64.0))?;
        writeln!(out, "| peak resident | {peak:.1} | <= 128: {} |\n", verdict(peak <= 128.0))?;
        writeln!(
            out,
            "argon2's 19 MiB of working memory is one buffer per computation that may run at once (one per core), \
             reused: nothing is freed between logins for the allocator to keep.\n"
        )?;
    }

    if !argon.is_empty() && !logins.is_empty() {
        let raw = argon.iter().map(|r| f(r, "verifies_per_second")).sum::<f64>() / argon.len() as f64;
        let rate = logins.iter().map(|r| f(r, "rps")).sum::<f64>() / logins.len() as f64;
        let ratio = rate / raw;
        let rounds: Vec<String> = logins
            .iter()
            .zip(&argon)
            .map(|(l, a)| format!("{:.0}%", 100.0 * f(l, "rps") / f(a, "verifies_per_second")))
            .collect();
        let p50 = logins.iter().map(|r| f(r, "p50_ms")).fold(0.0, f64::max);
        let p99 = logins.iter().map(|r| f(r, "p99_ms")).fold(0.0, f64::max);
        writeln!(out, "## Logins against the argon2 limit\n\n| | per second |\n|---|---|")?;
        writeln!(out, "| raw argon2id verifies (m=19456 KiB, t=2, p=1), {} threads | {raw:.1} |", argon[0]["threads"])?;
        writeln!(
            out,
            "| POST /auth/login, closed loop, {} clients | {rate:.1} (p50 up to {p50:.0} ms, p99 up to {p99:.0} ms) |",
            logins[0]["concurrency"]
        )?;
        writeln!(out, "| ratio | {:.0}% (goal >= 90%: {}) |\n", ratio * 100.0, verdict(ratio >= 0.9))?;
        writeln!(
            out,
            "Means of {} alternating rounds of logins and raw verifies; the rounds' ratios: {}.\n",
            logins.len(),
            rounds.join(", ")
        )?;
    }
    let sign_ins: Vec<&Value> = kind("sign-in").collect();
    if !sign_ins.is_empty() {
        writeln!(
            out,
            "### Sign-in with a second factor beside sign-in without
"
        )?;
        writeln!(
            out,
            "| round | password alone: sign-ins/s, p50, p99 | password + TOTP code: sign-ins/s, p50, p99 | the code step (POST /auth/mfa/verify) p50 / p99 |\n|---|---|---|---|"
        )?;
        for n in 1..=2 {
            let of = |variant: &str| sign_ins.iter().find(|r| r["variant"] == variant && r["round"] == n);
            if let (Some(plain), Some(coded)) = (of("password"), of("code")) {
                writeln!(
                    out,
                    "| {n} | {:.1}, {:.0} ms, {:.0} ms | {:.1}, {:.0} ms, {:.0} ms | {:.2} / {:.2} ms |",
                    f(plain, "rps"),
                    f(plain, "p50_ms"),
                    f(plain, "p99_ms"),
                    f(coded, "rps"),
                    f(coded, "p50_ms"),
                    f(coded, "p99_ms"),
                    f(coded, "code_step_p50_ms"),
                    f(coded, "code_step_p99_ms"),
                )?;
            }
        }
        writeln!(
            out,
            "\nClosed loop, {} clients, each account signing in once per round (a code is accepted once per \
             time step). The code step costs database statements and an HMAC, and no password hash.\n",
            sign_ins[0]["concurrency"]
        )?;
    }
    let oidc: Vec<&Value> = kind("oidc").collect();
    if !oidc.is_empty() {
        writeln!(out, "### An application's sign-in through the OpenID Provider\n")?;
        writeln!(
            out,
            "| round | code flow (authorize, hosted form, code for tokens): sign-ins/s, p50, p99 | plain `POST /auth/login`: sign-ins/s, p50, p99 |\n|---|---|---|"
        )?;
        for n in 1..=2 {
            let of = |name: &str| oidc.iter().find(|r| r["name"] == name && r["round"] == n);
            if let (Some(flow), Some(login)) = (of("code-flow"), of("login")) {
                writeln!(
                    out,
                    "| {n} | {:.1}, {:.0} ms, {:.0} ms | {:.1}, {:.0} ms, {:.0} ms |",
                    f(flow, "rps"),
                    f(flow, "p50_ms"),
                    f(flow, "p99_ms"),
                    f(login, "rps"),
                    f(login, "p50_ms"),
                    f(login, "p99_ms"),
                )?;
            }
        }
        writeln!(
            out,
            "\n| the token endpoint | exchanges/s (with the silent authorize before each) | the grant's own p50 / p99 |\n|---|---|---|"
        )?;
        for name in ["authorization_code", "refresh_token"] {
            if let Some(row) = oidc.iter().find(|r| r["name"] == name) {
                writeln!(
                    out,
                    "| `{name}` | {:.0} | {:.2} / {:.2} ms |",
                    f(row, "rps"),
                    f(row, "part_p50_ms"),
                    f(row, "part_p99_ms"),
                )?;
            }
        }
        writeln!(
            out,
            "\nClosed loops of {} clients, alternating rounds for the two sign-ins (users 1001-2000, a fresh browser each). \
             A code flow hashes the password once, as a login does; its other requests (the redirect, the form, the code's \
             exchange with an RS256 ID token) are database statements and signatures. The code grant's codes come from a \
             silent authorize (the browser's provider session, no password); the refresh grant rotates each client's own \
             token.\n",
            oidc[0]["concurrency"]
        )?;
    }
    let sso: Vec<&Value> = kind("sso").collect();
    let of = |name: &str| sso.iter().find(|r| r["name"] == name);
    if let (Some(callback), Some(provider)) = (of("callback"), of("provider-token")) {
        writeln!(
            out,
            "### Single sign-on: what the callback adds to the provider's answer
"
        )?;
        writeln!(
            out,
            "| | p50 | p99 |
|---|---|---|"
        )?;
        writeln!(
            out,
            "| `GET /pages/sso-callback` (the provider's token endpoint inside it) | {:.2} ms | {:.2} ms |",
            f(callback, "p50_ms"),
            f(callback, "p99_ms")
        )?;
        writeln!(
            out,
            "| the provider's token endpoint alone (oidc-provider-mock) | {:.2} ms | {:.2} ms |",
            f(provider, "p50_ms"),
            f(provider, "p99_ms")
        )?;
        writeln!(out, "| **added by the callback** | **{:.2} ms** | |", f(callback, "p50_ms") - f(provider, "p50_ms"))?;
        writeln!(
            out,
            "\n{} callbacks one at a time, each a returning person (a linked identity) signing in through the hosted \
             sign-in, the provider's keys already kept; each beside an exchange at the provider of a code of its own. \
             What the callback adds: taking the state, opening the client secret, the token request's own work, \
             verifying the RS256 ID token, resolving the identity and opening the browser session (about ten \
             statements).\n",
            callback["samples"]
        )?;
    }
    if let (Some(calm), Some(busy), Some(flood)) = (logins.last(), http.get("flood-logins"), http.get("flood-resets")) {
        writeln!(out, "### Logins while forged reset tokens flood in\n")?;
        writeln!(out, "| | logins/s | login p50 | login p99 | forged resets/s (all 422) |\n|---|---|---|---|---|")?;
        writeln!(
            out,
            "| undisturbed (the last round above) | {:.1} | {:.0} ms | {:.0} ms | |",
            f(calm, "rps"),
            f(calm, "p50_ms"),
            f(calm, "p99_ms")
        )?;
        writeln!(
            out,
            "| beside {} clients sending forged reset tokens | {:.1} | {:.0} ms | {:.0} ms | {:.0} |\n",
            flood["concurrency"],
            f(busy, "rps"),
            f(busy, "p50_ms"),
            f(busy, "p99_ms"),
            f(flood, "rps")
        )?;
        writeln!(
            out,
            "A reset token is looked up before the new password is hashed, so a forged one costs a database lookup, \
             not an argon2 computation; per-IP limits are off here.\n"
        )?;
    }

    side_by_side(
        &mut out,
        "The per-IP check: POST /auth/password/reset with a forged token, closed loop, 8 clients",
        &rows.iter().filter(|r| r["kind"] == "ip-check").collect::<Vec<_>>(),
        "variant",
        ["off", "on"],
        "Each guarded route (login, register, forgot, reset, verify, invitation preview and accept) counts the \
         request against its address first: one upsert, its own round trip. \"on\": limits set too high to reach.",
    )?;
    api_keys(&mut out, &rows.iter().filter(|r| r["kind"] == "api-key").collect::<Vec<_>>())?;
    side_by_side(
        &mut out,
        "Client-credentials grants: POST /oauth2/token by an M2M client (client_secret_post) against GET /me, closed loop, 8 connections",
        &rows.iter().filter(|r| r["kind"] == "grant").collect::<Vec<_>>(),
        "variant",
        ["me", "grant"],
        "A grant checks the secret (shape and checksum; then, in one round trip, the client's row found by its id and the \
         secret's hash, marked used and its token request counted, beside the client's lockout; a constant-time hash \
         comparison) and signs an RFC 9068 JWT. \
         Goal: at least half of GET /me's rate; Keycloak's sizing guide plans 120 client-credentials grants \
         per second per vCPU.",
    )?;
    write_costs(&mut out, &kind("write-cost").collect::<Vec<_>>(), baseline)?;
    webhook_latency(&mut out, &rows.iter().filter(|r| r["kind"] == "webhook-latency").collect::<Vec<_>>())?;
    side_by_side(
        &mut out,
        "A role change (PATCH /orgs/{org}/roles/{role}) with no webhook endpoint and with one taking its events, closed loop, 4 connections",
        &rows.iter().filter(|r| r["kind"] == "webhook-write").collect::<Vec<_>>(),
        "variant",
        ["none", "endpoint"],
        "Every audited change writes its event in the audit row's statement; with an endpoint taking the type, the \
         same statement queues a delivery, the request hands off to the sender after the commit, and the sender \
         (in the same process here) signs and sends it to a receiver on loopback.",
    )?;
    writeln!(out, "## Growth: members list (cursor pagination)\n\n| org size | page | p50 | p99 |\n|---|---|---|---|")?;
    let pages: Vec<&String> = http.keys().filter(|k| k.starts_with("members-100k-page-")).collect();
    let mut growth = vec![
        ("members-1k".to_owned(), "1,000", "first".to_owned()),
        ("members-100k".into(), "100,000", "first".into()),
    ];
    for key in &pages {
        let page: usize = key.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(1);
        growth.push(((*key).clone(), "100,000", format!("after {} members", thousands((page - 1) * 100))));
    }
    for (key, size, page) in growth {
        if let Some(r) = http.get(&key) {
            writeln!(out, "| {size} | {page} | {:.2} ms | {:.2} ms |", f(r, "p50_ms"), f(r, "p99_ms"))?;
        }
    }
    writeln!(out)?;

    writeln!(out, "## Database round trips per request, route by route\n")?;
    writeln!(out, "| request | round trips | statements |\n|---|---|---|")?;
    for t in &wire {
        let n = f(t, "requests").max(1.0);
        let name = t["name"].as_str().unwrap_or("?");
        writeln!(out, "| {name} | {:.1} | {:.1} |", f(t, "round_trips") / n, f(t, "statements") / n)?;
    }
    let rounds = wire.first().map(|t| f(t, "requests")).unwrap_or(0.0);
    writeln!(
        out,
        "\nMeans over {rounds} rounds of an org's life (after a first round that prepares every statement), through \
         a server with per-IP limits on. Round trips are counted on the wire by a proxy in front of PostgreSQL: \
         statements written before any answer came back (a write's independent statements) are one. \
         Statements are PostgreSQL's statement log: each execute and each simple statement (BEGIN, COMMIT).\n"
    )?;

    let loads = rows.iter().filter(|r| {
        ["http", "ratio", "ip-check", "logging", "api-key", "grant", "webhook-write", "write-cost"]
            .contains(&r["kind"].as_str().unwrap_or(""))
    });
    let loads: BTreeMap<String, &Value> = loads
        .map(|r| {
            let part = |k: &str| r[k].as_str().map(str::to_owned).or_else(|| r[k].as_u64().map(|n| n.to_string()));
            // Rows measured in rounds are named by all that tells them apart.
            let name = match part("round") {
                None => part("name").unwrap_or_default(),
                Some(round) => {
                    let kind = part("kind").unwrap_or_default();
                    let variant = part("variant").or_else(|| part("level")).unwrap_or_default();
                    let what = part("name").map(|n| format!("{n} ")).unwrap_or_default();
                    format!("{kind} {what}{variant} round {round}")
                }
            };
            (name, r)
        })
        .collect();
    let mut problems: Vec<String> = loads
        .iter()
        .filter(|(_, r)| f(r, "requests") == 0.0 || f(r, "success") < 1.0)
        .map(|(name, r)| {
            format!(
                "{name}: {:.1}% of {} requests succeeded ({})",
                f(r, "success") * 100.0,
                r["requests"],
                r["statuses"]
            )
        })
        .collect();
    // The flows stop at the first unexpected answer, so an empty flow is the only failure left.
    problems.extend(
        flows.iter().filter(|r| f(r, "completed") == 0.0).map(|r| format!("{} flow completed nothing", r["flow"])),
    );
    for r in &cold {
        let bad = r["statuses"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s.as_u64().is_some_and(|s| !(200..300).contains(&s)));
        if bad {
            problems.push(format!("{} answered {}", label(r), r["statuses"]));
        }
        if r["what"] == "first mail" && r["mails"] != r["runs"] {
            problems.push(format!("{} sent {} mails in {} runs", label(r), r["mails"], r["runs"]));
        }
    }
    let expected = [
        ("cold", cold.len() == 8),
        ("wire", wire.len() >= 20),
        ("ratio", ratios.len() == 9),
        ("memory", kind("memory").count() == 1),
        ("ip-check", kind("ip-check").count() == 4),
        ("logging", kind("logging").count() == 4),
        ("ceiling", kind("ceiling").count() == 6),
        ("token-cache", kind("token-cache").count() == 8),
        ("api-key", kind("api-key").count() == 6),
        ("grant", kind("grant").count() == 4),
        ("webhook-latency", kind("webhook-latency").count() == 2),
        ("webhook-write", kind("webhook-write").count() == 4),
        ("write-cost", kind("write-cost").count() == 4),
        ("tls", http.contains_key("tls-open") && http.contains_key("tls-closed")),
        ("argon2", !logins.is_empty() && argon.len() == logins.len()),
        ("flows", flows.len() == 2),
        ("login", !logins.is_empty()),
        ("sign-in", kind("sign-in").count() == 4),
        ("pages", !pages.is_empty()),
        ("flood", http.contains_key("flood-logins") && http.contains_key("flood-resets")),
    ];
    problems.extend(expected.iter().filter(|(_, ok)| !ok).map(|(what, _)| format!("no {what} measurements")));
    if !problems.is_empty() {
        bail!("benchmark invalid:\n  {}", problems.join("\n  "));
    }
    Ok(out.trim_end().to_owned() + "\n")
}

/// Two variants of one load measured in alternating rounds, as the means of their rounds.
/// A change's request to its webhook's arrival at the receiver.
fn webhook_latency(out: &mut String, rows: &[&Value]) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "### From a change to the receiver's 2xx: POST /orgs/{{org}}/roles, then its `role.created` webhook, one at a time\n\n\
         | where | changes | p50 | p99 |\n|---|---|---|---|"
    )?;
    for row in rows {
        let place = match row["variant"].as_str() {
            Some("rie") => {
                "the orgs and sender functions under the Runtime Interface Emulator (an asynchronous invoke hands off)"
            }
            _ => "`identity serve` (the hand-off wakes its in-process sender)",
        };
        writeln!(out, "| {place} | {} | {:.2} ms | {:.2} ms |", row["samples"], f(row, "p50_ms"), f(row, "p99_ms"))?;
    }
    writeln!(
        out,
        "\nFrom the request going out to the webhook's arrival: the change's commit, the hand-off, the claim, the \
         signature and the POST to a receiver on loopback.\n"
    )?;
    Ok(())
}

/// An org read with an API key against the same read with a session, and a forged key.
fn api_keys(out: &mut String, rows: &[&Value]) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mean = |variant: &str, field: &str| {
        let of: Vec<f64> = rows.iter().filter(|r| r["variant"] == variant).map(|r| f(r, field)).collect();
        of.iter().sum::<f64>() / of.len().max(1) as f64
    };
    writeln!(
        out,
        "### An org read with an API key: GET /orgs/{{org}}, closed loop, 8 connections\n\n\
         | bearer | requests/s | p50 | p99 | server CPU / request | PostgreSQL CPU / request | of the session's | goal |\n\
         |---|---|---|---|---|---|---|---|"
    )?;
    let session = mean("session", "rps");
    for (variant, label) in [
        ("session", "a session's access token"),
        ("api-key", "an API key"),
        ("forged-key", "a forged key (one checksum character changed): 401"),
    ] {
        let share = mean(variant, "rps") / session;
        let goal = match variant {
            "api-key" => format!(">= 95%: {}", verdict(share >= 0.95)),
            // No query: what PostgreSQL spends per request is the machine's background.
            "forged-key" => {
                format!(
                    "no database work: {}",
                    verdict(mean(variant, "database_us") < 0.1 * mean("session", "database_us"))
                )
            }
            _ => String::new(),
        };
        writeln!(
            out,
            "| {label} | {:.0} | {:.2} ms | {:.2} ms | {:.0} µs | {:.0} µs | {:.0}% | {goal} |",
            mean(variant, "rps"),
            mean(variant, "p50_ms"),
            mean(variant, "p99_ms"),
            mean(variant, "server_us"),
            mean(variant, "database_us"),
            share * 100.0
        )?;
    }
    writeln!(
        out,
        "\nMeans of {} alternating rounds each. A key is found by its hash in the one statement that also marks \
         `last_used_at` (at most once a minute) and counts the request in the key's minute (an upsert on every \
         request); a session's read checks the session, the user and the membership. A forged key is refused by \
         its checksum before any query.\n",
        rows.len() / 3
    )?;
    Ok(())
}

fn side_by_side(
    out: &mut String,
    title: &str,
    rows: &[&Value],
    key: &str,
    variants: [&str; 2],
    note: &str,
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mean = |variant: &str, field: &str| {
        let of: Vec<f64> = rows.iter().filter(|r| r[key] == variant).map(|r| f(r, field)).collect();
        of.iter().sum::<f64>() / of.len().max(1) as f64
    };
    writeln!(out, "### {title}\n\n| {key} | requests/s | p50 | p99 | throughput |\n|---|---|---|---|---|")?;
    for variant in variants {
        let share = 100.0 * mean(variant, "rps") / mean(variants[0], "rps");
        writeln!(
            out,
            "| {variant} | {:.0} | {:.2} ms | {:.2} ms | {share:.0}% |",
            mean(variant, "rps"),
            mean(variant, "p50_ms"),
            mean(variant, "p99_ms")
        )?;
    }
    writeln!(out, "\nMeans of {} alternating rounds each. {note}\n", rows.len() / 2)?;
    Ok(())
}

/// 49,900 for 49900.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The writes that make events, by the baseline commit (bench/baseline.jsonl) and this build.
fn write_costs(out: &mut String, after: &[&Value], baseline: &[Value]) -> anyhow::Result<()> {
    if after.is_empty() {
        return Ok(());
    }
    let before: Vec<&Value> = baseline.iter().filter(|r| r["kind"] == "write-cost").collect();
    let commit = before.first().and_then(|r| r["commit"].as_str()).unwrap_or("");
    let mean = |rows: &[&Value], name: &str, field: &str| {
        let of: Vec<f64> = rows.iter().filter(|r| r["name"] == name).map(|r| f(r, field)).collect();
        (!of.is_empty()).then(|| of.iter().sum::<f64>() / of.len() as f64)
    };
    let then =
        if commit.is_empty() { "no baseline recorded".to_owned() } else { format!("before ({commit}) and after") };
    writeln!(out, "### Writes that make events: {then}, closed loop, 4 connections\n")?;
    writeln!(out, "| write | requests/s | p50 | p99 | server CPU / request | PostgreSQL CPU / request | throughput |")?;
    writeln!(out, "|---|---|---|---|---|---|---|")?;
    for (name, route) in
        [("role-change", "PATCH /orgs/{org}/roles/{role}"), ("invitation", "POST /orgs/{org}/invitations")]
    {
        let pair = |field: &str, unit: &str, digits: usize| match (mean(&before, name, field), mean(after, name, field))
        {
            (Some(b), Some(a)) => format!("{b:.digits$} -> {a:.digits$}{unit}"),
            (None, Some(a)) => format!("{a:.digits$}{unit}"),
            _ => "?".into(),
        };
        let share = match (mean(&before, name, "rps"), mean(after, name, "rps")) {
            (Some(b), Some(a)) if b > 0.0 => format!("{:.0}%", 100.0 * a / b),
            _ => "no baseline".into(),
        };
        let row = [
            route.to_owned(),
            pair("rps", "", 0),
            pair("p50_ms", " ms", 2),
            pair("p99_ms", " ms", 2),
            pair("server_us", " µs", 0),
            pair("database_us", " µs", 0),
            share,
        ];
        writeln!(out, "| {} |", row.join(" | "))?;
    }
    writeln!(
        out,
        "\nMeans of 2 alternating rounds each, on a database of their own (one account, one org). Before: \
         `identity serve` built from the commit before events (`scripts/bench --baseline <commit>`, \
         measured on the same machine by the same harness, at another time); after: this build, whose audit row's \
         statement also writes the event (and would queue deliveries: no endpoint here). An invitation also queues \
         its mail (printed, not sent, in both).\n"
    )?;
    Ok(())
}

/// Cold starts of the baseline commit beside this build's, function by function.
fn before_and_after(out: &mut String, after: &[&Value], before: &[Value]) -> anyhow::Result<()> {
    let Some(first) = before.first() else { return Ok(()) };
    let commit = first["commit"].as_str().filter(|c| !c.is_empty()).unwrap_or("?");
    let then: BTreeMap<String, &Value> = before.iter().filter(|r| r["kind"] == "cold").map(|r| (label(r), r)).collect();
    writeln!(out, "### Cold starts before ({commit}) and after\n")?;
    writeln!(out, "| function | init median | first invocation median | binary | zip |\n|---|---|---|---|---|")?;
    for r in after {
        let Some(b) = then.get(&label(r)) else { continue };
        let pair = |k: &str| format!("{:.1} -> {:.1} ms", f(&b[k], "median_ms"), f(&r[k], "median_ms"));
        let size = |k: &str| format!("{:.2} -> {:.2} MB", f(b, k) / 1e6, f(r, k) / 1e6);
        let row = [label(r), pair("init"), pair("first_invocation"), size("binary_bytes"), size("zip_bytes")];
        writeln!(out, "| {} |", row.join(" | "))?;
    }
    writeln!(
        out,
        "\n{commit}'s functions (the baseline, `scripts/bench --baseline <commit>`) and this build's, measured by the \
         same harness on the same machine. Functions the baseline did not have are not in this table.\n"
    )?;
    Ok(())
}

/// Puts the table, without its title, between the markers of docs/benchmarks.md.
pub fn into_doc(path: &Path, table: &str) -> anyhow::Result<()> {
    let body: Vec<&str> = table.lines().skip(2).collect();
    let doc = std::fs::read_to_string(path)?;
    let (head, rest) = doc.split_once(START).context("docs/benchmarks.md: bench start marker not found")?;
    let (_, tail) = rest.split_once(END).context("docs/benchmarks.md: bench end marker not found")?;
    let body = body.join("\n");
    std::fs::write(path, format!("{head}{START}\n\n{}\n\n{END}{tail}", body.trim()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(49900), "49,900");
        assert_eq!(thousands(100), "100");
        assert_eq!(thousands(1000000), "1,000,000");
    }

    #[test]
    fn a_run_with_failed_requests_is_refused() {
        let rows = vec![serde_json::json!({"kind": "http", "name": "org-open", "requests": 10, "success": 0.5,
                                           "statuses": {"500": 5}, "rps": 1.0, "p50_ms": 1.0, "p99_ms": 1.0})];
        let err = render(&rows, &[], true).unwrap_err().to_string();
        assert!(err.contains("org-open: 50.0% of 10 requests succeeded"), "{err}");
        assert!(err.contains("no cold measurements"), "{err}");
    }
}
