#!/usr/bin/env python3
"""Turns bench/run.sh's raw wrk outputs into the tables of BENCHMARKS.md.

Every comparison is a ratio taken inside one round (the variants of a round ran one after another, alternating), then
summarised over the rounds as median [interquartile range] (min-max with fewer than 4 rounds); absolute req/s are medians over the rounds, for the record only.
"""
import random
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

raw = Path(sys.argv[1])
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}

# results[variant][round] = (requests per second, p99 in ms, server CPU µs per request or None)
results = defaultdict(dict)
starved = []  # runs in which the server answered nothing at all (starved by the machine): left out, and listed
for path in sorted(raw.glob("r*-*.txt")):
    match = re.fullmatch(r"r(\d+)-(.+)\.txt", path.name)
    text = path.read_text()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if not rps or not p99:
        sys.exit(f"report.py: cannot read wrk's output in {path}")
    if errors:
        sys.exit(f"report.py: {path.name}: {errors.group(1)} non-2xx responses; the measurement is void")
    cpu = re.search(r"server CPU us: (\d+)", text)
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    if requests == 0:
        starved.append(path.name[:-4])
        continue
    results[match.group(2)][int(match.group(1))] = (float(rps.group(1)), float(p99.group(1)) * UNITS[p99.group(2)],
                                                     int(cpu.group(1)) / requests if cpu else None)


def spread(values, fmt):
    """median [first quartile–third quartile]: the middle half of the rounds, which one disturbed round does not move."""
    values = list(values)
    low, high = statistics.quantiles(values, n=4)[::2] if len(values) >= 4 else (min(values), max(values))
    return f"{fmt(statistics.median(values))} [{fmt(low)}–{fmt(high)}]"


def cpu(variant):
    values = [c for _, _, c in results[variant].values() if c is not None]
    return spread(values, lambda v: f"{v:,.0f}") if values else "n/a"


def cpu_ratio(a, b):
    values = ratios(a, b, 2)
    return spread(values, lambda v: f"{v:.3f}") if values else "n/a"


def rps(variant):
    return spread((r for r, _, _ in results[variant].values()), lambda v: f"{v:,.0f}")


def p99(variant):
    return spread((p for _, p, _ in results[variant].values()), lambda v: f"{v:.2f}")


def ratios(a, b, index=0):
    """a / b in each round both ran, on the measure at index; rounds without it (no CPU reading) are left out."""
    rounds = sorted(r for r in set(results[a]) & set(results[b]) if results[a][r][index] and results[b][r][index])
    return [results[a][r][index] / results[b][r][index] for r in rounds]


def ratio(a, b, index=0):
    return spread(ratios(a, b, index), lambda v: f"{v:.3f}")


def ratio_x(a, b):
    return spread(ratios(a, b), lambda v: f"{v:.1f}×")


rounds = max(len(v) for v in results.values())
print(f"### Metrics on vs off, and two identical servers ({rounds} rounds; median [interquartile range])\n")
if starved:
    print(f"Left out, no request answered in the run: {', '.join(starved)}.\n")
print("A/A is two identical servers with metrics off: the noise every other ratio here carries. CPU: the server's CPU")
print("time per request (/proc), median; a ratio above 1 is what metrics cost. on/off2 divides by the second off server:")
print("if it reads otherwise than on/off, the two processes differ by more than the metrics cost.\n")
print("| placement | endpoint | req/s metrics off | req/s metrics on | throughput on/off | A/A off/off | CPU µs off | CPU µs on | CPU on/off | CPU on/off2 | CPU A/A | p99 ms off | p99 ms on |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
PLACEMENTS = [("pinned: server core 0, wrk core 1", "api-"), ("not pinned: both share 2 cores", "u-")]
ENDPOINTS = [("GET /", "root"), ("GET /api/users/{id}", "user")]
for placement, prefix in PLACEMENTS:
    for endpoint, suffix in ENDPOINTS:
        on, off, offb = f"{prefix}on-{suffix}", f"{prefix}off-{suffix}", f"{prefix}offb-{suffix}"
        if on in results and off in results:
            aa = ratio(offb, off) if offb in results else "n/a"
            cpu_aa = cpu_ratio(offb, off) if offb in results else "n/a"
            cpu_off2 = cpu_ratio(on, offb) if offb in results else "n/a"
            print(f"| {placement} | `{endpoint}` | {rps(off)} | {rps(on)} | {ratio(on, off)} | {aa} | "
                  f"{cpu(off)} | {cpu(on)} | {cpu_ratio(on, off)} | {cpu_off2} | {cpu_aa} | {p99(off)} | {p99(on)} |")



def median_interval(values, resamples=2000):
    """The 95 % bootstrap interval of the median: whether an A/A's lean is the servers' or the rounds' luck."""
    draw = random.Random(1)
    medians = sorted(statistics.median(draw.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(resamples * 0.025)], medians[int(resamples * 0.975)]


intervals = []
for placement, prefix in PLACEMENTS:
    for endpoint, suffix in ENDPOINTS:
        values = ratios(f"{prefix}offb-{suffix}", f"{prefix}off-{suffix}", 2)
        if len(values) >= 4:
            low, high = median_interval(values)
            intervals.append(f"{placement.split(':')[0]} `{endpoint}` {low:.3f}–{high:.3f}")
if intervals:
    print("\nCPU A/A, the median's 95 % bootstrap interval (an interval without 1: the two processes differ): "
          + "; ".join(intervals) + ".")

if any(variant.startswith(("api-base-on-", "u-base-on-")) for variant in results):
    print(f"\n### Metrics on: this tree vs the baseline (BENCH_BASELINE), same rounds ({rounds} rounds; median [interquartile range])\n")
    print("The baseline is another commit's API, also with metrics on; its on/off is what metrics cost before.\n")
    print("| placement | endpoint | throughput baseline on/off | CPU baseline on/off | throughput on/baseline | CPU on/baseline |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for placement, prefix in PLACEMENTS:
        for endpoint, suffix in ENDPOINTS:
            on, off, base = f"{prefix}on-{suffix}", f"{prefix}off-{suffix}", f"{prefix}base-on-{suffix}"
            if base in results and on in results and off in results:
                print(f"| {placement} | `{endpoint}` | {ratio(base, off)} | {cpu_ratio(base, off)} | "
                      f"{ratio(on, base)} | {cpu_ratio(on, base)} |")

if "nest-root" not in results and "bare-root" not in results:
    sys.exit(0)
print(f"\n### GET / side by side with the seed's stack, pinned ({rounds} rounds; median [interquartile range])\n")
print("| server | req/s | p99 ms | throughput vs NestJS | throughput vs bare Kestrel |")
print("| --- | ---: | ---: | ---: | ---: |")
for name, variant in [("bare Kestrel (ceiling)", "bare-root"), (".NET API, metrics on", "api-on-root"),
                      (".NET API, metrics off", "api-off-root"), ("NestJS 11 + prom-client", "nest-root")]:
    if variant in results:
        vs_nest = ratio_x(variant, "nest-root") if "nest-root" in results else "n/a"
        vs_bare = ratio(variant, "bare-root") if "bare-root" in results else "n/a"
        print(f"| {name} | {rps(variant)} | {p99(variant)} | {vs_nest} | {vs_bare} |")
