#!/usr/bin/env python3
"""Reads one /metrics scrape on stdin and prints a row of bench/run.sh's scanner-storm table (label = argv[1]), or with
--unmatched only the number of unmatched requests counted so far."""
import re
import sys

label, text = sys.argv[1], sys.stdin.read()


def total(name):
    return sum(float(v) for v in re.findall(r"^" + name + r"(?:\{[^}]*\})? (\S+)", text, re.M))


unmatched = sum(float(v) for v in re.findall(r'^http_requests_total\{[^}]*route="unmatched"[^}]*\} (\S+)', text, re.M))
if label == "--unmatched":
    print(int(unmatched))
    sys.exit(0)

series = len(re.findall(r"^http_request", text, re.M))
mib = 2 ** 20
print(f"| {label} | {unmatched:,.0f} | {series} | {len(text) / 1024:,.0f}"
      f" | {total('process_memory_usage_bytes') / mib:,.1f}"
      f" | {total('dotnet_gc_last_collection_heap_size_bytes') / mib:,.1f}"
      f" | {total('dotnet_gc_last_collection_memory_committed_size_bytes') / mib:,.1f} |")
