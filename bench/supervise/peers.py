"""The peers' adapters for bench/supervise: pm2, supervisord and pueue."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import time
from pathlib import Path

from procs import DEVNULL, reap, wait_gone
from measure import run, timed
from tools import Tool


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
            reap(self.daemon_proc)
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
            reap(self.daemon_proc)
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
