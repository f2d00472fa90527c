"""Writes the fleet section of bench/RESULTS.md from bench/out/fleet (bench/fleet.sh),
and prints it."""

from __future__ import annotations

import json
from pathlib import Path

from results_section import main, read_meta


def hosts(by_host: dict) -> str:
    return ", ".join(f"{h} {n}" for h, n in by_host.items())


def section(out: Path) -> str:
    meta = read_meta(out / "meta.env")
    r = json.loads((out / "results.json").read_text())
    ft, st = r["fleet_throughput"], r["solo_throughput"]
    fl, sl, idle = r["fleet_latency"], r["solo_latency"], r["idle"]
    n, par = ft["n"], r["parallel"]
    top = ", ".join(f"{k} {v}" for k, v in list(idle["by_command"].items())[:6]) or "none"
    lines = [
        f"Run on {meta.get('date')}: {meta.get('nproc')} CPUs ({meta.get('cpu')}), kernel {meta.get('kernel')},",
        f"load average {meta.get('loadavg')} at start and {meta.get('loadavg_end')} at the end, commit {meta.get('commit')};",
        f"{meta.get('procward')}, redis-server {meta.get('redis')} (127.0.0.1, AOF everysec).",
        "Reproduce: `bash bench/fleet.sh` (raw JSON in `bench/out/fleet/`). Three release daemons w1, w2, w3",
        f"share one queue on Redis (`[queue] backend = \"redis\"`, same url and prefix, lease 30 s), group",
        f"`default` at parallel {par} held across hosts; `solo` is one daemon on the embedded queue at the same",
        f"parallel {par}. Jobs are `true`, added by the Python gRPC client through w1 (solo: through solo), 64",
        "calls in flight, into a paused queue; the clock runs from the resume to the last attempt's `ended_ms`.",
        f"{len(ft['rounds'])} rounds of each, fleet and solo alternated; the table shows the median round.",
        f"All of it (redis-server, the 3 fleet daemons, solo, the client) shares this machine's {meta.get('nproc')} CPUs, so",
        "the fleet's figure is the cost of the queue living on Redis, not a scale-out: on separate hosts each",
        "daemon would bring its own CPUs.",
        "",
        "| figure | fleet (3 × Redis) | solo (embedded) | fleet ÷ solo |",
        "| --- | ---: | ---: | ---: |",
        f"| {n:,} `true` jobs, resume to last end (s) | {ft['run_s']:.2f} | {st['run_s']:.2f} | {ft['run_s'] / st['run_s']:.2f}x |",
        f"| jobs/s | {ft['jobs_per_s']:.0f} | {st['jobs_per_s']:.0f} | {ft['jobs_per_s'] / st['jobs_per_s']:.2f}x |",
        f"| adds/s (gRPC, into the paused queue), median | {ft['adds_per_s_median']:.0f} | {st['adds_per_s_median']:.0f} | {ft['adds_per_s_median'] / st['adds_per_s_median']:.2f}x |",
        f"| enqueue → start p50, idle (ms) | {fl['p50_ms']:.0f} | {sl['p50_ms']:.0f} | |",
        f"| enqueue → start p95, idle (ms) | {fl['p95_ms']:.0f} | {sl['p95_ms']:.0f} | |",
        f"| Redis commands per idle second per worker | {idle['per_s_per_worker']:.2f} | — | |",
        "",
        "- Every round, resume to last end (s): fleet " + ", ".join(f"{x:.2f}" for x in ft["run_s_all"])
        + "; solo " + ", ".join(f"{x:.2f}" for x in st["run_s_all"]) + ".",
        f"- Spread over hosts, median round: {hosts(ft['by_host'])}; all rounds: {hosts(ft['by_host_all'])};"
        f" states {ft['states_all']}; at most {ft['most_at_once_all']} running at one moment across the hosts"
        f" (limit {par}; solo: {st['most_at_once_all']}; from the attempts' `started_ms`..`ended_ms`, 1 ms resolution).",
        f"- Latency: {fl['count']} jobs added one at a time through w1, each waited for, 50 ms apart;"
        f" attempt 1's `started_ms` − the job's `created_ms` (max {fl['max_ms']:.0f} ms fleet, {sl['max_ms']:.0f} ms solo);"
        f" started on {hosts(fl['by_host'])}.",
        f"- Idle: {idle['commands']} commands in {idle['seconds']:.1f} s from 3 idle daemons (`INFO commandstats` before and"
        f" after, its own INFO calls left out; `total_commands_processed` says {idle['commands_total_processed']}):"
        f" {idle['per_s']:.2f}/s in all, {idle['per_s_per_worker']:.2f}/s per worker. Most called: {top}.",
        "  For scale: BullMQ users report idle workers costing Redis over 50,000 commands/s (polling);",
        "  procward's idle workers block on pub/sub and look on their own every 5 s.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys
    main(__doc__, "fleet", "Fleet (queue on Redis)", section)
    print(section(Path(sys.argv[1])))
