#!/usr/bin/env python3
"""Latency of sequential ListProcesses calls from the Python client.

Usage: python3 bench/grpc/py_latency.py --home HOME [--calls 200] [--warmup 20]

HOME is a daemon's PROCWARD_HOME (it must run with `procward daemon --listen
127.0.0.1:0`, which writes HOME/tcp.json). Needs `pip install ./clients/python`.
Prints one JSON object:
{"client": "python", "calls": N, "p50_ms": .., "p99_ms": .., "mean_ms": .., "processes": count}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import procward


def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    index = max(0, min(len(sorted_ms) - 1, round(q / 100 * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[index]


async def run(home: str, calls: int, warmup: int) -> dict:
    async with procward.ProcessManagerServiceClient(procward.connect_from_home(home), timeout=30) as pw:
        for _ in range(warmup):
            await pw.list_processes()
        times: list[float] = []
        count = 0
        for _ in range(calls):
            t0 = time.perf_counter()
            processes = await pw.list_processes()
            times.append((time.perf_counter() - t0) * 1000)
            count = len(processes)
    times.sort()
    return {
        "client": "python",
        "calls": calls,
        "p50_ms": round(percentile(times, 50), 3),
        "p99_ms": round(percentile(times, 99), 3),
        "mean_ms": round(statistics.fmean(times), 3),
        "processes": count,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", required=True, help="the daemon's PROCWARD_HOME")
    p.add_argument("--calls", type=int, default=200, help="timed calls")
    p.add_argument("--warmup", type=int, default=20, help="untimed calls first")
    a = p.parse_args()
    if a.calls < 1:
        p.error("--calls must be at least 1")
    print(json.dumps(asyncio.run(run(a.home, a.calls, a.warmup))))


if __name__ == "__main__":
    main()
