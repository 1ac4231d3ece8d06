#!/usr/bin/env python3
"""Latency of GET /metrics and GET /health/ready on apps whose Redis is up, killed and hung, measured side by side.

Usage: scrape.py ROUNDS NAME=BASE_URL...   Each round sends one /metrics and one /health/ready to every app, in an order
that alternates between rounds, over one keep-alive connection per app (as Prometheus does). Prints a Markdown table:
status codes seen, p50, p99 and max in milliseconds per app and path. A request gets 30 s before it counts as failed.
"""
import http.client
import statistics
import sys
import time
from urllib.parse import urlparse

rounds = int(sys.argv[1])
apps = [arg.split("=", 1) for arg in sys.argv[2:]]
paths = ["/metrics", "/health/ready"]
connections = {name: None for name, _ in apps}
samples = {(name, path): [] for name, _ in apps for path in paths}
statuses = {(name, path): {} for name, _ in apps for path in paths}


def get(name, base, path):
    url = urlparse(base)
    for attempt in range(2):
        if connections[name] is None:
            connections[name] = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            start = time.perf_counter()
            connections[name].request("GET", path, headers={"Accept": "text/plain"})
            response = connections[name].getresponse()
            response.read()
            return response.status, (time.perf_counter() - start) * 1000
        except (OSError, http.client.HTTPException):
            connections[name].close()
            connections[name] = None
            if attempt == 1:
                return "error", 30_000.0


def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


for r in range(rounds):
    order = [(name, base, path) for name, base in apps for path in paths]
    if r % 2:
        order.reverse()
    for name, base, path in order:
        status, ms = get(name, base, path)
        samples[(name, path)].append(ms)
        statuses[(name, path)][status] = statuses[(name, path)].get(status, 0) + 1

print(f"| Redis | path | answers ({rounds}) | p50 ms | p99 ms | max ms |")
print("| --- | --- | --- | ---: | ---: | ---: |")
for name, _ in apps:
    for path in paths:
        values = samples[(name, path)]
        seen = ", ".join(f"{count}× {status}" for status, count in sorted(statuses[(name, path)].items(), key=str))
        print(f"| {name} | `{path}` | {seen} | {statistics.median(values):.1f} | {quantile(values, 0.99):.1f} | {max(values):.1f} |")
