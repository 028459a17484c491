"""What the portal costs at rest: the CPU share of each process over a minute with no parent and
no school event.

The six services and the gateway run as processes on a vhost and databases of their own (as in
the memory benchmark); once they are ready and past start-up, each process's CPU time (user +
system, from /proc) is read before and after the quiet minute. A replica count of a hundred must
not mean cores spent waiting: the target is at most 0.5% of a core per process.
"""
from __future__ import annotations

import os
import time

from .memory import portal
from .report import record

QUIET_SECONDS = int(os.environ.get("BENCH_IDLE_SECONDS", "60"))
TARGET = 0.5  # percent of one core


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> dict:
    with portal("benchidle") as running:
        time.sleep(10)  # past start-up: connections made, first queries compiled
        before = {name: cpu_seconds(p.pid) for name, p in running.processes.items()}
        time.sleep(QUIET_SECONDS)
        share = {name: 100 * (cpu_seconds(p.pid) - before[name]) / QUIET_SECONDS
                 for name, p in running.processes.items()}
    rows = [(f"{name} at rest", f"{percent:.2f}% of a core", f"≤ {TARGET}%") for name, percent in share.items()]
    rows.append(("all processes", f"{sum(share.values()):.2f}% of a core", ""))
    over = [name for name, percent in share.items() if percent > TARGET]
    record("idle", "Cost at rest", rows, notes=(
        f"CPU time of each process over {QUIET_SECONDS} s with nothing happening. The relays sleep until a "
        "commit that appends events notifies them (LISTEN/NOTIFY), with a 5 s safety net; the event "
        "consumers wake ten times a second per queue to read the broker (heartbeats, stopping). "
        + (f"Over the target: {', '.join(over)}." if over else "Every process is within the target.")))
    return share
