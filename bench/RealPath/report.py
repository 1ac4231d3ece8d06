#!/usr/bin/env python3
"""Turns bench/RealPath/run.sh's raw outputs into its Markdown tables.

Ratios are taken inside a round, then summarised as median [min-max] over the rounds; CPU and statements per request
are medians over the rounds. Usage: report.py RAW_FOLDER
"""
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

raw = Path(sys.argv[1])
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
WORKLOADS = [("user", "`GET /api/users/{id}`"), ("list", "`GET /api/users?page=1&pageSize=20`"), ("signup", "`POST /api/users`")]

# results[(server, workload)][round] = dict(rps, p99, max, app_us, pg_us, statements, pg_exec_ms)
results = defaultdict(dict)
for path in sorted(raw.glob("r*-*.txt")):
    match = re.fullmatch(r"r(\d+)-(\w+)-(\w+)\.txt", path.name)
    text = path.read_text()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    requests = re.search(r"(\d+) requests in", text)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    worst = re.search(r"^\s+Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", text, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    if not rps or not p99:
        sys.exit(f"report.py: cannot read wrk's output in {path}")
    if errors:
        sys.exit(f"report.py: {path.name}: {errors.group(0)}; the measurement is void")
    # A timeout is a request wrk gave up on after 2 s: counted, and shown, not hidden.
    timeouts = int(re.search(r"timeout (\d+)", socket_errors.group(1)).group(1)) if socket_errors else 0
    if socket_errors and re.search(r"(connect|read|write) [1-9]", socket_errors.group(1)):
        sys.exit(f"report.py: {path.name}: {socket_errors.group(0)}; the measurement is void")
    app0, pg0, app1, pg1, statements, exec_ms = (float(v) for v in path.with_suffix(".cpu").read_text().split())
    n = int(requests.group(1))
    results[(match.group(2), match.group(3))][int(match.group(1))] = dict(
        rps=float(rps.group(1)), p99=float(p99.group(1)) * UNITS[p99.group(2)],
        max=float(worst.group(1)) * UNITS[worst.group(2)], timeouts=timeouts,
        app_us=(app1 - app0) / n, pg_us=(pg1 - pg0) / n, statements=statements / n, pg_exec_us=exec_ms * 1000 / n)


def med(values, fmt):
    values = list(values)
    return fmt(statistics.median(values)) if values else "n/a"


def spread(values, fmt):
    values = list(values)
    return f"{fmt(statistics.median(values))} [{fmt(min(values))}–{fmt(max(values))}]" if values else "n/a"


def ratios(a, b, key="rps"):
    rounds = sorted(set(results[a]) & set(results[b]))
    return [results[a][r][key] / results[b][r][key] for r in rounds]


def column(key, server, workload, fmt):
    return med((r[key] for r in results[(server, workload)].values()), fmt)


rounds = max(len(v) for v in results.values())
print(f"#### Throughput ({rounds} rounds per workload; req/s median [min–max], ratios inside each round)\n")
print("| workload | .NET API | NestJS + TypeORM | raw Npgsql | API / NestJS | API / raw Npgsql |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for workload, title in WORKLOADS:
    cells = [spread((r["rps"] for r in results[(s, workload)].values()), lambda v: f"{v:,.0f}") for s in ("api", "nest", "bare")]
    vs_nest = spread(ratios(("api", workload), ("nest", workload)), lambda v: f"{v:.2f}×")
    vs_bare = spread(ratios(("api", workload), ("bare", workload)), lambda v: f"{v:.2f}")
    print(f"| {title} | {' | '.join(cells)} | {vs_nest} | {vs_bare} |")

print("\n#### Where the time goes (medians over the rounds, per request)\n")
print("| workload | server | p99 ms | worst ms | timeouts (> 2 s, all rounds) | server CPU µs | PostgreSQL CPU µs | statements | PostgreSQL executor µs |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
names = {"api": ".NET API", "nest": "NestJS + TypeORM", "bare": "raw Npgsql", "sqlite": ".NET API on SQLite (no PostgreSQL)"}
for workload, title in WORKLOADS:
    for server in ("api", "nest", "bare", "sqlite"):
        if not results[(server, workload)]:
            continue
        print(f"| {title} | {names[server]} | {column('p99', server, workload, lambda v: f'{v:.2f}')} | "
              f"{column('max', server, workload, lambda v: f'{v:.0f}')} | "
              f"{sum(r['timeouts'] for r in results[(server, workload)].values())} | "
              f"{column('app_us', server, workload, lambda v: f'{v:.0f}')} | {column('pg_us', server, workload, lambda v: f'{v:.0f}')} | "
              f"{column('statements', server, workload, lambda v: f'{v:.2f}')} | {column('pg_exec_us', server, workload, lambda v: f'{v:.0f}')} |")
