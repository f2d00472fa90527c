"""Timing helpers for bench/supervise: commands, scripts, hyperfine, memory samples and
CPU windows of a daemon."""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from pathlib import Path

from procs import CLK, DEVNULL, median, mem_kb, threads, ticks


def run(argv, check=True, capture=False, timeout=120, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(
        argv,
        stdin=DEVNULL,
        stdout=subprocess.PIPE if capture else DEVNULL,
        stderr=subprocess.PIPE if capture else DEVNULL,
        text=True,
        timeout=timeout,
        **kw,
    )
    if check and r.returncode != 0:
        err = (r.stderr or "").strip()[-500:] if capture else ""
        raise RuntimeError(f"{shlex.join(map(str, argv))} exited {r.returncode}: {err}")
    return r


def timed(argv, **kw) -> float:
    t0 = time.perf_counter()
    run(argv, **kw)
    return time.perf_counter() - t0


def time_script(lines: list[str], path: Path) -> float:
    """Wall time of `sh -e path`, a script of one CLI call per line."""
    path.write_text("\n".join(lines) + "\n")
    t0 = time.perf_counter()
    run(["sh", "-e", str(path)], timeout=900)
    return time.perf_counter() - t0


def hyperfine(argv: list[str], out: Path, ignore_failure=False) -> dict:
    cmd = shlex.join(argv)
    hf = ["hyperfine", "-N", "--warmup", "2", "--min-runs", "10", "--max-runs", "60",
          "--output=null", "--style", "none", "--export-json", str(out)]
    if ignore_failure:
        hf.append("-i")
    run(hf + [cmd], timeout=900)
    r = json.loads(out.read_text())["results"][0]
    return {"median_ms": r["median"] * 1e3, "mean_ms": r["mean"] * 1e3,
            "stddev_ms": (r["stddev"] or 0) * 1e3, "min_ms": r["min"] * 1e3,
            "max_ms": r["max"] * 1e3, "runs": len(r["times"]), "command": cmd}


def sample_mem(pid: int, helpers=lambda: [], n=5, gap=0.2) -> dict:
    """Medians of n samples: the daemon's RSS and PSS, and the sum over its helpers."""
    d_rss, d_pss, h_rss, h_pss, h_n = [], [], [], [], []
    for i in range(n):
        if i:
            time.sleep(gap)
        r, p = mem_kb(pid)
        d_rss.append(r)
        d_pss.append(p)
        hs = helpers()
        m = [mem_kb(h) for h in hs]
        h_rss.append(sum(x[0] for x in m))
        h_pss.append(sum(x[1] for x in m))
        h_n.append(len(hs))
    return {"daemon_rss_kb": median(d_rss), "daemon_pss_kb": median(d_pss),
            "threads": threads(pid), "helpers_count": median(h_n),
            "helpers_rss_kb": median(h_rss), "helpers_pss_kb": median(h_pss)}


def cpu_window(pid: int, secs: float, helpers=lambda: []) -> dict:
    hs = helpers()
    t0, d0, h0 = time.monotonic(), ticks([pid]), ticks(hs)
    time.sleep(secs)
    t1, d1, h1 = time.monotonic(), ticks([pid]), ticks(hs)
    el = t1 - t0
    return {"secs": round(el, 2), "daemon_pct": (d1 - d0) / CLK / el * 100,
            "helpers_pct": (h1 - h0) / CLK / el * 100, "helpers_count": len(hs)}
