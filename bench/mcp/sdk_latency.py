#!/usr/bin/env python3
"""MCP round trips through the Python MCP SDK (what an assistant's host would use).

Usage: python bench/mcp/sdk_latency.py --bin PROCWARD --home HOME --log-name NAME
                                      [--calls 300] [--warmup 30]

HOME's daemon must run with `--listen 127.0.0.1:0` (HOME/tcp.json, HOME/token) and manage a
process NAME that has printed some lines. Measures, over stdio (`procward mcp`, a child of
this script) and over HTTP (the daemon's /mcp):
  - p50/p99 of `list_system_processes` and `get_process_logs {name}` (default arguments);
  - the size of the whole `list_system_processes` result as JSON;
  - VmRSS/VmHWM of the `procward mcp` process (this script's child) and of the daemon;
  - that kill_process with pid -1, 0, 1, 4294967295 is a tool error and signals nothing
    (a sentinel child, this script, the daemon and init survive; no process vanished).
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

DANGEROUS = [-1, 0, 1, 4294967295]


def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    index = max(0, min(len(sorted_ms) - 1, round(q / 100 * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[index]


def summary(times: list[float]) -> dict:
    times = sorted(times)
    return {
        "calls": len(times),
        "p50_ms": round(percentile(times, 50), 3),
        "p99_ms": round(percentile(times, 99), 3),
        "mean_ms": round(statistics.fmean(times), 3),
        "min_ms": round(times[0], 3),
        "max_ms": round(times[-1], 3),
    }


def status_kib(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def stdio_server_pid() -> int:
    """The `procward mcp` process: this script's child."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1: stat.rindex(")")]
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid == me and comm.startswith("procward"):
                return int(entry)
    raise RuntimeError("the stdio server (child procward) was not found")


def pids() -> set[int]:
    return {int(p) for p in os.listdir("/proc") if p.isdigit()}


async def timed(session: ClientSession, tool: str, args: dict, calls: int, warmup: int) -> tuple[dict, object]:
    result = None
    for _ in range(warmup):
        result = await session.call_tool(tool, args)
        assert not result.is_error, result.content
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        result = await session.call_tool(tool, args)
        times.append((time.perf_counter() - t0) * 1000)
        assert not result.is_error, result.content
    return summary(times), result


async def measure(session: ClientSession, log_name: str, calls: int, warmup: int) -> dict:
    listing, last = await timed(session, "list_system_processes", {}, calls, warmup)
    logs, last_logs = await timed(session, "get_process_logs", {"name": log_name}, calls, warmup)
    whole = json.dumps(last.model_dump(by_alias=True, exclude_none=True, mode="json"), separators=(",", ":"))
    text = "".join(block.text for block in last.content)
    structured = json.dumps(last.structured_content, separators=(",", ":"))
    return {
        "list_system_processes": listing,
        "get_process_logs": logs,
        "listing_rows": len(last.structured_content["processes"]),
        "listing_total": last.structured_content["total"],
        "listing_bytes": len(whole.encode()),
        "listing_text_bytes": len(text.encode()),
        "listing_structured_bytes": len(structured.encode()),
        "logs_lines": len(last_logs.structured_content["lines"]),
    }


async def dangerous_pids(session: ClientSession, daemon_pid: int) -> dict:
    sentinel = subprocess.Popen(["sleep", "600"])
    try:
        before = pids()
        answers = {}
        for pid in DANGEROUS:
            result = await session.call_tool("kill_process", {"pid": pid})
            answers[str(pid)] = {
                "is_error": bool(result.is_error),
                "text": "".join(block.text for block in result.content),
            }
        time.sleep(0.3)
        vanished = sorted(before - pids())
        survivors = {
            "sentinel": sentinel.poll() is None,
            "bench": Path(f"/proc/{os.getpid()}").exists(),
            "daemon": Path(f"/proc/{daemon_pid}").exists(),
            "init": Path("/proc/1").exists(),
        }
        # Processes that exit by themselves during the check would show up here; the
        # report lists them so a reader can judge.
        return {
            "answers": answers,
            "survivors": survivors,
            "vanished": [{"pid": p} for p in vanished if p != sentinel.pid],
            "all_refused": all(a["is_error"] for a in answers.values()) and all(survivors.values()),
        }
    finally:
        sentinel.kill()
        sentinel.wait()


async def run(a: argparse.Namespace) -> dict:
    home = Path(a.home)
    address = json.loads((home / "tcp.json").read_text())["address"]
    token = (home / "token").read_text().strip()
    daemon_pid = json.loads(subprocess.run(
        [a.bin, "daemon", "status", "--json"], env={**os.environ, "PROCWARD_HOME": a.home},
        capture_output=True, text=True, check=True).stdout)["pid"]
    out: dict = {"processes_on_machine": len(pids()), "daemon_pid": daemon_pid}

    params = StdioServerParameters(command=a.bin, args=["mcp"], env={"PROCWARD_HOME": a.home})
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                server = stdio_server_pid()
                out["stdio_server_pid"] = server
                out["stdio_rss_start_kib"] = status_kib(server)
                out["stdio"] = await measure(session, a.log_name, a.calls, a.warmup)
                out["stdio_rss_kib"] = status_kib(server)
                out["daemon_rss_kib"] = status_kib(daemon_pid)
                out["dangerous_pids"] = await dangerous_pids(session, daemon_pid)

    headers = {"Authorization": f"Bearer {token}"}
    async with create_mcp_http_client(headers=headers) as client:
        async with streamable_http_client(f"http://{address}/mcp", http_client=client) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                out["http"] = await measure(session, a.log_name, a.calls, a.warmup)
    out["daemon_rss_after_kib"] = status_kib(daemon_pid)
    import mcp  # noqa: PLC0415

    out["client"] = f"python {sys.version.split()[0]}, mcp {getattr(mcp, '__version__', '') or _version('mcp')}"
    return out


def _version(package: str) -> str:
    from importlib.metadata import version  # noqa: PLC0415

    return version(package)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--home", required=True)
    p.add_argument("--log-name", required=True)
    p.add_argument("--calls", type=int, default=300)
    p.add_argument("--warmup", type=int, default=30)
    a = p.parse_args()
    warnings.simplefilter("ignore")
    import logging  # noqa: PLC0415

    logging.disable(logging.WARNING)  # the SDK warns that DELETE answered 202 at session end
    print(json.dumps(anyio.run(run, a)))


if __name__ == "__main__":
    main()
