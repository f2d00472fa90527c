#!/usr/bin/env python3
"""Daemon cost of many concurrent MonitorSystem subscribers.

Usage: python3 bench/grpc/monitor_load.py --home HOME --daemon-pid PID
           [--subscribers 100] [--interval 0.5] [--seconds 20]

HOME is the daemon's PROCWARD_HOME (started with `--listen 127.0.0.1:0`), PID its pid.
First measures the daemon over an idle window of --seconds with no subscribers, then
opens --subscribers monitor_system(--interval) streams on one channel in this asyncio
process and measures the same window again. CPU is (utime+stime delta from
/proc/PID/stat) / wall time, in % of one core; RSS is VmRSS from /proc/PID/status.
Every stream is then cancelled and the daemon's CPU measured once more (at most 5 s) to
see that it freed them. Needs `pip install ./clients/python`.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path

import procward

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / TICKS  # fields 14 and 15 of proc(5)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def measure(pid: int, seconds: float) -> float:
    """The daemon's CPU over the next `seconds`, in % of one core."""
    c0, t0 = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return round(100 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0), 2)


async def subscribe(
    pw: procward.ProcessManagerServiceClient, interval: float, counts: list[int], i: int, errors: list[str]
) -> None:
    try:
        async for _sample in pw.monitor_system(interval_seconds=interval):
            counts[i] += 1
    except asyncio.CancelledError:
        raise
    except Exception as e:  # noqa: BLE001 - reported in the JSON
        errors.append(f"{type(e).__name__}: {e}"[:200])


async def run(a: argparse.Namespace) -> dict:
    rss_start = rss_kib(a.daemon_pid)
    idle_cpu = await measure(a.daemon_pid, a.seconds)
    counts = [0] * a.subscribers
    errors: list[str] = []
    async with procward.ProcessManagerServiceClient(procward.connect_from_home(a.home)) as pw:
        tasks = [asyncio.create_task(subscribe(pw, a.interval, counts, i, errors)) for i in range(a.subscribers)]
        await asyncio.sleep(min(2.0, a.seconds / 4))  # let every stream open and settle
        warm = list(counts)
        loaded_cpu = await measure(a.daemon_pid, a.seconds)
        window = [c - w for c, w in zip(counts, warm, strict=True)]
        rss_loaded = rss_kib(a.daemon_pid)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    # the daemon must free cancelled streams: back to idle cost
    after_cpu = await measure(a.daemon_pid, min(a.seconds, 5.0))
    expected = a.seconds / a.interval
    return {
        "subscribers": a.subscribers,
        "interval_s": a.interval,
        "window_s": a.seconds,
        "idle_cpu_percent": idle_cpu,
        "loaded_cpu_percent": loaded_cpu,
        "after_cancel_cpu_percent": after_cpu,
        "rss_kib_before": rss_start,
        "rss_kib_loaded": rss_loaded,
        "rss_kib_after": rss_kib(a.daemon_pid),
        "samples_expected_per_subscriber": round(expected, 1),
        "samples_per_subscriber": {
            "min": min(window),
            "median": statistics.median(window),
            "max": max(window),
        },
        "samples_total": sum(counts),
        "subscribers_with_errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", required=True, help="the daemon's PROCWARD_HOME")
    p.add_argument("--daemon-pid", type=int, required=True, help="the daemon's pid (for /proc)")
    p.add_argument("--subscribers", type=int, default=100)
    p.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each measured window")
    a = p.parse_args()
    if a.subscribers < 1 or a.seconds <= 0:
        p.error("--subscribers and --seconds must be positive")
    print(json.dumps(asyncio.run(run(a))))


if __name__ == "__main__":
    main()
