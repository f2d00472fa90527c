#!/usr/bin/env python3
"""Measurements for bench/supervise.sh: procward's supervisor against pm2, supervisord, pueue.

Subcommands (all called by bench/supervise.sh, Python 3.11 standard library only):
  reference  time `seq 1 N > file` alone (the floor for the log-capture figure)
  run TOOL   measure one supervisor end to end and write OUT/TOOL.json
  sweep      kill whatever still carries this run's marker (safety net on exit)

Every process this benchmark starts inherits the environment variable
PROCWARD_BENCH_RUN=<unique id> (daemons, CLIs and the managed processes, since all four
tools pass the caller's or the daemon's environment on). The safety net kills only
processes whose /proc/PID/environ carries that exact marker, through a pidfd, after
checking the marker again on the opened pidfd's process. Nothing is killed by name.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
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


# --------------------------------------------------------------------------- /proc


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


class Foreign:
    """CPU used by everything that is not this benchmark, phase by phase.

    Sums utime+stime+cutime+cstime over every process without the run's marker (and not
    an ancestor of this driver): a process that ends inside a phase shows up in its
    parent's cutime, so short compiler runs of someone else are counted too (except in
    init's, which also reaps this benchmark's own detached daemons). Reported as
    % of the whole machine (all CPUs), so a figure can be read knowing what else ran.
    """

    def __init__(self, marker: bytes):
        self.marker = marker
        self.mine = ancestors(os.getpid())
        self.ncpu = os.cpu_count() or 1
        self.start()

    @staticmethod
    def _steal() -> int:
        """Ticks the hypervisor gave to others while this VM wanted to run."""
        f = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(f[8]) if len(f) > 8 else 0

    def _ticks(self) -> int:
        total = 0
        for p in pids():
            if p in self.mine or has_marker(p, self.marker):
                continue
            try:
                raw = Path(f"/proc/{p}/stat").read_text()
            except OSError:
                continue
            f = raw[raw.rindex(")") + 2 :].split()
            if f[0] in ("Z", "X"):  # a zombie's environ is gone: it may be one of ours
                continue
            total += int(f[11]) + int(f[12])
            if p != 1:  # init reaps the detached daemons of this benchmark (pm2, procward)
                total += int(f[13]) + int(f[14])
        return total

    def start(self) -> None:
        self.t, self.ticks, self.st = time.monotonic(), self._ticks(), self._steal()

    def stop(self) -> tuple[float, float]:
        """(others' CPU, hypervisor steal) since start(), each in % of the whole machine."""
        t, ticks, st = time.monotonic(), self._ticks(), self._steal()
        el = max(1e-3, t - self.t)
        return (round(max(0, ticks - self.ticks) / CLK / el / self.ncpu * 100, 1),
                round(max(0, st - self.st) / CLK / el / self.ncpu * 100, 1))


def psi_cpu_some_us() -> int | None:
    try:
        for line in Path("/proc/pressure/cpu").read_text().splitlines():
            if line.startswith("some"):
                return int(line.rsplit("total=", 1)[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def wait_quiet(limit_pct: float, max_wait: float) -> dict:
    """Waits (up to max_wait s) until the machine is mostly idle before a tool's run:
    other work on a 2-core machine skews every figure."""
    t0 = time.monotonic()
    busy = cpu_busy()
    while busy > limit_pct and time.monotonic() - t0 < max_wait:
        log(f"machine {busy:.0f} % busy (others' work): waiting for under {limit_pct:.0f} %")
        time.sleep(4)
        busy = cpu_busy()
    return {"busy_pct": round(busy, 1), "waited_s": round(time.monotonic() - t0, 1),
            "loadavg": Path("/proc/loadavg").read_text().split()[:3]}


# --------------------------------------------------------------------------- running


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


# --------------------------------------------------------------------------- tools


class Tool:
    name = "?"
    has_restart_policy = True

    def __init__(self, tmp: Path, out: Path, args):
        self.tmp = tmp / self.name
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.args = args
        self.notes: list[str] = []
        self.daemon_proc: subprocess.Popen | None = None

    # daemon
    def cold_start(self) -> float: ...          # launch, wait until it answers, return secs
    def stop_daemon(self) -> None: ...
    def daemon_pid(self) -> int: ...
    def helpers(self) -> list[int]:
        return []
    def version(self) -> str: ...

    # managed processes
    def start_lines(self, name: str, argv: list[str], **opt) -> list[str]: ...
    def start(self, name: str, argv: list[str], **opt) -> None:
        for line in self.start_lines(name, argv, **opt):
            run(["sh", "-ec", line], capture=True)
    def running_count(self) -> int: ...
    def delete(self, names: list[str]) -> None: ...
    def list_argv(self) -> list[str]: ...
    def stop_argv(self, name: str) -> list[str]: ...
    def flood_logs(self, name: str) -> list[Path]: ...
    def finished(self, name: str) -> bool:
        return False
    def bulk_start(self, names: list[str], argv: list[str]) -> float:
        return time_script([l for n in names for l in self.start_lines(n, argv)],
                           self.tmp / "bulk.sh")
    def crash_info(self, name: str) -> dict:
        return {}


class Procward(Tool):
    name = "procward"

    def __init__(self, tmp, out, args):
        super().__init__(tmp, out, args)
        self.bin = args.procward
        self.home = self.tmp / "home"
        cfg = self.tmp / "config.toml"
        cfg.write_text("")
        os.environ["PROCWARD_HOME"] = str(self.home)
        os.environ["PROCWARD_CONFIG"] = str(cfg)
        self._pid = None

    def version(self):
        return run([self.bin, "--version"], capture=True).stdout.strip()

    def cold_start(self):
        t0 = time.perf_counter()
        r = run([self.bin, "daemon", "--detach"], capture=True)
        el = time.perf_counter() - t0
        m = re.search(r"pid (\d+)", r.stdout + r.stderr)
        self._pid = int(m.group(1)) if m else self._status_pid()
        return el

    def _status_pid(self):
        r = run([self.bin, "daemon", "status", "--json"], capture=True)
        return json.loads(r.stdout)["pid"]

    def daemon_pid(self):
        return self._pid

    def stop_daemon(self):
        pid = self._pid
        run([self.bin, "daemon", "stop"], check=False)
        if pid:
            wait_gone(pid)
        self._pid = None

    def helpers(self):
        """The shims: children of the daemon running `procward-shim shim` (or `procward shim`)."""
        cm = children_map()
        return [c for c in cm.get(self._pid, []) if "shim" in cmdline(c)[1:2]]

    def start_lines(self, name, argv, restart=None, stop_timeout=None):
        cmd = [self.bin, "start", name]
        if restart:
            cmd += ["--restart", restart]
        if stop_timeout is not None:
            cmd += ["--stop-timeout", str(stop_timeout)]
        return [shlex.join(cmd + ["--"] + argv) + " >/dev/null"]

    def _list(self):
        return json.loads(run([self.bin, "list", "--json"], capture=True).stdout)

    def running_count(self):
        return sum(1 for p in self._list() if p["state"] == "running")

    def delete(self, names):
        for i in range(0, len(names), 200):
            run([self.bin, "delete", *names[i : i + 200]], capture=True, timeout=600)

    def list_argv(self):
        return [self.bin, "list", "--json"]

    def stop_argv(self, name):
        return [self.bin, "stop", name]

    def flood_logs(self, name):
        d = self.home / "logs" / name
        files = sorted(d.glob("stdout.log*")) if d.exists() else []

        def k(p):  # stdout.log.N (oldest = highest N) first, stdout.log last
            s = p.name[len("stdout.log") :]
            return -int(s[1:]) if s.startswith(".") and s[1:].isdigit() else 1

        return sorted(files, key=k)

    def status(self, name):
        return json.loads(run([self.bin, "status", name, "--json"], capture=True).stdout)

    def finished(self, name):
        return self.status(name)["state"] in ("stopped", "failed")

    def crash_info(self, name):
        s = self.status(name)
        return {"restarts": s.get("restarts"), "state": s.get("state"),
                "next_restart_at_ms": s.get("next_restart_at_ms"), "reason": s.get("reason")}


class Pm2(Tool):
    name = "pm2"

    def __init__(self, tmp, out, args):
        super().__init__(tmp, out, args)
        self.bin = args.pm2
        self.home = self.tmp / "home"
        self.home.mkdir(exist_ok=True)
        os.environ["PM2_HOME"] = str(self.home)

    def version(self):
        pkg = Path(self.bin).resolve().parent.parent / "package.json"
        try:
            return "pm2 " + json.loads(pkg.read_text())["version"]
        except Exception:
            return "pm2"

    def cold_start(self):
        return timed([self.bin, "ping"])

    def daemon_pid(self):
        return int((self.home / "pm2.pid").read_text().strip())

    def stop_daemon(self):
        try:
            pid = self.daemon_pid()
        except (OSError, ValueError):
            pid = None
        run([self.bin, "kill"], check=False)
        if pid:
            wait_gone(pid)

    def start_lines(self, name, argv, restart=None, stop_timeout=None):
        cmd = [self.bin, "start", argv[0], "--name", name]
        if restart == "never":
            cmd.append("--no-autorestart")
        if stop_timeout is not None:
            cmd += ["--kill-timeout", str(int(stop_timeout * 1000))]
        if argv[1:]:
            cmd += ["--"] + argv[1:]
        return [shlex.join(cmd) + " >/dev/null"]

    def _jlist(self):
        return json.loads(run([self.bin, "jlist"], capture=True).stdout)

    def running_count(self):
        return sum(1 for p in self._jlist() if p["pm2_env"]["status"] == "online")

    def delete(self, names):
        # one name: that process; several: every process (the benchmark deletes a whole
        # batch only when nothing else is registered)
        run([self.bin, "delete", names[0] if len(names) == 1 else "all"], timeout=600)

    def list_argv(self):
        return [self.bin, "jlist"]

    def stop_argv(self, name):
        return [self.bin, "stop", name]

    def flood_logs(self, name):
        p = self.home / "logs" / f"{name}-out.log"
        return [p] if p.exists() else []

    def finished(self, name):
        return any(p["name"] == name and p["pm2_env"]["status"] in ("stopped", "errored")
                   for p in self._jlist())

    def bulk_start(self, names, argv):
        eco = self.tmp / "ecosystem.json"
        eco.write_text(json.dumps({"apps": [
            {"name": n, "script": argv[0], "args": argv[1:], "interpreter": "none"}
            for n in names]}))
        return timed([self.bin, "start", str(eco)], timeout=900)

    def crash_info(self, name):
        for p in self._jlist():
            if p["name"] == name:
                return {"restarts": p["pm2_env"].get("restart_time"),
                        "state": p["pm2_env"].get("status")}
        return {}


class Supervisord(Tool):
    name = "supervisord"

    def __init__(self, tmp, out, args):
        super().__init__(tmp, out, args)
        t = self.tmp
        (t / "conf.d").mkdir(exist_ok=True)
        (t / "logs").mkdir(exist_ok=True)
        self.sock = t / "supervisor.sock"
        self.conf = t / "supervisord.conf"
        self.conf.write_text(f"""\
[unix_http_server]
file={self.sock}
chmod=0700
[supervisord]
logfile={t}/supervisord.log
pidfile={t}/supervisord.pid
childlogdir={t}/logs
minfds=8192
minprocs=4096
loglevel=info
user=root
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://{self.sock}
[include]
files = {t}/conf.d/*.conf
""")
        self.ctl = [args.supervisorctl, "-c", str(self.conf)]

    def version(self):
        return "supervisord " + run([self.args.supervisord, "--version"], capture=True).stdout.strip()

    def _rpc_ready(self) -> bool:
        body = (b"<?xml version='1.0'?><methodCall><methodName>supervisor.getState"
                b"</methodName><params></params></methodCall>")
        req = (b"POST /RPC2 HTTP/1.0\r\nContent-Type: text/xml\r\nContent-Length: "
               + str(len(body)).encode() + b"\r\n\r\n" + body)
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2)
                s.connect(str(self.sock))
                s.sendall(req)
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        except OSError:
            return False
        return data.startswith(b"HTTP/1.0 200") and b"RUNNING" in data

    def cold_start(self):
        t0 = time.perf_counter()
        self.daemon_proc = subprocess.Popen(
            [self.args.supervisord, "-n", "-c", str(self.conf)],
            stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
        while not self._rpc_ready():
            if self.daemon_proc.poll() is not None:
                raise RuntimeError("supervisord exited at start")
            time.sleep(0.001)
        return time.perf_counter() - t0

    def daemon_pid(self):
        return self.daemon_proc.pid

    def stop_daemon(self):
        if self.daemon_proc and self.daemon_proc.poll() is None:
            self.daemon_proc.terminate()
            try:
                self.daemon_proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.daemon_proc.kill()
                self.daemon_proc.wait()
        self.daemon_proc = None

    def _conf(self, name, argv, restart=None, stop_timeout=None, numprocs=1):
        lines = [f"[program:{name}]", "command=" + shlex.join(argv),
                 f"stdout_logfile={self.tmp}/logs/{name}%(process_num)d.out",
                 f"stderr_logfile={self.tmp}/logs/{name}%(process_num)d.err",
                 "stdout_logfile_maxbytes=0", "stderr_logfile_maxbytes=0"]
        if numprocs > 1:
            lines += [f"numprocs={numprocs}", "process_name=%(program_name)s_%(process_num)d"]
        if restart == "never":
            lines += ["autorestart=false", "startsecs=0"]
        elif restart == "always":
            lines += ["autorestart=true", "startsecs=0"]
        if stop_timeout is not None:
            lines.append(f"stopwaitsecs={stop_timeout}")
        return "\n".join(lines) + "\n"

    def start_lines(self, name, argv, **opt):
        conf = self.tmp / "conf.d" / f"{name}.conf"
        return [f"printf '%s' {shlex.quote(self._conf(name, argv, **opt))} > {shlex.quote(str(conf))}",
                shlex.join(self.ctl + ["update", name]) + " >/dev/null"]

    def running_count(self):
        r = run(self.ctl + ["status"], check=False, capture=True)
        return sum(1 for l in r.stdout.splitlines() if " RUNNING " in l)

    def delete(self, names):
        # `update` alone stops the removed groups one after the other (~0.7 s each):
        # stop them all at once first
        if len(names) > 1:
            run(self.ctl + ["stop", "all"], check=False, timeout=600)
        for n in names:
            (self.tmp / "conf.d" / f"{n}.conf").unlink(missing_ok=True)
        if any(n.startswith("k") for n in names):
            (self.tmp / "conf.d" / "bulk.conf").unlink(missing_ok=True)
        run(self.ctl + ["update"], timeout=600)

    def list_argv(self):
        return self.ctl + ["status"]

    def stop_argv(self, name):
        return self.ctl + ["stop", name]

    def flood_logs(self, name):
        p = self.tmp / "logs" / f"{name}0.out"
        return [p] if p.exists() else []

    def bulk_start(self, names, argv):
        (self.tmp / "conf.d" / "bulk.conf").write_text(
            self._conf("bulk", argv, numprocs=len(names)))
        return timed(self.ctl + ["update", "bulk"], timeout=900)


class Pueue(Tool):
    name = "pueue"
    has_restart_policy = False

    def __init__(self, tmp, out, args):
        super().__init__(tmp, out, args)
        t = self.tmp
        (t / "data").mkdir(exist_ok=True)
        (t / "run").mkdir(exist_ok=True)
        self.sock = t / "run" / "pueue.sock"
        self.conf = t / "pueue.yml"
        self.conf.write_text(f"""\
shared:
  pueue_directory: {t}/data
  runtime_directory: {t}/run
  use_unix_socket: true
  unix_socket_path: {self.sock}
client: {{}}
daemon: {{}}
""")
        self.cli = [args.pueue, "-c", str(self.conf)]
        self.ids: dict[str, int] = {}

    def version(self):
        return run([self.args.pueue, "--version"], capture=True).stdout.strip()

    def cold_start(self):
        self.sock.unlink(missing_ok=True)
        t0 = time.perf_counter()
        self.daemon_proc = subprocess.Popen([self.args.pueued, "-c", str(self.conf)],
                                            stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
        while True:
            if self.daemon_proc.poll() is not None:
                raise RuntimeError("pueued exited at start")
            if self.sock.exists() and run(self.cli + ["status", "--json"], check=False).returncode == 0:
                break
            time.sleep(0.0005)
        el = time.perf_counter() - t0
        run(self.cli + ["parallel", "0"])  # no limit, so that every task runs at once
        return el

    def daemon_pid(self):
        return self.daemon_proc.pid

    def stop_daemon(self):
        if self.daemon_proc and self.daemon_proc.poll() is None:
            run(self.cli + ["shutdown"], check=False)
            try:
                self.daemon_proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.daemon_proc.kill()
                self.daemon_proc.wait()
        self.daemon_proc = None

    def start_lines(self, name, argv, **opt):
        # pueue runs the command string under `sh -c`; it has no names, restart policy
        # or stop timeout.
        return [shlex.join(self.cli + ["add", "--label", name, "--", shlex.join(argv)]) + " >/dev/null"]

    def start(self, name, argv, **opt):
        r = run(self.cli + ["add", "--print-task-id", "--label", name, "--", shlex.join(argv)],
                capture=True)
        self.ids[name] = int(r.stdout.strip())

    def _tasks(self):
        return json.loads(run(self.cli + ["status", "--json"], capture=True).stdout)["tasks"]

    def running_count(self):
        return sum(1 for t in self._tasks().values()
                   if isinstance(t["status"], dict) and "Running" in t["status"])

    def delete(self, names):
        want = set(names)
        ids = [k for k, t in self._tasks().items() if t.get("label") in want]
        for i in range(0, len(ids), 200):
            chunk = ids[i : i + 200]
            run(self.cli + ["kill", *chunk], check=False)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ts = self._tasks()
            if not any(isinstance(ts[k]["status"], dict) and "Running" in ts[k]["status"]
                       for k in ids if k in ts):
                break
            time.sleep(0.1)
        for i in range(0, len(ids), 200):
            run(self.cli + ["remove", *ids[i : i + 200]], check=False)

    def list_argv(self):
        return self.cli + ["status", "--json"]

    def stop_argv(self, name):
        return self.cli + ["kill", str(self.ids[name])]

    def flood_logs(self, name):
        p = self.tmp / "data" / "task_logs" / f"{self.ids[name]}.log"
        return [p] if p.exists() else []

    def finished(self, name):
        t = self._tasks().get(str(self.ids[name]))
        return bool(t) and isinstance(t["status"], dict) and "Done" in t["status"]


TOOLS = {"procward": Procward, "pm2": Pm2, "supervisord": Supervisord, "pueue": Pueue}


# --------------------------------------------------------------------------- phases


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


def do_run(tool: Tool, a) -> dict:
    res: dict = {"tool": tool.name, "version": tool.version(), "ok": False}
    outf = tool.out / f"{tool.name}.json"
    res["machine_before"] = wait_quiet(a.quiet_pct, a.quiet_wait)
    psi0, t_run0 = psi_cpu_some_us(), time.monotonic()
    fg = Foreign(f"{MARKER_VAR}={os.environ[MARKER_VAR]}".encode())
    res["noise"] = {}

    def save():
        res["notes"] = tool.notes
        psi1 = psi_cpu_some_us()
        if psi0 is not None and psi1 is not None:
            # share of the run's wall time in which some runnable task waited for a CPU
            res["cpu_pressure_pct"] = round((psi1 - psi0) / 1e4 / (time.monotonic() - t_run0), 1)
        res["run_s"] = round(time.monotonic() - t_run0, 1)
        outf.write_text(json.dumps(res, indent=1))

    def phase(key: str, what: str, fn):
        """Measures one figure. If other work (plus hypervisor steal) used more than
        --noise-pct of the machine meanwhile, waits for quiet and measures again (at most --retries times); keeps the
        quietest attempt. fn must undo what an earlier attempt of its own left behind."""
        nonlocal retry_s
        best, tries = None, []
        for attempt in range(1 + a.retries):
            if attempt:
                if retry_s > a.retry_budget:
                    log(f"{tool.name}: '{key}' was noisy, but the retry budget is spent")
                    break
                log(f"{tool.name}: others used {tries[-1][0]:.0f} % of the machine (and the "
                    f"hypervisor stole {tries[-1][1]:.0f} %) during '{key}': measuring it again")
                t_retry = time.monotonic()
                wait_quiet(a.quiet_pct, min(a.quiet_wait, 15))
            log(f"{tool.name}: {what}")
            fg.start()
            val = fn()
            foreign, steal = fg.stop()
            if attempt:
                retry_s += time.monotonic() - t_retry
            tries.append((foreign, steal))
            # CPU that others took, in the VM (foreign) or from it (hypervisor steal)
            if best is None or foreign + steal < best[0] + best[1]:
                best = (foreign, steal, val)
            if foreign + steal <= a.noise_pct:
                break
        res["noise"][key] = {"foreign_pct": best[0], "steal_pct": best[1],
                             "attempts": [round(t[0] + t[1], 1) for t in tries]}
        res[key] = best[2]
        return best[2]

    names50: list[str] = []
    more: list[str] = []
    retry_s = 0.0

    def starts50():
        nonlocal names50
        if names50:
            wait_running(tool, len(names50), 30)
            tool.delete(names50)
        r, names50 = phase_starts(tool, a.start_runs, 50)
        return r

    def starts1000():
        nonlocal more
        if more:
            tool.delete(more)
        more = [f"k{i}" for i in range(1000 - 50)]
        if tool.name == "procward":
            t = time_script([l for n in more for l in tool.start_lines(n, ["sleep", "3600"])],
                            tool.tmp / "starts1000.sh")
            return {"count": len(more), "s": t, "how": "one CLI call each"}
        t = tool.bulk_start(more, ["sleep", "3600"])
        how = "one CLI call each" if tool.name == "pueue" else "bulk (one file)"
        return {"count": len(more), "s": t, "how": how}

    def lister(n):
        return lambda: hyperfine(tool.list_argv(), tool.out / f"{tool.name}-list{n}.json",
                                 ignore_failure=tool.name == "supervisord")

    try:
        phase("cold_start", f"cold start x{a.cold_runs}", lambda: phase_cold(tool, a.cold_runs))
        tool.cold_start()
        pid = tool.daemon_pid()
        res["daemon_pid"] = pid
        time.sleep(1.0)
        res["idle"] = sample_mem(pid, tool.helpers)
        log(f"{tool.name}: idle RSS {res['idle']['daemon_rss_kb']} kB")
        phase("starts50", f"50 starts x{a.start_runs}", starts50)
        res["running50"] = wait_running(tool, 50)
        time.sleep(1.0)
        res["at50"] = sample_mem(pid, tool.helpers)
        log(f"{tool.name}: 50 starts {res['starts50']['median_s']:.3f} s")
        phase("list50", "list with 50", lister(50))
        phase("cpu50", f"CPU with 50 idle ({a.cpu_secs} s)",
              lambda: cpu_window(pid, a.cpu_secs, tool.helpers))
        phase("crash", f"crash loop ({a.cpu_secs} s)", lambda: phase_crash(tool, a.cpu_secs))
        phase("tree", f"TERM-ignoring tree x{a.tree_runs}", lambda: phase_tree(tool, a.tree_runs))
        phase("flood", f"{a.lines} lines x{a.flood_runs}",
              lambda: phase_flood(tool, a.flood_runs, Path(a.ref_file), a.lines))
        save()
        if tool.name == "procward" or a.peers_1000:
            phase("starts1000", "950 more starts, to 1000", starts1000)
            res["running1000"] = wait_running(tool, 1000, 120)
            time.sleep(2.0)
            res["at1000"] = sample_mem(pid, tool.helpers)
            phase("list1000", "list with 1000", lister(1000))
            phase("cpu1000", f"CPU with 1000 idle ({a.cpu_secs} s)",
                  lambda: cpu_window(pid, a.cpu_secs, tool.helpers))
            save()
        log(f"{tool.name}: teardown")
        t0 = time.perf_counter()
        tool.delete(names50 + more)
        res["delete_all_s"] = time.perf_counter() - t0
        res["delete_all_count"] = len(names50 + more)
        tool.stop_daemon()
        res["ok"] = True
    except Exception as e:  # noqa: BLE001
        import traceback

        res["error"] = f"{type(e).__name__}: {e}"
        log(f"{tool.name}: FAILED: {res['error']}")
        traceback.print_exc()
        try:
            tool.stop_daemon()
        except Exception:  # noqa: BLE001
            pass
    marker = f"{MARKER_VAR}={os.environ[MARKER_VAR]}".encode()
    time.sleep(0.5)
    left = [(p, " ".join(cmdline(p))[:80]) for p in marked(marker)]
    res["leftovers"] = len(left)
    res["leftover_cmds"] = [c for _, c in left[:10]]
    if left:
        log(f"{tool.name}: {len(left)} processes left after teardown: {res['leftover_cmds'][:3]}")
        sweep(marker)
    save()
    return res


def do_reference(a) -> None:
    ref = Path(a.ref_file)
    times = []
    for _ in range(a.runs + 1):
        ref.unlink(missing_ok=True)
        t0 = time.perf_counter()
        with open(ref, "wb") as f:
            subprocess.run(["seq", "1", str(a.lines)], stdout=f, check=True)
        times.append(time.perf_counter() - t0)
    times = times[1:]
    Path(a.out, "reference.json").write_text(json.dumps(
        {"median_s": median(times), "runs_s": times, "lines": a.lines,
         "bytes": ref.stat().st_size}, indent=1))
    log(f"seq 1 {a.lines} > file: {median(times):.3f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("reference")
    r.add_argument("--out", required=True)
    r.add_argument("--ref-file", required=True)
    r.add_argument("--lines", type=int, default=2_000_000)
    r.add_argument("--runs", type=int, default=5)
    s = sub.add_parser("run")
    s.add_argument("tool", choices=TOOLS)
    s.add_argument("--tmp", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--ref-file", required=True)
    s.add_argument("--lines", type=int, default=2_000_000)
    s.add_argument("--cold-runs", type=int, default=10)
    s.add_argument("--start-runs", type=int, default=3)
    s.add_argument("--tree-runs", type=int, default=3)
    s.add_argument("--flood-runs", type=int, default=3)
    s.add_argument("--cpu-secs", type=float, default=10)
    s.add_argument("--peers-1000", action="store_true")
    s.add_argument("--quiet-pct", type=float, default=15.0,
                   help="wait until the machine is less busy than this (%% of all CPUs)")
    s.add_argument("--quiet-wait", type=float, default=120.0, help="for at most this many seconds")
    s.add_argument("--noise-pct", type=float, default=10.0,
                   help="measure a figure again when others used more than this (%% of all CPUs)")
    s.add_argument("--retries", type=int, default=2)
    s.add_argument("--retry-budget", type=float, default=45.0,
                   help="seconds a tool may spend measuring noisy figures again")
    for b in ("procward", "pm2", "supervisord", "supervisorctl", "pueue", "pueued"):
        s.add_argument(f"--{b}", default=b)
    w = sub.add_parser("sweep")
    w.add_argument("--quiet", action="store_true")
    a = p.parse_args()
    if a.cmd == "reference":
        do_reference(a)
    elif a.cmd == "run":
        tool = TOOLS[a.tool](Path(a.tmp), Path(a.out), a)
        do_run(tool, a)
    else:
        n = sweep(f"{MARKER_VAR}={os.environ[MARKER_VAR]}".encode())
        if n or not a.quiet:
            log(f"sweep: killed {n} leftover processes of this run")


if __name__ == "__main__":
    main()
