"""The measured phases of bench/supervise: cold start, starts, TERM-ignoring tree, log
flood, crash loop."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import threading
import time
from pathlib import Path

from procs import DEVNULL, TREE_SCRIPT, alive, children_map, cmdline, descendants, kill_by_pidfd, median, pids, stat
from measure import cpu_window, time_script
from tools import Tool


def phase_cold(tool: Tool, n: int) -> dict:
    times = []
    for i in range(n + 1):  # the first run is a warm-up (pueue makes its certificates)
        el = tool.cold_start()
        if i:
            times.append(el)
        tool.stop_daemon()
    return {"median_ms": median(times) * 1e3, "runs_ms": [round(t * 1e3, 2) for t in times]}


def wait_running(tool: Tool, n: int, timeout=60.0) -> int:
    end = time.monotonic() + timeout
    c = -1
    while time.monotonic() < end:
        c = tool.running_count()
        if c >= n:
            return c
        time.sleep(0.25)
    return c


def phase_starts(tool: Tool, runs: int, count: int) -> tuple[dict, list[str]]:
    times, names = [], []
    for r in range(runs):
        names = [f"s{r}-{i}" for i in range(count)]
        lines = [l for n in names for l in tool.start_lines(n, ["sleep", "3600"])]
        times.append(time_script(lines, tool.tmp / f"starts{r}.sh"))
        if r < runs - 1:
            wait_running(tool, count, 30)
            tool.delete(names)
    return {"median_s": median(times), "runs_s": [round(t, 4) for t in times], "count": count}, names


def tree_procs(token: str) -> dict[int, int]:
    """pid -> starttime of the processes with token in their command line, plus descendants."""
    cm = children_map()
    roots = [p for p in pids() if token in cmdline(p)]
    out = {}
    for p in descendants(roots, cm):
        s = stat(p)
        if s and s[0] != "Z":
            out[p] = s[4]
    return out


def phase_tree(tool: Tool, runs: int, stop_timeout: int = 1) -> dict:
    res = []
    for r in range(runs):
        k = next(_serial)
        token = f"pwbench-tree-{os.getpid()}-{k}"
        name = f"tree{k}"
        tool.start(name, ["sh", "-c", TREE_SCRIPT, token], stop_timeout=stop_timeout)
        procs: dict[int, int] = {}
        end = time.monotonic() + 10
        while time.monotonic() < end:
            procs = tree_procs(token)
            if sum(1 for p in procs if cmdline(p)[:1] == ["sleep"]) >= 2:
                break
            time.sleep(0.02)
        time.sleep(0.2)  # let the shell reach `wait`
        procs = tree_procs(token)
        pgids = sorted({stat(p)[2] for p in procs if stat(p)})
        argv = tool.stop_argv(name)
        ret = {}
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)

        def waiter():
            proc.wait()
            ret["t"] = time.perf_counter() - t0

        th = threading.Thread(target=waiter)
        th.start()
        dead_at = None
        survivors_at_return = None
        while True:
            left = [p for p, st in procs.items() if alive(p, st)]
            now = time.perf_counter() - t0
            if not left and dead_at is None:
                dead_at = now
            if "t" in ret and survivors_at_return is None:
                survivors_at_return = len(left)
            if survivors_at_return is not None and (dead_at is not None or now > ret["t"] + 2):
                break
            if now > 60:
                break
            time.sleep(0.001)
        th.join(timeout=60)
        left = {p: st for p, st in procs.items() if alive(p, st)}
        # anything else still in the managed process's group(s)?
        group_left = [p for p in pids() if (s := stat(p)) and s[2] in pgids and s[0] != "Z"]
        orphans = [" ".join(cmdline(p)) for p in left]
        for p, st in left.items():  # ours: same pid and start time as recorded
            kill_by_pidfd(p, None, st)
        res.append({"stop_s": ret.get("t"), "dead_s": dead_at, "procs": len(procs),
                    "survivors_at_return": survivors_at_return, "survivors_after_2s": len(left),
                    "group_members_left": len(group_left), "orphans": orphans[:5]})
        try:
            tool.delete([name])
        except Exception as e:  # noqa: BLE001
            tool.notes.append(f"tree: delete failed: {e}")
    return {"runs": res, "stop_timeout_s": stop_timeout,
            "median_stop_s": median([r["stop_s"] for r in res]),
            "median_dead_s": median([r["dead_s"] for r in res]),
            "max_survivors": max(r["survivors_after_2s"] for r in res)}


def verify_lines(files: list[Path], ref: Path, n: int) -> dict:
    h = hashlib.sha256()
    data = b"".join(p.read_bytes() for p in files)
    h.update(data)
    exact = data == ref.read_bytes()
    lines = data.splitlines()
    out = {"lines": len(lines), "first": lines[0].decode(errors="replace") if lines else None,
           "last": lines[-1].decode(errors="replace") if lines else None, "exact": exact,
           "files": len(files)}
    if exact:
        out.update(lost=0, duplicated=0, out_of_order=0, bad=0)
        return out
    seen = bytearray(n + 1)
    dup = bad = ooo = 0
    prev = 0
    for l in lines:
        try:
            v = int(l)
        except ValueError:
            bad += 1
            continue
        if not 1 <= v <= n:
            bad += 1
            continue
        if seen[v]:
            dup += 1
        seen[v] = 1
        if v < prev:
            ooo += 1
        prev = v
    out.update(lost=n - sum(seen[1:]), duplicated=dup, out_of_order=ooo, bad=bad)
    return out


# names are never reused within a run: pm2 keeps a deleted process's log file and a
# second process of the same name would append to it
_serial = itertools.count()


def phase_flood(tool: Tool, runs: int, ref: Path, n: int) -> dict:
    expect = ref.stat().st_size
    res = []
    for r in range(runs):
        name = f"flood{next(_serial)}"
        argv = ["seq", "1", str(n)]
        t0 = time.perf_counter()
        tool.start(name, argv, restart="never")
        t_cli = time.perf_counter() - t0
        done = None
        last_check = 0.0
        gave_up = False
        while True:
            size = sum(p.stat().st_size for p in tool.flood_logs(name) if p.exists())
            now = time.perf_counter() - t0
            if size >= expect:
                done = now
                break
            if now - last_check > 0.25:
                if tool.name == "pm2" and now - last_check < 1.0:  # `pm2 jlist` is slow
                    time.sleep(0.001)
                    continue
                last_check = now
                if tool.finished(name):
                    # finished but not everything is there: give the writer a moment
                    time.sleep(0.5)
                    size = sum(p.stat().st_size for p in tool.flood_logs(name) if p.exists())
                    if size < expect:
                        gave_up = True
                        break
            if now > 60:
                gave_up = True
                break
            time.sleep(0.001)
        # wait for the writer to settle so a duplicate tail would show up too
        time.sleep(0.3)
        v = verify_lines(tool.flood_logs(name), ref, n)
        res.append({"s": done, "cli_s": t_cli, "incomplete": gave_up} | v)
        tool.delete([name])
    return {"median_s": median([r["s"] for r in res]), "runs": res}


def phase_crash(tool: Tool, secs: float) -> dict | None:
    if not tool.has_restart_policy:
        return None
    name = f"crash{next(_serial)}"
    tool.start(name, ["sh", "-c", "exit 1"], restart="always")
    c = cpu_window(tool.daemon_pid(), secs, tool.helpers)
    c |= tool.crash_info(name)
    tool.delete([name])
    return c
