#!/usr/bin/env python3
"""Prints the CPU time (user + system, in microseconds) used so far by each given process and all its descendants.

bench/RealPath/run.sh reads it before and after each wrk run to report the CPU each request cost the app and PostgreSQL.
Usage: cputicks.py PID [PID ...]  ->  one number per PID on one line.
"""
import os
import sys

TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the command name: state ppid ... utime stime cutime cstime (fields 14-17 overall, 11-14 here). cutime and
    # cstime hold the reaped children's time, so a PostgreSQL backend that exited mid-run still counts.
    return int(fields[1]), sum(int(v) for v in fields[11:15])


children, ticks = {}, {}
for entry in os.listdir("/proc"):
    if entry.isdigit():
        try:
            ppid, used = stat(entry)
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        ticks[int(entry)] = used


def total(pid):
    return ticks.get(pid, 0) + sum(total(child) for child in children.get(pid, []))


print(" ".join(f"{total(int(pid)) * TICK_US:.0f}" for pid in sys.argv[1:]))
