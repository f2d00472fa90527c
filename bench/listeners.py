#!/usr/bin/env python3
"""Open many loopback listeners and wait, for bench/run.sh.

Binds TCP and UDP sockets on 127.0.0.1 and ::1 only (ephemeral ports), writes a
JSON summary to --ready-file once every socket is bound, then sleeps until it
gets SIGTERM/SIGINT, its parent goes away, or --max-seconds pass.
Python 3.11 standard library only.
"""

import argparse
import json
import os
import signal
import socket
import sys
import time


def bind(family: int, kind: int, host: str) -> socket.socket:
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    if kind == socket.SOCK_STREAM:
        s.listen(16)
    return s


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tcp", type=int, default=150, help="TCP listeners in total")
    p.add_argument("--tcp6", type=int, default=30, help="of which on ::1")
    p.add_argument("--udp", type=int, default=50, help="UDP sockets in total")
    p.add_argument("--udp6", type=int, default=10, help="of which on ::1")
    p.add_argument("--ready-file", required=True)
    p.add_argument("--max-seconds", type=float, default=900)
    a = p.parse_args()

    has_v6 = socket.has_ipv6
    plan = [
        (socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1", a.tcp - a.tcp6, "tcp"),
        (socket.AF_INET6, socket.SOCK_STREAM, "::1", a.tcp6, "tcp6"),
        (socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1", a.udp - a.udp6, "udp"),
        (socket.AF_INET6, socket.SOCK_DGRAM, "::1", a.udp6, "udp6"),
    ]
    socks, counts = [], {}
    for family, kind, host, n, label in plan:
        for _ in range(n):
            try:
                socks.append(bind(family, kind, host))
            except OSError:
                if family != socket.AF_INET6:
                    raise
                has_v6 = False  # no ::1 here: fall back to 127.0.0.1
                socks.append(bind(socket.AF_INET, kind, "127.0.0.1"))
                label = label.rstrip("6")
            counts[label] = counts.get(label, 0) + 1

    summary = {"pid": os.getpid(), "total": len(socks), "ipv6": has_v6, "counts": counts}
    tmp = a.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(summary, f)
    os.replace(tmp, a.ready_file)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    parent, deadline = os.getppid(), time.monotonic() + a.max_seconds
    try:
        while os.getppid() == parent and time.monotonic() < deadline:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
