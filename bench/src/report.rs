//! The benchmark's JSON lines as the markdown table of bench/results.md and the README. A run
//! whose requests failed measured something else: it is refused, not reported.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value;

/// Markers around the README's copy of the table.
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
    let trips: Vec<&Value> = kind("trips").collect();
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
        "| function | init median / p95 | first invocation median / p95 | binary | zip | peak RSS | goals |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|")?;
    for r in &cold {
        let (init, first) = (&r["init"], &r["first_invocation"]);
        let (mb, zip, rss) = (f(r, "binary_bytes") / 1e6, f(r, "zip_bytes") / 1e6, f(r, "peak_rss_kib") / 1024.0);
        writeln!(
            out,
            "| {} | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {mb:.2} MB | {zip:.2} MB | {rss:.1} MiB | init {}, first {}, \
             size {}, RSS {} |",
            label(r),
            f(init, "median_ms"),
            f(init, "p95_ms"),
            f(first, "median_ms"),
            f(first, "p95_ms"),
            verdict(f(init, "median_ms") <= 10.0),
            verdict(f(first, "median_ms") <= 20.0),
            verdict(mb <= 6.0),
            verdict(rss <= 25.0),
        )?;
    }
    let runs = cold.first().map(|r| f(r, "runs")).unwrap_or(0.0);
    writeln!(
        out,
        "\n{runs} cold starts each. Goals: init median <= 10 ms, first invocation (including the first database \
         connection) <= 20 ms, binary <= 6 MB, RSS <= 25 MB. \"first mail\": forgot-password for an account, so the \
         first invocation also builds the SES client (aws-config's chain) and sends through it to a fake SES endpoint.\n"
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
    writeln!(out)?;

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

    writeln!(out, "## Database round trips per request (counted in PostgreSQL's statement log)\n")?;
    writeln!(out, "| request | round trips per request |\n|---|---|")?;
    for t in &trips {
        writeln!(out, "| {} | {:.1} |", t["name"].as_str().unwrap_or("?"), f(t, "round_trips") / f(t, "requests"))?;
    }
    writeln!(
        out,
        "\nEach parse, each execute (with its bind) and each simple statement (BEGIN, COMMIT) is one round trip. \
         Statements are prepared once per pooled connection, so a warm connection only executes. Login runs here \
         without the per-IP limit, which adds one.\n"
    )?;

    let mut problems: Vec<String> = http
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
        if !r["what"].as_str().unwrap_or_default().is_empty() && r["mails"] != r["runs"] {
            problems.push(format!("{} sent {} mails in {} runs", label(r), r["mails"], r["runs"]));
        }
    }
    let expected = [
        ("cold", cold.len() == 7),
        ("trips", trips.len() == 4),
        ("argon2", !logins.is_empty() && argon.len() == logins.len()),
        ("flows", flows.len() == 2),
        ("login", !logins.is_empty()),
        ("pages", !pages.is_empty()),
        ("flood", http.contains_key("flood-logins") && http.contains_key("flood-resets")),
    ];
    problems.extend(expected.iter().filter(|(_, ok)| !ok).map(|(what, _)| format!("no {what} measurements")));
    if !problems.is_empty() {
        bail!("benchmark invalid:\n  {}", problems.join("\n  "));
    }
    Ok(out.trim_end().to_owned() + "\n")
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

/// Cold starts of the baseline commit beside this build's, function by function.
fn before_and_after(out: &mut String, after: &[&Value], before: &[Value]) -> anyhow::Result<()> {
    let Some(first) = before.first() else { return Ok(()) };
    let commit = first["commit"].as_str().filter(|c| !c.is_empty()).unwrap_or("?");
    let then: BTreeMap<String, &Value> = before.iter().map(|r| (label(r), r)).collect();
    writeln!(out, "### aws-config, and SES only where mail is sent: before ({commit}) and after\n")?;
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
        "\n{commit}: every function linked aws-sdk-ses, its client built from the environment's keys by hand. Now \
         auth, invitations and mailer build it from aws-config's standard chain (environment, profiles, SSO, web \
         identity, container and instance roles) on the first send, and orgs, users and migrate link neither crate. \
         Both measured in one session by the same harness (`scripts/bench --baseline <commit>`).\n"
    )?;
    Ok(())
}

/// Puts the table between the README's markers, one heading level down.
pub fn into_readme(path: &Path, table: &str) -> anyhow::Result<()> {
    let body: Vec<String> =
        table.lines().skip(2).map(|l| if l.starts_with("## ") { format!("#{l}") } else { l.to_owned() }).collect();
    let readme = std::fs::read_to_string(path)?;
    let (head, rest) = readme.split_once(START).context("README: bench start marker not found")?;
    let (_, tail) = rest.split_once(END).context("README: bench end marker not found")?;
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
