//! The report's sections on authenticated reads: the database's ceiling, every org read against
//! GET /me, the verified-token cache, the session's last-used mark and the log line, each
//! beside the baseline commit's (bench/baseline.jsonl) where it was measured.

use std::fmt::Write;

use serde_json::Value;

/// A number field of a row (0 when missing).
fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(0.0)
}

/// The mean of `field` over `rows` passing `keep`, if any does.
fn mean(rows: &[&Value], keep: impl Fn(&Value) -> bool, field: &str) -> Option<f64> {
    let of: Vec<f64> = rows.iter().filter(|r| keep(r)).map(|r| f(r, field)).collect();
    (!of.is_empty()).then(|| of.iter().sum::<f64>() / of.len() as f64)
}

fn named<'a>(name: &'a str) -> impl Fn(&Value) -> bool + 'a {
    move |r: &Value| r["name"] == name
}

fn is_me(r: &Value) -> bool {
    r["name"].as_str().is_some_and(|n| n.starts_with("me-"))
}

/// The baseline's commit named in its rows of `kind`, if it measured them.
fn commit_of(baseline: &[&Value]) -> Option<String> {
    baseline.iter().find_map(|r| r["commit"].as_str().filter(|c| !c.is_empty())).map(str::to_owned)
}

/// "before -> after" (or the one there is).
fn pair(before: Option<f64>, after: Option<f64>, unit: &str, digits: usize) -> String {
    match (before, after) {
        (Some(b), Some(a)) => format!("{b:.digits$}{unit} -> {a:.digits$}{unit}"),
        (None, Some(a)) => format!("{a:.digits$}{unit}"),
        (Some(b), None) => format!("{b:.digits$}{unit} -> ?"),
        (None, None) => "?".into(),
    }
}

/// Every section, from this run's `rows` and the baseline's.
pub fn render(out: &mut String, rows: &[Value], baseline: &[Value]) -> anyhow::Result<()> {
    let of =
        |rows: &'_ [Value], kind: &str| -> Vec<Value> { rows.iter().filter(|r| r["kind"] == kind).cloned().collect() };
    let (ratios, ratios_before) = (of(rows, "ratio"), of(baseline, "ratio"));
    let (ceilings, ceilings_before) = (of(rows, "ceiling"), of(baseline, "ceiling"));
    let r: Vec<&Value> = ratios.iter().collect();
    let rb: Vec<&Value> = ratios_before.iter().collect();
    let c: Vec<&Value> = ceilings.iter().collect();
    let cb: Vec<&Value> = ceilings_before.iter().collect();
    ceiling(out, &r, &rb, &c, &cb)?;
    read_ratios(out, &r, &rb)?;
    let cache = of(rows, "token-cache");
    token_cache(out, &cache.iter().collect::<Vec<_>>(), &c)?;
    touch(out, &c)?;
    let (logs, logs_before) = (of(rows, "logging"), of(baseline, "logging"));
    logging(out, &logs.iter().collect::<Vec<_>>(), &logs_before.iter().collect::<Vec<_>>())?;
    Ok(())
}

/// GET /me's and GET /orgs/{org}'s rates as shares of their statements' pgbench rate.
fn ceiling(out: &mut String, r: &[&Value], rb: &[&Value], c: &[&Value], cb: &[&Value]) -> anyhow::Result<()> {
    if c.is_empty() {
        return Ok(());
    }
    let commit = commit_of(cb);
    let then = commit.as_deref().map_or("no baseline recorded".to_owned(), |c| format!("before ({c}) and after"));
    writeln!(out, "## The database's ceiling: {then}\n")?;
    writeln!(
        out,
        "| route | statements | pgbench (the route's statements alone) | the route over HTTP | share of the ceiling | \
         server CPU / request | PostgreSQL CPU / request |\n|---|---|---|---|---|---|---|"
    )?;
    for (route, http) in [("GET /me", None), ("GET /orgs/{org}", Some("GET /orgs/{org}"))] {
        let keep = |rows: &[&Value]| match http {
            None => (mean(rows, is_me, "rps"), mean(rows, is_me, "server_us"), mean(rows, is_me, "database_us")),
            Some(name) => (
                mean(rows, named(name), "rps"),
                mean(rows, named(name), "server_us"),
                mean(rows, named(name), "database_us"),
            ),
        };
        let (rps, server, database) = keep(r);
        let (rps_b, server_b, database_b) = keep(rb);
        let (rate, rate_b) = (mean(c, named(route), "rate"), mean(cb, named(route), "rate"));
        let statements = |rows: &[&Value]| mean(rows, named(route), "statements").map(|n| format!("{n:.0}"));
        let share = |rps: Option<f64>, rate: Option<f64>| match (rps, rate) {
            (Some(h), Some(p)) if p > 0.0 => Some(100.0 * h / p),
            _ => None,
        };
        writeln!(
            out,
            "| {route} | {} | {} | {} | {} | {} | {} |",
            match (statements(cb), statements(c)) {
                (Some(b), Some(a)) if b != a => format!("{b} -> {a}"),
                (_, a) => a.unwrap_or_default(),
            },
            pair(rate_b, rate, "/s", 0),
            pair(rps_b, rps, "/s", 0),
            pair(share(rps_b, rate_b), share(rps, rate), "%", 0),
            pair(server_b, server, " µs", 0),
            pair(database_b, database, " µs", 0),
        )?;
    }
    writeln!(
        out,
        "\npgbench runs exactly the statements the server sent for the route (taken, with their parameters, from \
         PostgreSQL's statement log), prepared, with 8 clients on 2 threads as the HTTP load has 8 connections on \
         the same 2 cores; several statements go in one pipeline, as the server sends them in one round trip. The \
         share is what HTTP, JWT verification, pooling and serialisation leave of the database's own limit. The CPU \
         columns (from /proc, over the measured requests) name the biggest remaining cost: the server's own work per \
         request against PostgreSQL's, on cores the load generator shares.\n"
    )?;
    Ok(())
}

/// Each org read's throughput beside GET /me's, after and before.
fn read_ratios(out: &mut String, r: &[&Value], rb: &[&Value]) -> anyhow::Result<()> {
    let Some(me) = mean(r, is_me, "rps") else { return Ok(()) };
    let me_before = mean(rb, is_me, "rps");
    let commit = commit_of(rb);
    let then = commit.as_deref().map_or(String::new(), |c| format!(", before ({c}) and after"));
    writeln!(out, "## Every org read against GET /me (closed loop, 8 connections, one run{then})\n")?;
    writeln!(
        out,
        "| request | requests/s | p50 | p99 | server CPU / request | PostgreSQL CPU / request | of GET /me's | goal |\n\
         |---|---|---|---|---|---|---|---|"
    )?;
    writeln!(
        out,
        "| GET /me (mean of a run first and one last) | {} | | | {} | {} | 100% | |",
        pair(me_before, Some(me), "", 0),
        pair(mean(rb, is_me, "server_us"), mean(r, is_me, "server_us"), " µs", 0),
        pair(mean(rb, is_me, "database_us"), mean(r, is_me, "database_us"), " µs", 0),
    )?;
    for row in r.iter().filter(|row| !is_me(row)) {
        let name = row["name"].as_str().unwrap_or("?");
        let before = rb.iter().find(|b| b["name"] == name);
        let ratio = f(row, "rps") / me;
        let ratio_before = before.zip(me_before).map(|(b, m)| 100.0 * f(b, "rps") / m);
        let single = !name.ends_with("members")
            && !name.ends_with("roles")
            && !name.ends_with("invitations")
            && !name.ends_with("audit-log");
        let goal =
            if single { format!(">= 90%: {}", if ratio >= 0.9 { "met" } else { "not met" }) } else { "a page".into() };
        writeln!(
            out,
            "| {name} | {} | {:.2} ms | {:.2} ms | {} | {} | {} | {goal} |",
            pair(before.map(|b| f(b, "rps")), Some(f(row, "rps")), "", 0),
            f(row, "p50_ms"),
            f(row, "p99_ms"),
            pair(before.map(|b| f(b, "server_us")), Some(f(row, "server_us")), " µs", 0),
            pair(before.map(|b| f(b, "database_us")), Some(f(row, "database_us")), " µs", 0),
            pair(ratio_before, Some(100.0 * ratio), "%", 0),
        )?;
    }
    writeln!(
        out,
        "\nGET /me checks the session in the statement that reads the user. An org read is one statement too: the \
         caller's check (session, user, membership with its roles and permissions: three lookups by key) heads it \
         and the read runs inside it only for a caller the check found allowed (before: the check and the read as \
         two statements sent together). Goal for each single-object read: 90% of GET /me's rate; a page's own rows \
         cost what they cost. The CPU columns are the server's and PostgreSQL's (the postmaster and its backends) \
         CPU time over the measured requests, from /proc: on two shared cores the load generator takes the rest, \
         and requests per second follow the sum.\n"
    )?;
    Ok(())
}

/// GET /me and GET /orgs/{org} with the verified-token cache on and off.
fn token_cache(out: &mut String, rows: &[&Value], c: &[&Value]) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out, "### Tokens verified once: GET /me and GET /orgs/{{org}} with the cache on and off\n")?;
    writeln!(
        out,
        "| route | off (every request checks the signature) | on (TOKEN_CACHE_ENTRIES=10000) | gain | share of the \
         ceiling off -> on |\n|---|---|---|---|---|"
    )?;
    for route in ["GET /me", "GET /orgs/{org}"] {
        let rate = |variant: &str| mean(rows, |x| x["name"] == route && x["variant"] == variant, "rps");
        let (on, off) = (rate("on"), rate("off"));
        let gain = match (on, off) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:+.0}%", 100.0 * (a / b - 1.0)),
            _ => "?".into(),
        };
        let ceiling = mean(c, named(route), "rate");
        let share = |v: Option<f64>| v.zip(ceiling).map(|(v, p)| 100.0 * v / p);
        writeln!(
            out,
            "| {route} | {:.0} | {:.0} | {gain} | {} |",
            off.unwrap_or(0.0),
            on.unwrap_or(0.0),
            pair(share(off), share(on), "%", 0)
        )?;
    }
    writeln!(
        out,
        "\nMeans of 2 alternating rounds each, one server with the cache and one without, 8 connections, the same \
         token throughout (as a client reuses its token until it expires). A token is kept by the SHA-256 of its \
         whole text until its `exp`; the session, key or client behind it is still checked in the database on every \
         request.\n"
    )?;
    Ok(())
}

/// GET /me's statement with and without the session's last-used mark in it.
fn touch(out: &mut String, c: &[&Value]) -> anyhow::Result<()> {
    let with = mean(c, named("GET /me, marking the session in its check"), "rate");
    let without = mean(c, named("GET /me"), "rate");
    let (Some(with), Some(without)) = (with, without) else { return Ok(()) };
    writeln!(out, "### The session's last-used mark: GET /me's statement with it in every check and without\n")?;
    writeln!(out, "| GET /me's statement | pgbench statements/s | PostgreSQL time per statement (2 cores / rate) |")?;
    writeln!(out, "|---|---|---|")?;
    let per = |rate: f64| 2.0e6 / rate;
    writeln!(out, "| with the mark's CTE (before) | {with:.0} | {:.1} µs |", per(with))?;
    writeln!(out, "| without (after) | {without:.0} | {:.1} µs |", per(without))?;
    writeln!(
        out,
        "\nBefore, every session check carried a CTE that wrote `last_used_at` when it was over a minute old: a second \
         lookup of the session and a write node planned and run on every request. Now the check only returns \
         whether the mark is over a minute old, and the server sends the write then, once a minute per busy \
         session. Difference: {:.1} µs of PostgreSQL per request (pgbench and PostgreSQL share the 2 cores, so \
         the per-statement times are upper bounds).\n",
        per(with) - per(without)
    )?;
    Ok(())
}

/// The log line's cost at info against warn, after and before.
fn logging(out: &mut String, rows: &[&Value], before: &[&Value]) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let cost = |rows: &[&Value]| {
        let level = |l: &str| mean(rows, |r| r["level"] == l, "rps");
        level("warn").zip(level("info")).map(|(w, i)| (w, i, 100.0 * (1.0 - i / w)))
    };
    let commit = commit_of(before);
    writeln!(
        out,
        "### The per-request log line: GET /orgs/{{org}} at warn and at info (JSON lines), closed loop, 8 connections\n"
    )?;
    writeln!(out, "| build | warn requests/s | info requests/s | cost of the line | goal |\n|---|---|---|---|---|")?;
    if let (Some(commit), Some((w, i, c))) = (&commit, cost(before)) {
        writeln!(out, "| before ({commit}) | {w:.0} | {i:.0} | {c:.1}% | |")?;
    }
    if let Some((w, i, c)) = cost(rows) {
        writeln!(
            out,
            "| this build | {w:.0} | {i:.0} | {c:.1}% | <= 3%: {} |",
            if c <= 3.0 { "met" } else { "not met" }
        )?;
    }
    writeln!(
        out,
        "\nMeans of 2 alternating rounds each. At info every request writes one JSON line (its id, method, path, \
         status and duration), as on Lambda; at warn, none. Now the line is formatted on the request's thread with \
         its own fields (no span's fields read back) and written to stderr by a thread of its own (lossless: a full \
         queue makes the request wait rather than drop a line).\n"
    )?;
    Ok(())
}
