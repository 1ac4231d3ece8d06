#!/usr/bin/env python3
"""Turns bench/Growth/run.sh's raw outputs into its Markdown table.

Cost ratios (1M / 10k: throughput of 10k over throughput of 1M, and CPU per request of 1M over 10k) are taken inside a
round, then summarised as median [min-max]; everything else is the median over the rounds. Usage: report.py RAW_FOLDER
"""
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

raw = Path(sys.argv[1])
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
OPERATIONS = [("get", "`GET /api/users/{id}`"), ("first", "first page"), ("last-after", "last page by `after`"),
              ("last-page", "last page by `page`"), ("signup", "`POST /api/users`")]
SMALL, LARGE = "10000", "1000000"

# results[(operation, size)][round] = dict(rps, p99, cpu_us, statements, exec_us, blocks)
results = defaultdict(dict)
for path in sorted(raw.glob("r*-*.txt")):
    match = re.fullmatch(r"r(\d+)-([\w-]+)-(\d+)\.txt", path.name)
    text = path.read_text()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    requests = re.search(r"(\d+) requests in", text)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not rps or not p99:
        sys.exit(f"report.py: cannot read wrk's output in {path}")
    for void in (r"Non-2xx or 3xx responses: \d+", r"Socket errors: .*"):
        if found := re.search(void, text):
            sys.exit(f"report.py: {path.name}: {found.group(0)}; the measurement is void")
    app0, pg0, app1, pg1, statements, exec_ms, blocks = (float(v) for v in path.with_suffix(".cpu").read_text().split())
    n = int(requests.group(1))
    results[(match.group(2), match.group(3))][int(match.group(1))] = dict(
        rps=float(rps.group(1)), p99=float(p99.group(1)) * UNITS[p99.group(2)], cpu_us=(app1 - app0 + pg1 - pg0) / n,
        app_us=(app1 - app0) / n, statements=statements / n, exec_us=exec_ms * 1000 / n, blocks=blocks / n)


def med(operation, size, key):
    return statistics.median(r[key] for r in results[(operation, size)].values())


def spread(values, fmt):
    values = list(values)
    return f"{fmt(statistics.median(values))} [{fmt(min(values))}–{fmt(max(values))}]" if values else "n/a"


def ratios(a, b, key, inverse=False):
    rounds = sorted(set(results[a]) & set(results[b]))
    return [(results[b][r][key] / results[a][r][key]) if inverse else (results[a][r][key] / results[b][r][key]) for r in rounds]


rounds = max(len(v) for v in results.values())
print(f"Medians over {rounds} rounds. Cost 1M / 10k: req/s at 10k over req/s at 1M, and CPU per request (API + PostgreSQL) "
      "at 1M over 10k, each taken inside a round: median [min–max]. Pages: PostgreSQL buffer pages touched per request.\n")
print("| operation | req/s 10k | req/s 1M | p99 ms 10k | p99 ms 1M | CPU µs/req 10k | CPU µs/req 1M | cost 1M / 10k (req/s) | (CPU) | pages 10k | pages 1M |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for operation, title in OPERATIONS:
    small, large = (operation, SMALL), (operation, LARGE)
    if not results[small] or not results[large]:
        continue
    print(f"| {title} | {med(*small, 'rps'):,.0f} | {med(*large, 'rps'):,.0f} | {med(*small, 'p99'):.1f} | {med(*large, 'p99'):.1f} | "
          f"{med(*small, 'cpu_us'):,.0f} | {med(*large, 'cpu_us'):,.0f} | "
          f"{spread(ratios(small, large, 'rps'), lambda v: f'{v:.2f}×')} | {spread(ratios(large, small, 'cpu_us'), lambda v: f'{v:.2f}×')} | "
          f"{med(*small, 'blocks'):,.0f} | {med(*large, 'blocks'):,.0f} |")
if results[("first", LARGE)] and results[("last-after", LARGE)]:
    # Not measured back to back (each operation runs at both sizes in turn), so medians, not per-round ratios.
    first, last = med("first", LARGE, "cpu_us"), med("last-after", LARGE, "cpu_us")
    print(f"\nAt 1M users, the last page by `after` against the first page: {last:,.0f} against {first:,.0f} µs of CPU per "
          f"request ({last / first:.2f}×), {med('last-after', LARGE, 'rps'):,.0f} against {med('first', LARGE, 'rps'):,.0f} req/s.")
