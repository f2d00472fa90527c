"""The supervisors under test: the common Tool interface, and procward's adapter."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from pathlib import Path

from procs import children_map, cmdline, wait_gone
from measure import run, time_script


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
        """procward's processes besides the daemon: the shim spawner (`procward-shim shim
        --spawner`, a child of the daemon) and the shims, forked by the spawner (so its
        children, with its command line) or executed by the daemon (its children)."""
        cm = children_map()
        own = [c for c in cm.get(self._pid, []) if "shim" in cmdline(c)[1:2]]
        forked = [s for c in own if "--spawner" in cmdline(c) for s in cm.get(c, [])]
        return own + forked

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
