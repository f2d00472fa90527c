#!/usr/bin/env python3
"""MCP round trips with minimal JSON-RPC clients (no SDK): the server's own latency.

Usage: python3 bench/mcp/raw_latency.py --bin PROCWARD --home HOME --log-name NAME
                                       [--calls 300] [--warmup 30]

Over stdio: `procward mcp` as a child, one JSON line written, one read per call. Over HTTP:
one keep-alive connection (http.client) to the daemon's /mcp with the bearer token and
the session id; answers may come as JSON or as one SSE event. Standard library only.
Prints one JSON object with p50/p99 per transport and tool, and the exact byte size of
the `list_system_processes` result (the JSON-RPC `result` member, compact).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

PROTOCOL = "2025-11-25"
INIT_PARAMS = {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench-raw", "version": "0"}}


def percentile(sorted_ms: list[float], q: float) -> float:
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


class Stdio:
    def __init__(self, binary: str, home: str) -> None:
        self.proc = subprocess.Popen(
            [binary, "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={**os.environ, "PROCWARD_HOME": home},
        )
        self.next_id = 0
        self.request("initialize", INIT_PARAMS)
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, message: dict) -> None:
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: dict) -> bytes:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the stdio server closed its output")
            if b'"id"' in line and json.loads(line).get("id") == self.next_id:
                return line

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Http:
    def __init__(self, address: str, token: str) -> None:
        host, port = address.rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.headers = {
            "Authorization": f"Bearer {token}", "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        }
        self.next_id = 0
        self.request("initialize", INIT_PARAMS)
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def post(self, message: dict) -> bytes:
        self.conn.request("POST", "/mcp", body=json.dumps(message), headers=self.headers)
        response = self.conn.getresponse()
        body = response.read()
        if response.status >= 300:
            raise RuntimeError(f"HTTP {response.status}: {body[:200]!r}")
        session = response.getheader("mcp-session-id")
        if session:
            self.headers["Mcp-Session-Id"] = session
            self.headers["MCP-Protocol-Version"] = PROTOCOL
        if response.getheader("content-type", "").startswith("text/event-stream"):
            for event in body.split(b"\n\n"):
                data = b"".join(line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:"))
                if data.strip().startswith(b"{") and b'"id"' in data:
                    return data
            return b""
        return body

    def request(self, method: str, params: dict) -> bytes:
        self.next_id += 1
        return self.post({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})

    def close(self) -> None:
        self.conn.request("DELETE", "/mcp", headers=self.headers)
        self.conn.getresponse().read()
        self.conn.close()


def timed(client, tool: str, args: dict, calls: int, warmup: int) -> tuple[dict, dict]:
    params = {"name": tool, "arguments": args}
    answer = {}
    for _ in range(warmup):
        answer = json.loads(client.request("tools/call", params))
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        raw = client.request("tools/call", params)
        times.append((time.perf_counter() - t0) * 1000)
        answer = json.loads(raw)
    assert "result" in answer and not answer["result"].get("isError"), answer
    return summary(times), answer["result"]


def measure(client, log_name: str, calls: int, warmup: int) -> dict:
    listing, result = timed(client, "list_system_processes", {}, calls, warmup)
    logs, _ = timed(client, "get_process_logs", {"name": log_name}, calls, warmup)
    return {
        "list_system_processes": listing,
        "get_process_logs": logs,
        "listing_bytes": len(json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode()),
        "listing_rows": len(result["structuredContent"]["processes"]),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--home", required=True)
    p.add_argument("--log-name", required=True)
    p.add_argument("--calls", type=int, default=300)
    p.add_argument("--warmup", type=int, default=30)
    a = p.parse_args()
    home = Path(a.home)
    out = {}
    stdio = Stdio(a.bin, a.home)
    try:
        out["stdio"] = measure(stdio, a.log_name, a.calls, a.warmup)
    finally:
        stdio.close()
    address = json.loads((home / "tcp.json").read_text())["address"]
    client = Http(address, (home / "token").read_text().strip())
    try:
        out["http"] = measure(client, a.log_name, a.calls, a.warmup)
    finally:
        client.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
