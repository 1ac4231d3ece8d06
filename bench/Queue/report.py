#!/usr/bin/env python3
"""Turns bench/Queue/run.sh's raw runs into its Markdown table: per server the medians over the rounds, and the ratios
taken inside each round as median [min-max]. Usage: report.py RAW_FOLDER"""
import glob
import os
import re
import statistics
import sys

runs = {}  # (round, server) -> dict
for path in glob.glob(os.path.join(sys.argv[1], "r*.run")):
    round_ = os.path.basename(path).split("-")[0]
    f = open(path).read().split()
    server, start, last = f[0], float(f[1]), float(f[2])
    users, delivered, distinct = int(f[3]), int(f[4]), int(f[5])
    before, after = [int(v) for v in f[6:9]], [int(v) for v in f[9:12]]
    cmd_before, cmd_after, statements = int(f[12]), int(f[13]), int(f[14])
    wrk = open(path[:-4] + ".wrk").read()
    signups = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
    per = max(distinct, 1)
    runs[(round_, server)] = {
        "signups/s": signups,
        "emails/s": distinct / max(last - start, 1e-3),
        "server ms/email": (after[0] - before[0]) / per / 1000,
        "redis ms/email": (after[1] - before[1]) / per / 1000,
        "pg ms/email": (after[2] - before[2]) / per / 1000,
        "redis cmds/job": (cmd_after - cmd_before) / per,
        "sql/sign-up": statements / max(users, 1),
        "users": users, "lost": users - distinct, "dup": delivered - distinct,
    }

servers = [s for s in ("api", "apib", "nest") if any(k[1] == s for k in runs)]
rounds = sorted({k[0] for k in runs})
cols = ["signups/s", "emails/s", "server ms/email", "redis ms/email", "pg ms/email", "redis cmds/job", "sql/sign-up"]
print("| server | " + " | ".join(cols) + " | sign-ups | lost | duplicates |")
print("| --- |" + " ---: |" * (len(cols) + 3))
for s in servers:
    mine = [v for k, v in runs.items() if k[1] == s]
    med = [statistics.median(r[c] for r in mine) for c in cols]
    fmt = [f"{m:,.0f}" if m >= 100 else f"{m:.2f}" if m < 10 else f"{m:.1f}" for m in med]
    # The server's CPU per email is the goal's figure: its spread over the rounds beside the median.
    cpu = [r["server ms/email"] for r in mine]
    fmt[cols.index("server ms/email")] += f" [{min(cpu):.2f}–{max(cpu):.2f}]"
    print(f"| {s} | " + " | ".join(fmt) + f" | {sum(r['users'] for r in mine):,} | {sum(r['lost'] for r in mine)} | {sum(r['dup'] for r in mine)} |")
print()


def ratio(a, b, col):
    values = [runs[(r, a)][col] / runs[(r, b)][col] for r in rounds if (r, a) in runs and (r, b) in runs and runs[(r, b)][col]]
    return f"{statistics.median(values):.2f} [{min(values):.2f}–{max(values):.2f}]" if values else "n/a"


print("| ratio inside a round, median [min–max] over %d rounds | emails/s | server CPU per email |" % len(rounds))
print("| --- | ---: | ---: |")
for a, b in (("api", "nest"), ("apib", "nest"), ("apib", "api")):
    if a in servers and b in servers:
        print(f"| {a} / {b} | {ratio(a, b, 'emails/s')} | {ratio(a, b, 'server ms/email')} |")
