"""Turns a schemathesis report (its text output) into figure lines; exits 1 on any failure.

Usage: schemathesis_summary.py REPORT.txt EXAMPLES
"""

import re
import sys


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    examples = sys.argv[2]
    cases = re.search(r"Test cases:\s*\n\s*(\d+) generated,\s*([^\n]*)", text)
    tested = re.search(r"Tested:\s*(\d+)", text)
    if not cases or not tested:
        print("schemathesis: no summary in the report (it did not run to the end)")
        sys.exit(1)
    failures = re.findall(r"^\s*❌ (ST\d+ )?([^:\n]+): (\d+)$", text, re.MULTILINE)
    failures = [(name.strip(), int(n)) for _, name, n in failures if not name.strip().endswith(("Coverage", "Fuzzing", "Stateful", "Examples"))]
    total = sum(n for _, n in failures)
    server = sum(n for name, n in failures if "server error" in name.lower())
    bola = sum(n for name, n in failures if "authorization" in name.lower())
    print(
        f"schemathesis (all checks, all phases, seed 42, {examples} examples per operation, as two users "
        f"in two orgs): {cases.group(1)} cases on {tested.group(1)} operations, {total} failures, "
        f"{server} server errors, {bola} object-level authorization bypasses"
    )
    for name, n in failures:
        print(f"schemathesis failure: {name}: {n}")
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()
