"""bench/reload/driver.py: measures what bench/reload.sh says, writes reload.json to --out.

A load client connects to the app's port in a loop (one connection at a time, 2 ms apart)
while a tool replaces the app's 4 instances; a connection refused, reset or answered with
nothing is a failed request. Every process it starts is its own (a daemon per home and the
apps they start); they are stopped through their tools and, as a last resort, killed by pid.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

INSTANCES = 4
ROUNDS = 3
# Takes DELAY seconds to start listening (an app loading its code), then serves its pid.
PY_APP = """import os, socket, sys, time
time.sleep(float(os.environ.get('DELAY', '0.5')))
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(128)
import signal
def stop(*_):
    s.close(); sys.exit(0)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
while True:
    c, _ = s.accept()
    c.sendall(b'HTTP/1.0 200 OK\\r\\n\\r\\n' + str(os.getpid()).encode())
    c.close()
"""
# pm2's best case: cluster mode (its master holds the port), with the same start delay.
NODE_APP = """const http = require('http');
setTimeout(() => {
  http.createServer((q, r) => r.end(String(process.pid))).listen(+process.argv[2], '127.0.0.1',
    () => process.send && process.send('ready'));
}, 1000 * +(process.env.DELAY || 0.5));
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Load:
    """Requests in a loop until stopped; counts answers and failures."""

    def __init__(self, port: int) -> None:
        self.port, self.ok, self.failed = port, 0, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as c:
                    c.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    data = c.recv(256)
                if data:
                    self.ok += 1
                else:
                    self.failed += 1
            except OSError:
                self.failed += 1
            time.sleep(0.002)

    def __enter__(self) -> "Load":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never answered")


def measure(command: list[str], env: dict, port: int) -> dict:
    """Runs `command` under load; failures counted from its start to 1 s after it ends."""
    with Load(port) as load:
        time.sleep(0.5)
        before = (load.ok, load.failed)
        started = time.monotonic()
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        took = time.monotonic() - started
        time.sleep(1.0)
        ok, failed = load.ok - before[0], load.failed - before[1]
    if done.returncode != 0:
        raise RuntimeError(f"{command} failed: {done.stderr[-500:]}")
    return {"seconds": round(took, 3), "ok": ok, "failed": failed}


def kill_group_of_home(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def procward_rounds(binary: str, app: Path, verb: str) -> list[dict]:
    home = Path(tempfile.mkdtemp(prefix="pw-reload-"))
    env = {**os.environ, "PROCWARD_HOME": str(home)}
    port = free_port()
    pw = lambda *a: subprocess.run([binary, *a], env=env, capture_output=True, text=True, timeout=120)  # noqa: E731
    started = pw(
        "start", "app", "--instances", str(INSTANCES), "--readiness", f"tcp:127.0.0.1:{port}",
        "--", "python3", str(app), str(port),
    )
    if started.returncode != 0:
        raise RuntimeError(started.stderr)
    wait_port(port)
    time.sleep(2)
    rounds = []
    try:
        for _ in range(ROUNDS):
            rounds.append(measure([binary, verb, "app"], env, port))
            time.sleep(1)
    finally:
        listing = json.loads(pw("list", "--json").stdout or "[]")
        pw("delete", "app")
        pw("daemon", "stop")
        kill_group_of_home([p["pid"] for p in listing if p.get("pid")])
        shutil.rmtree(home, ignore_errors=True)
    return rounds


def pm2_rounds(pm2: str, script: Path, verb: str, cluster: bool) -> list[dict]:
    home = Path(tempfile.mkdtemp(prefix="pm2-reload-"))
    env = {**os.environ, "PM2_HOME": str(home)}
    port = free_port()
    args = [pm2, "start", str(script), "--name", "app", "-i", str(INSTANCES)]
    if not cluster:
        args += ["--interpreter", "python3"]
    else:
        args += ["--wait-ready", "--listen-timeout", "10000"]
    args += ["--", str(port)]
    subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=True)
    wait_port(port)
    time.sleep(2)
    rounds = []
    try:
        for _ in range(ROUNDS):
            rounds.append(measure([pm2, verb, "app"], env, port))
            time.sleep(1)
    finally:
        listing = subprocess.run([pm2, "jlist"], env=env, capture_output=True, text=True).stdout
        pids = [p.get("pid") for p in json.loads(listing or "[]") if p.get("pid")]
        subprocess.run([pm2, "delete", "all"], env=env, capture_output=True)
        subprocess.run([pm2, "kill"], env=env, capture_output=True)
        kill_group_of_home(pids)
        shutil.rmtree(home, ignore_errors=True)
    return rounds


def summary(rounds: list[dict]) -> dict:
    return {
        "seconds": statistics.median(r["seconds"] for r in rounds),
        "failed": statistics.median(r["failed"] for r in rounds),
        "ok": statistics.median(r["ok"] for r in rounds),
        "rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--procward", required=True)
    parser.add_argument("--pm2")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="reload-apps-"))
    py_app, node_app = work / "app.py", work / "app.js"
    py_app.write_text(PY_APP)
    node_app.write_text(NODE_APP)
    results = {
        "procward reload": summary(procward_rounds(args.procward, py_app, "reload")),
        "procward restart": summary(procward_rounds(args.procward, py_app, "restart")),
    }
    if args.pm2:
        results["pm2 reload (fork mode, same app)"] = summary(pm2_rounds(args.pm2, py_app, "reload", False))
        results["pm2 reload (cluster mode, node app)"] = summary(pm2_rounds(args.pm2, node_app, "reload", True))
        results["pm2 restart (fork mode, same app)"] = summary(pm2_rounds(args.pm2, py_app, "restart", False))
    shutil.rmtree(work, ignore_errors=True)
    (args.out / "reload.json").write_text(json.dumps(results, indent=2))
    print(json.dumps({k: {"seconds": v["seconds"], "failed": v["failed"]} for k, v in results.items()}, indent=2))


if __name__ == "__main__":
    main()
