"""Renders scripts/bench's JSON lines as the markdown table in bench/results.md (and prints it).

Usage: bench_report.py RESULTS.jsonl OUT.md [README.md]

Cold starts of a baseline commit's functions (bench/baseline.jsonl, from scripts/bench
--baseline) are shown beside this build's.

With README.md, the table also replaces what stands between its bench markers, so the README
always shows the latest run.
"""

import datetime
import json
import os
import platform
import subprocess
import sys


def machine():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kib = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration, ValueError):
        mem_kib = 0
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({model}), {mem_kib / 1024 / 1024:.0f} GiB, {platform.system()} "
            f"{platform.release()}; commit {commit or '?'}; {datetime.date.today().isoformat()}")


def verdict(ok):
    return "met" if ok else "**missed**"


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    http = {r["name"]: r for r in rows if r.get("kind") == "http"}
    trips = [r for r in rows if r.get("kind") == "trips"]
    cold = [r for r in rows if r.get("kind") == "cold" and r.get("variant", "after") == "after"]
    baseline = [json.loads(l) for l in open(BASELINE) if l.strip()] if os.path.exists(BASELINE) else []
    argon = [r for r in rows if "verifies_per_second" in r]
    logins = [r for name, r in sorted(http.items()) if name.startswith("login-")]
    flows = [r for r in rows if "flow" in r]
    title = "# Benchmark results"
    if os.environ.get("BENCH_SMOKE"):
        title += " (smoke run: debug build, one second each; the figures mean nothing)"
    out = [title, "", f"Machine: {machine()}.", "",
           "Written by `scripts/bench`; goals are from the benchmark issue and are measured, not asserted.", ""]

    out += ["## Cold start (fake Lambda Runtime API, release build, x86_64)", "",
            "| function | init median / p95 | first invocation median / p95 | binary | zip | peak RSS | goals |",
            "|---|---|---|---|---|---|---|"]
    for r in cold:
        i, f = r["init"], r["first_invocation"]
        name = label(r)
        mb = lambda b: b / 1e6
        ok = (i["median_ms"] <= 10, f["median_ms"] <= 20, mb(r["binary_bytes"]) <= 6, r["peak_rss_kib"] / 1024 <= 25)
        out.append(f"| {name} | {i['median_ms']:.1f} / {i['p95_ms']:.1f} ms | {f['median_ms']:.1f} / "
                   f"{f['p95_ms']:.1f} ms | {mb(r['binary_bytes']):.2f} MB | {mb(r['zip_bytes']):.2f} MB | "
                   f"{r['peak_rss_kib'] / 1024:.1f} MiB | init {verdict(ok[0])}, first {verdict(ok[1])}, "
                   f"size {verdict(ok[2])}, RSS {verdict(ok[3])} |")
    out += ["", f"{cold[0]['runs'] if cold else 0} cold starts each. Goals: init median <= 10 ms, first invocation "
            "(including the first database connection) <= 20 ms, binary <= 6 MB, RSS <= 25 MB. \"first mail\": "
            "forgot-password for an account, so the first invocation also builds the SES client (aws-config's "
            "chain) and sends through it to a fake SES endpoint.", ""]
    out += aws_config_table(cold, baseline)

    out += ["## Warm (release `identity serve`, seeded: 1,000 users, 100 orgs, 10,000 memberships)", "",
            "| request | mode | requests/s | p50 | p99 | goal |", "|---|---|---|---|---|---|"]
    labels = {"org-open": ("GET /orgs/{org}", "open loop, 500/s, latency-corrected"),
              "members-open": ("GET /orgs/{org}/members?limit=20", "open loop, 500/s, latency-corrected"),
              "org-closed": ("GET /orgs/{org}", "closed loop, 32 connections"),
              "members-closed": ("GET /orgs/{org}/members?limit=20", "closed loop, 32 connections")}
    for key, (route, mode) in labels.items():
        if key in http:
            r = http[key]
            goal = f"p99 <= 5 ms: {verdict(r['p99_ms'] <= 5)}" if key.endswith("open") else "highest throughput"
            out.append(f"| {route} | {mode} | {r['rps']:.0f} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | {goal} |")
    for f in flows:
        what = {"refresh": "POST /auth/refresh (rotation)", "invite": "invite + accept by sign-up"}[f["flow"]]
        out.append(f"| {what} | closed loop, {f['concurrency']} workers | {f['per_second']:.1f} | {f['p50_ms']:.2f} ms "
                   f"| {f['p99_ms']:.2f} ms | |")
    out.append("")

    if argon and logins:
        raw = sum(r["verifies_per_second"] for r in argon) / len(argon)
        rate = sum(r["rps"] for r in logins) / len(logins)
        ratio = rate / raw
        rounds = ", ".join(f"{l['rps'] / a['verifies_per_second']:.0%}" for l, a in zip(logins, argon))
        p50 = max(r["p50_ms"] for r in logins)
        p99 = max(r["p99_ms"] for r in logins)
        out += ["## Logins against the argon2 limit", "",
                "| | per second |", "|---|---|",
                f"| raw argon2id verifies (m=19456 KiB, t=2, p=1), {argon[0]['threads']} threads | {raw:.1f} |",
                f"| POST /auth/login, closed loop, {logins[0]['concurrency']} clients | {rate:.1f} (p50 up to "
                f"{p50:.0f} ms, p99 up to {p99:.0f} ms) |",
                f"| ratio | {ratio:.0%} (goal >= 90%: {verdict(ratio >= 0.9)}) |", "",
                f"Means of {len(logins)} alternating rounds of logins and raw verifies; the rounds' ratios: {rounds}.", ""]
    if logins and "flood-logins" in http and "flood-resets" in http:
        calm, busy, flood = logins[-1], http["flood-logins"], http["flood-resets"]
        out += ["### Logins while forged reset tokens flood in", "",
                "| | logins/s | login p50 | login p99 | forged resets/s (all 422) |", "|---|---|---|---|---|",
                f"| undisturbed (the last round above) | {calm['rps']:.1f} | {calm['p50_ms']:.0f} ms | "
                f"{calm['p99_ms']:.0f} ms | |",
                f"| beside {flood['concurrency']} clients sending forged reset tokens | {busy['rps']:.1f} | "
                f"{busy['p50_ms']:.0f} ms | {busy['p99_ms']:.0f} ms | {flood['rps']:.0f} |", "",
                "A reset token is looked up before the new password is hashed, so a forged one costs a "
                "database lookup, not an argon2 computation; per-IP limits are off here.", ""]

    out += ["## Growth: members list (cursor pagination)", "",
            "| org size | page | p50 | p99 |", "|---|---|---|---|"]
    pages = [k for k in http if k.startswith("members-100k-page-")]
    growth = [("members-1k", "1,000", "first"), ("members-100k", "100,000", "first")]
    growth += [(k, "100,000", f"after {(int(k.rsplit('-', 1)[1]) - 1) * 100:,} members") for k in pages]
    for key, size, page in growth:
        if key in http:
            r = http[key]
            out.append(f"| {size} | {page} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms |")
    out.append("")

    out += ["## Database round trips per request (counted in PostgreSQL's statement log)", "",
            "| request | round trips per request |", "|---|---|"]
    for t in trips:
        out.append(f"| {t['name']} | {int(t['round_trips']) / t['requests']:.1f} |")
    out += ["", "Each parse, each execute (with its bind) and each simple statement (BEGIN, COMMIT) is one "
            "round trip. Statements are prepared once per pooled connection, so a warm connection only "
            "executes. Login runs here without the per-IP limit, which adds one.", ""]

    problems = [f"{name}: {r['success']:.1%} of {r['requests']} requests succeeded ({r['statuses']})"
                 for name, r in http.items() if r["requests"] == 0 or r["success"] < 1]
    # The flows stop at the first unexpected answer, so an empty flow is the only failure left.
    problems += [f"{f['flow']} flow completed nothing" for f in flows if not f["completed"]]
    problems += [f"{label(r)} answered {r['statuses']}" for r in cold
                 if any(st is not None and not 200 <= st < 300 for st in r["statuses"])]
    problems += [f"{label(r)} sent {r['mails']} mails in {r['runs']} runs" for r in cold
                 if r.get("what") and r.get("mails") != r["runs"]]
    expected = {"cold": len(cold) == 7, "trips": len(trips) == 4, "argon2": len(argon) == len(logins) > 0,
                "flows": len(flows) == 2, "login": bool(logins), "pages": bool(pages),
                "flood": "flood-logins" in http and "flood-resets" in http}
    problems += [f"no {what} measurements" for what, ok in expected.items() if not ok]
    text = "\n".join(out)
    if problems:
        # A benchmark whose requests failed measured something else; its table is not kept.
        sys.exit("benchmark invalid:\n  " + "\n  ".join(problems))
    open(sys.argv[2], "w").write(text)
    print(text)
    if len(sys.argv) > 3:
        into_readme(sys.argv[3], out)


BASELINE = "bench/baseline.jsonl"


def label(r):
    """A cold-start row's name: the function, and what its first invocation does if special."""
    return r["function"] + (f" ({r['what']})" if r.get("what") else "")


def aws_config_table(after, before):
    """Cold starts of the baseline commit beside this build's, function by function."""
    if not before:
        return []
    commit = before[0].get("commit") or "?"
    then = {label(r): r for r in before}
    out = [f"### aws-config, and SES only where mail is sent: before ({commit}) and after", "",
           "| function | init median | first invocation median | binary | zip |", "|---|---|---|---|---|"]
    for r in after:
        b = then.get(label(r))
        if not b:
            continue
        pair = lambda k: f"{b[k]['median_ms']:.1f} -> {r[k]['median_ms']:.1f} ms"
        size = lambda k: f"{b[k] / 1e6:.2f} -> {r[k] / 1e6:.2f} MB"
        out.append(f"| {label(r)} | {pair('init')} | {pair('first_invocation')} | {size('binary_bytes')} | "
                   f"{size('zip_bytes')} |")
    out += ["", f"{commit}: every function linked aws-sdk-ses, its client built from the environment's keys by "
            "hand. Now auth, invitations and mailer build it from aws-config's standard chain (environment, "
            "profiles, SSO, web identity, container and instance roles) on the first send, and orgs, users and "
            "migrate link neither crate. Both measured in one session by the same harness "
            "(`scripts/bench --baseline <commit>`).", ""]
    return out


START, END = "<!-- bench:start (scripts/bench writes this) -->", "<!-- bench:end -->"


def into_readme(path, lines):
    """Puts the table between the README's markers, one heading level down."""
    body = [("#" + l) if l.startswith("## ") else l for l in lines[2:]]
    readme = open(path).read()
    head, found, rest = readme.partition(START)
    _, found_end, tail = rest.partition(END)
    if not (found and found_end):
        sys.exit(f"{path}: bench markers not found")
    open(path, "w").write(head + START + "\n\n" + "\n".join(body).strip() + "\n\n" + END + tail)


if __name__ == "__main__":
    main()
