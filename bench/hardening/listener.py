"""The TCP listener under abuse (issue 10): idle floods, slow-loris clients and partial
request lines against one release daemon, while the local CLI keeps being served.

Prints one JSON object. Only the daemon it is given is measured; every socket it opens
goes to 127.0.0.1 and is closed before it exits. Python standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import select
import socket
import statistics
import subprocess
import time
from pathlib import Path


def daemon_figures(pid: int) -> dict:
    """RSS (KiB) and open descriptors of the daemon now."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return {"rss_kib": rss, "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def cli_latency_ms(procward: str, home: str, runs: int) -> float:
    """Median wall time of `procward list --json` over the Unix socket."""
    times = []
    env = {**os.environ, "PROCWARD_HOME": home}
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([procward, "list", "--json"], env=env, check=True, capture_output=True, timeout=30)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def open_many(address: tuple[str, int], count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(address)
        except OSError:
            s.close()
            continue
        s.setblocking(False)
        socks.append(s)
    return socks


def is_closed(s: socket.socket) -> bool:
    """True once the peer closed (EOF or reset) this socket."""
    poller = select.poll()
    poller.register(s, select.POLLIN)
    if not poller.poll(0):
        return False
    try:
        return s.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def close_times(socks: list[socket.socket], started: float, limit_s: float, drip: bytes | None) -> list[float]:
    """Seconds from `started` until each socket was closed by the daemon (sockets still open
    at `limit_s` count as `limit_s`). With `drip`, one more byte of it is sent to every open
    socket each second, as a slow-loris client does."""
    closed: dict[int, float] = {}
    next_drip = time.monotonic() + 1
    position = 0
    while len(closed) < len(socks) and time.monotonic() - started < limit_s:
        now = time.monotonic()
        for i, s in enumerate(socks):
            if i not in closed and is_closed(s):
                closed[i] = now - started
        if drip is not None and now >= next_drip:
            byte = drip[position % len(drip): position % len(drip) + 1]
            position += 1
            for i, s in enumerate(socks):
                if i not in closed:
                    try:
                        s.send(byte)
                    except OSError:
                        closed[i] = now - started
            next_drip = now + 1
        time.sleep(0.02)
    return [closed.get(i, limit_s) for i in range(len(socks))]


def summary(times: list[float]) -> dict:
    return {
        "count": len(times),
        "p50_s": round(statistics.median(times), 2),
        "max_s": round(max(times), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--procward", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--daemon-pid", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-connections", type=int, required=True)
    parser.add_argument("--flood", type=int, default=2000)
    parser.add_argument("--loris", type=int, default=100)
    parser.add_argument("--timeout-s", type=float, required=True, help="handshake/header timeout")
    args = parser.parse_args()
    # The flood needs a descriptor per connection on this side too.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.flood * 2 + 256)), hard))
    address = ("127.0.0.1", args.port)
    out: dict = {"max_connections": args.max_connections, "timeout_s": args.timeout_s}
    out["idle"] = daemon_figures(args.daemon_pid)
    out["cli_list_ms_idle"] = round(cli_latency_ms(args.procward, args.home, 20), 2)

    # 1. An idle flood: far more silent connections than the limit.
    flood = open_many(address, args.flood)
    opened = time.monotonic()
    time.sleep(0.5)
    out["flood"] = {
        "opened": len(flood),
        "closed_at_accept": sum(is_closed(s) for s in flood),
    }
    out["flood"]["held"] = out["flood"]["opened"] - out["flood"]["closed_at_accept"]
    out["during_flood"] = daemon_figures(args.daemon_pid)
    out["cli_list_ms_during_flood"] = round(cli_latency_ms(args.procward, args.home, 20), 2)
    held = [s for s in flood if not is_closed(s)]
    # From the end of the flood (every connection was open by then).
    out["flood"]["silent_closed_after"] = summary(close_times(held, opened, args.timeout_s * 4 + 10, None))
    for s in flood:
        s.close()
    time.sleep(0.5)

    # 2. Slow-loris: a request head sent one byte a second; 3. a partial request line.
    for key, head, drip in (
        ("slow_loris", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-Slow: 1\r\n"),
        ("partial_line", b"GET / HT", None),
    ):
        socks = open_many(address, args.loris)
        started = time.monotonic()
        for s in socks:
            s.send(head)
        out[key] = summary(close_times(socks, started, args.timeout_s * 4 + 10, drip))
        for s in socks:
            s.close()
    time.sleep(0.5)
    out["after"] = daemon_figures(args.daemon_pid)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
