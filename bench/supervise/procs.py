"""Reading /proc for bench/supervise: processes, their memory and CPU ticks, and the
safety net that kills only processes carrying this run's marker (through a pidfd)."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path


CLK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
MARKER_VAR = "PROCWARD_BENCH_RUN"
TREE_SCRIPT = "trap '' TERM; sleep 3600 & sleep 3600; wait"
DEVNULL = subprocess.DEVNULL


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None



def stat(pid: int):
    """(state, ppid, pgrp, utime+stime ticks, starttime) or None when gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    f = raw[raw.rindex(")") + 2 :].split()
    return f[0], int(f[1]), int(f[2]), int(f[11]) + int(f[12]), int(f[19])


def pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def has_marker(pid: int, marker: bytes) -> bool:
    try:
        return marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def children_map() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for p in pids():
        s = stat(p)
        if s:
            out.setdefault(s[1], []).append(p)
    return out


def descendants(roots: list[int], cmap=None) -> list[int]:
    cmap = cmap if cmap is not None else children_map()
    seen, todo = [], list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo.extend(cmap.get(p, []))
    return seen


def alive(pid: int, start: int) -> bool:
    s = stat(pid)
    return s is not None and s[4] == start and s[0] not in ("Z", "X")


def mem_kb(pid: int) -> tuple[int, int]:
    """(RSS kB, PSS kB) of one process, (0, 0) when gone."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def threads(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def ticks(pid_list: list[int]) -> int:
    return sum(s[3] for s in (stat(p) for p in pid_list) if s)


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    s = stat(pid)
    if s is None:
        return True
    start = s[4]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not alive(pid, start):
            return True
        time.sleep(0.005)
    return False


def reap(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Waits for a daemon this run started and was asked to stop; SIGKILL after timeout."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def kill_by_pidfd(pid: int, marker: bytes | None, start: int | None = None) -> bool:
    """SIGKILL pid through a pidfd, only if it still carries the marker (or start time)."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        if marker is not None and not has_marker(pid, marker):
            return False
        if start is not None and not alive(pid, start):
            return False
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def ancestors(pid: int) -> set[int]:
    out = set()
    while pid > 1:
        out.add(pid)
        s = stat(pid)
        if not s:
            break
        pid = s[1]
    return out


def marked(marker: bytes) -> list[int]:
    mine = ancestors(os.getpid())
    return [p for p in pids() if p not in mine and has_marker(p, marker)]


def sweep(marker: bytes, rounds: int = 5) -> int:
    """Kill every process carrying the marker; returns how many were found at first."""
    found = marked(marker)
    first = len(found)
    for _ in range(rounds):
        if not found:
            break
        for p in found:
            kill_by_pidfd(p, marker)
        time.sleep(0.2)
        found = [p for p in marked(marker) if (s := stat(p)) and s[0] != "Z"]
    return first


def cpu_busy(secs: float = 1.0) -> float:
    """Share of all CPUs busy over secs (from /proc/stat), in %."""

    def snap():
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = f[3] + f[4]
        return sum(f[:8]) - idle, sum(f[:8])

    b0, t0 = snap()
    time.sleep(secs)
    b1, t1 = snap()
    return 100.0 * (b1 - b0) / max(1, t1 - t0)
