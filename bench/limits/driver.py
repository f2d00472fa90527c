"""bench/limits/driver.py: measures what bench/limits.sh says, writes JSON to --out.

Every process it starts is its own (a daemon per home, the hogs they start); they are
stopped through their tools and, as a last resort, killed by pid."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

LIMIT = 64 << 20
HOG = (
    "import time\nb=[]\n"
    "while len(b)<1024:\n b.append(b'x'*(1<<20)); time.sleep(0.01)\n"
    "time.sleep(600)"
)
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def rss(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return None


def watch(pid: int, timeout: float = 30.0) -> dict:
    """Peak RSS of `pid` until it is gone, and the time from crossing LIMIT to its end."""
    peak, crossed, deadline = 0, None, time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = rss(pid)
        state = ""
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            pass
        if value is None or state == "Z":
            break
        peak = max(peak, value)
        if crossed is None and value > LIMIT:
            crossed = time.monotonic()
        time.sleep(0.002)
    else:
        return {"peak_mib": peak / 2**20, "ended": False}
    ended = time.monotonic()
    return {
        "peak_mib": round(peak / 2**20, 1),
        "ended": True,
        "after_limit_ms": round((ended - crossed) * 1000, 1) if crossed else None,
    }


def pw(binary: str, home: Path, *args: str, env: dict | None = None, check: bool = True) -> str:
    e = {**os.environ, "PROCWARD_HOME": str(home), "XDG_CONFIG_HOME": str(home / "cfg"), **(env or {})}
    out = subprocess.run([binary, *args], env=e, capture_output=True, text=True, timeout=60)
    if check and out.returncode != 0:
        raise RuntimeError(f"procward {' '.join(args)}: {out.stderr}")
    return out.stdout


def procward_overshoot(binary: str, cgroups: bool) -> dict:
    env = {} if cgroups else {"PROCWARD_CGROUPS": "off"}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        pw(binary, home, "daemon", "--detach", env=env)
        try:
            info = json.loads(pw(binary, home, "daemon", "status", "--json", env=env))
            flags = ["--memory-max", "64M", "--restart", "never", "--on-breach", "stop"]
            if not cgroups:
                flags.append("--best-effort")
            pw(binary, home, "start", "hog", *flags, "--", "python3", "-c", HOG, env=env)
            pid = json.loads(pw(binary, home, "status", "hog", "--json", env=env))["pid"]
            result = watch(pid)
            result["mode"] = info["limits"].split(":")[0]
            return result
        finally:
            pw(binary, home, "stop", "hog", check=False, env=env)
            pw(binary, home, "daemon", "stop", check=False, env=env)


def pm2_overshoot(pm2: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PM2_HOME": f"{tmp}/pm2"}
        run = lambda *a: subprocess.run([pm2, *a], env=env, capture_output=True, text=True, timeout=60)
        script = Path(tmp) / "hog.py"
        script.write_text(HOG)
        try:
            run("start", str(script), "--name", "hog", "--interpreter", "python3",
                "--max-memory-restart", "64M", "--no-autorestart")
            pid = 0
            for _ in range(100):
                listing = json.loads(run("jlist").stdout or "[]")
                pid = listing[0]["pid"] if listing else 0
                if pid:
                    break
                time.sleep(0.1)
            result = watch(pid, timeout=60)
            result["mode"] = "pm2 max_memory_restart"
            return result
        finally:
            run("kill")


def starts(binary: str, cgroups: bool, count: int = 50) -> float:
    env = {} if cgroups else {"PROCWARD_CGROUPS": "off"}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        pw(binary, home, "daemon", "--detach", env=env)
        try:
            begin = time.monotonic()
            for i in range(count):
                pw(binary, home, "start", f"s{i}", "--", "sleep", "3600", env=env)
            return time.monotonic() - begin
        finally:
            for i in range(count):
                pw(binary, home, "stop", f"s{i}", check=False, env=env)
            pw(binary, home, "daemon", "stop", check=False, env=env)


def daemon_cpu(binary: str, limited: bool, count: int = 50, secs: float = 10.0) -> float:
    env = {"PROCWARD_CGROUPS": "off"}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        pw(binary, home, "daemon", "--detach", env=env)
        try:
            extra = ["--memory-max", "1G", "--best-effort"] if limited else []
            for i in range(count):
                pw(binary, home, "start", f"s{i}", *extra, "--", "sleep", "3600", env=env)
            pid = json.loads(pw(binary, home, "daemon", "status", "--json", env=env))["pid"]
            time.sleep(2)

            def ticks() -> int:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                return int(fields[11]) + int(fields[12])

            before = ticks()
            time.sleep(secs)
            return round((ticks() - before) / TICKS / secs * 100, 2)
        finally:
            for i in range(count):
                pw(binary, home, "stop", f"s{i}", check=False, env=env)
            pw(binary, home, "daemon", "stop", check=False, env=env)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--procward", required=True)
    ap.add_argument("--pm2")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    out: dict = {"overshoot": {}, "starts": {}, "cpu": {}}
    runs = {"procward cgroup": lambda: procward_overshoot(a.procward, True),
            "procward poll": lambda: procward_overshoot(a.procward, False)}
    if a.pm2 and shutil.which(a.pm2) or (a.pm2 and Path(a.pm2).exists()):
        runs["pm2"] = lambda: pm2_overshoot(a.pm2)
    for name, fn in runs.items():
        out["overshoot"][name] = [fn() for _ in range(3)]
        print(name, out["overshoot"][name], flush=True)
    for cg in (True, False):
        key = "cgroups on" if cg else "cgroups off"
        out["starts"][key] = statistics.median(starts(a.procward, cg) for _ in range(3))
        print("50 starts", key, out["starts"][key], flush=True)
    for limited in (True, False):
        key = "50 with polled limits" if limited else "50 without limits"
        out["cpu"][key] = daemon_cpu(a.procward, limited)
        print("daemon cpu", key, out["cpu"][key], flush=True)
    Path(a.out, "limits.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
