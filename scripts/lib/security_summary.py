"""Sums the security suite's figures into three lines: bad inputs, cross-tenant cells, faults.

Usage: security_summary.py FIGURES.txt
"""

import re
import sys


def first_int(pattern, text, default=0):
    m = re.search(pattern, text, re.MULTILINE)
    return int(m.group(1)) if m else default


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    bad = first_int(r"^(\d+) bad inputs", text)
    bad += first_int(r"^(\d+) spellings", text)
    bad += first_int(r"= (\d+) requests, 0 accepted", text)
    bad += first_int(r": (\d+) cases on \d+ operations", text)
    server_errors = first_int(r"bad inputs across \d+ routes, (\d+) server errors", text)
    server_errors += first_int(r"(\d+) server errors, \d+ object-level", text)
    # The matrix runs twice (as is, and with one org requiring MFA): the cells and leaks of both.
    matrices = re.findall(r"^(\d+) cross-tenant cells .*?, (\d+) leaks", text, re.MULTILINE)
    cells = sum(int(c) for c, _ in matrices)
    leaks = sum(int(n) for _, n in matrices) if matrices else -1
    bypasses = first_int(r"(\d+) object-level authorization bypasses", text)
    outages = first_int(r"stopped and started (\d+) times", text)
    outages += len(re.findall(r"^(database refusing|database silent|SES down)", text, re.MULTILINE))
    lost = first_int(r"acknowledged, (\d+) of them lost", text, default=-1)
    print(f"{bad} bad inputs (corpus, email spellings, forged tokens, schemathesis cases), {server_errors} server errors")
    print(f"{cells} cross-tenant cells, {leaks} leaks; schemathesis object-level authorization: {bypasses} bypasses")
    print(f"{outages} faults (PostgreSQL stopped mid-load, refusing, silent; SES down), {lost} lost writes")


if __name__ == "__main__":
    main()
