#!/usr/bin/env python3
"""A busy loop in Linux's idle scheduling class, runnable ON seconds then asleep OFF
seconds, forever: what a password hash at idle priority costs the access path without
the hash's memory traffic (BENCHMARKS.md, session 17).

    python3 bench/idle_spinner.py 0.011 0 &      # always runnable
    python3 bench/idle_spinner.py 0.011 0.011 &  # half the time
    BENCH_BIN=target/release/hearth bash bench/pg_cost_per_access.sh; kill %1
"""
import os
import sys
import time

os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
on, off = float(sys.argv[1]), float(sys.argv[2])
while True:
    t = time.perf_counter()
    while time.perf_counter() - t < on:
        pass
    if off > 0:
        time.sleep(off)
