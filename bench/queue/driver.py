"""Measurements for bench/queue.sh: procward's job queue side by side with pueue.

For each tool, one after the other, in a fresh temporary home (Unix sockets only):
  adds        five batches of 500 `add` calls (one CLI call each) into a paused queue:
              the 1st into an empty queue, the 5th into one of 2,000; seconds per batch;
  list        `list --json` (procward `queue list --json`, pueue `status --json`) at
              2,500 queued jobs, median of 15 runs; procward also at 10,000 queued jobs
              (added by CLI calls), with the daemon's RSS there (before and after
              the listings, which leave allocator caches behind);
  latency     queued -> running with a free slot, 50 jobs one at a time: the tool's own
              timestamps (procward: attempt started_ms - created_ms; pueue: start -
              enqueued_at), p50 and p90 in ms;
  throughput  1,000 `true` jobs with 8 in parallel, from resume until all are done,
              against `xargs -P 8` running the same 1,000 `true`.
Writes bench/out/queue/results.json. Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

BATCH = 500
BATCHES = 5


def run(argv, env=None, capture=True, check=True):
    return subprocess.run(argv, env=env, check=check, text=True,
                          stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                          stderr=subprocess.PIPE)


def timed_script(lines: list[str], env) -> float:
    """Runs `lines` as one sh script (one CLI call per line); wall seconds."""
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        f.write("set -e\n" + "\n".join(lines) + "\n")
    t0 = time.perf_counter()
    subprocess.run(["sh", f.name], env=env, check=True, stdout=subprocess.DEVNULL)
    el = time.perf_counter() - t0
    os.unlink(f.name)
    return el


def median_ms(argv, env, runs=15) -> float:
    samples = []
    for i in range(runs + 2):
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        if i >= 2:  # two warm-ups
            samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


class Procward:
    name = "procward"

    def __init__(self, binary: str, tmp: Path):
        self.bin = binary
        self.env = dict(os.environ, PROCWARD_HOME=str(tmp / "home"),
                        PROCWARD_CONFIG=str(tmp / "config.toml"), NO_COLOR="1")
        (tmp / "config.toml").write_text("[queue]\nkeep_completed = 100000\n")

    def cli(self, *args):
        return [self.bin, *args]

    def start(self):
        run(self.cli("daemon", "--detach"), self.env)

    def stop(self):
        run(self.cli("queue", "pause"), self.env, check=False)
        run(self.cli("daemon", "stop"), self.env, check=False)

    def pid(self) -> int:
        return json.loads(run(self.cli("daemon", "status", "--json"), self.env).stdout)["pid"]

    def pause(self):
        run(self.cli("queue", "pause"), self.env)

    def resume(self):
        run(self.cli("queue", "resume"), self.env)

    def parallel(self, n):
        run(self.cli("queue", "group", "add", "default", "--parallel", str(n)), self.env)

    def add_line(self, argv):
        return shlex.join(self.cli("queue", "add", "--", *argv)) + " >/dev/null"

    def list_argv(self):
        return self.cli("queue", "list", "--json")

    def jobs(self):
        return json.loads(run(self.list_argv(), self.env).stdout)

    def clean(self):
        run(self.cli("queue", "pause"), self.env)
        ids = [str(j["id"]) for j in self.jobs() if j["state"] in ("queued", "delayed")]
        for i in range(0, len(ids), 500):
            run(self.cli("queue", "cancel", *ids[i:i + 500]), self.env)
        run(self.cli("queue", "clean"), self.env)

    def latency_ms(self, job) -> float:
        return job["attempts"][0]["started_ms"] - job["created_ms"]

    def done(self, jobs) -> int:
        return sum(1 for j in jobs if j["state"] == "completed")

    def add_one(self, argv) -> None:
        run(self.cli("queue", "add", "--", *argv), self.env)

    def wait_all(self):
        ids = [str(j["id"]) for j in self.jobs() if j["state"] not in ("completed", "failed", "cancelled")]
        if ids:
            run(self.cli("queue", "wait", *ids), self.env)


def parse_time(text: str) -> float:
    # pueue writes nanoseconds; Python parses up to microseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    return datetime.fromisoformat(text).timestamp()


class Pueue:
    name = "pueue"

    def __init__(self, pueue: str, pueued: str, tmp: Path):
        self.pueue, self.pueued = pueue, pueued
        (tmp / "data").mkdir()
        (tmp / "run").mkdir()
        self.conf = tmp / "pueue.yml"
        self.conf.write_text(f"""\
shared:
  pueue_directory: {tmp}/data
  runtime_directory: {tmp}/run
  use_unix_socket: true
  unix_socket_path: {tmp}/run/pueue.sock
client: {{}}
daemon: {{}}
""")
        self.sock = tmp / "run" / "pueue.sock"
        self.env = dict(os.environ)
        self.proc = None

    def cli(self, *args):
        return [self.pueue, "-c", str(self.conf), *args]

    def start(self):
        self.proc = subprocess.Popen([self.pueued, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while run(self.cli("status", "--json"), check=False).returncode != 0:
            time.sleep(0.01)

    def stop(self):
        if self.proc:
            run(self.cli("shutdown"), check=False)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def pid(self) -> int:
        return self.proc.pid

    def pause(self):
        run(self.cli("pause"))

    def resume(self):
        run(self.cli("start"))

    def parallel(self, n):
        run(self.cli("parallel", str(n)))

    def add_line(self, argv):
        return shlex.join(self.cli("add", "--", shlex.join(argv))) + " >/dev/null"

    def list_argv(self):
        return self.cli("status", "--json")

    def jobs(self):
        return list(json.loads(run(self.list_argv()).stdout)["tasks"].values())

    def clean(self):
        # `reset` leaves queued tasks of a paused group in place: remove them by id (a
        # running task is killed first), then forget the finished ones.
        ids = [str(t["id"]) for t in self.jobs()]
        for i in range(0, len(ids), 200):
            run(self.cli("kill", *ids[i:i + 200]), check=False)
        for i in range(0, len(ids), 200):
            run(self.cli("remove", *ids[i:i + 200]), check=False)
        run(self.cli("clean"), check=False)

    def latency_ms(self, task) -> float:
        status = task["status"]["Done"]
        return (parse_time(status["start"]) - parse_time(status["enqueued_at"])) * 1000

    def done(self, tasks) -> int:
        return sum(1 for t in tasks if isinstance(t["status"], dict) and "Done" in t["status"])

    def add_one(self, argv) -> None:
        run(self.cli("add", "--", shlex.join(argv)))

    def wait_all(self):
        run(self.cli("wait"))


def measure(tool, with_10k: bool) -> dict:
    result: dict = {}
    tool.start()
    try:
        tool.pause()
        batches = []
        for b in range(BATCHES):
            lines = [tool.add_line(["true"]) for _ in range(BATCH)]
            batches.append(timed_script(lines, tool.env))
            print(f"{tool.name}: batch {b + 1} of {BATCH} adds: {batches[-1]:.2f} s", flush=True)
        result["adds_s"] = batches
        result["list_2500_ms"] = median_ms(tool.list_argv(), tool.env)
        if with_10k:
            for _ in range((20 * BATCH - BATCH * BATCHES) // BATCH):
                timed_script([tool.add_line(["true"]) for _ in range(BATCH)], tool.env)
            result["rss_10k_mb"] = rss_mb(tool.pid())  # the queue itself
            result["queued_big"] = len(tool.jobs())
            result["list_10k_ms"] = median_ms(tool.list_argv(), tool.env)
            # after 18 listings of 10,000 jobs: what the allocator kept of their buffers
            result["rss_10k_after_lists_mb"] = rss_mb(tool.pid())
        tool.clean()
        tool.parallel(1)
        tool.resume()
        print(f"{tool.name}: start latency", flush=True)
        for _ in range(50):
            tool.add_one(["true"])
            tool.wait_all()
        jobs = [j for j in tool.jobs() if tool.done([j])]
        samples = [tool.latency_ms(j) for j in jobs][-50:]
        result["latency_p50_ms"] = pct(samples, 0.5)
        result["latency_p90_ms"] = pct(samples, 0.9)
        tool.parallel(8)
        # The median of three runs, as `xargs` gets the median of five: one run on a
        # noisy machine can land anywhere. pueue's run takes about a minute: once.
        runs = []
        for _ in range(3 if tool.name == "procward" else 1):
            tool.clean()
            tool.pause()
            print(f"{tool.name}: 1,000 jobs, parallel 8", flush=True)
            timed_script([tool.add_line(["true"]) for _ in range(1000)], tool.env)
            t0 = time.perf_counter()
            tool.resume()
            tool.wait_all()
            runs.append(time.perf_counter() - t0)
            result["throughput_done"] = tool.done(tool.jobs())
        result["throughput_1000_runs_s"] = runs
        result["throughput_1000_s"] = statistics.median(runs)
        result["rss_end_mb"] = rss_mb(tool.pid())
    finally:
        tool.stop()
    return result


def xargs_s() -> float:
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run("seq 1000 | xargs -P 8 -n 1 true", shell=True, check=True)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--procward", required=True)
    p.add_argument("--pueue")
    p.add_argument("--pueued")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--quick", action="store_true", help="tiny sizes, to check the script")
    p.add_argument("--only", choices=["procward", "pueue"], help="measure one tool")
    a = p.parse_args()
    global BATCH
    if a.quick:
        BATCH = 20
    a.out.mkdir(parents=True, exist_ok=True)
    out = a.out / "results.json"
    # `--only` measures one tool again and keeps the other's figures from the last run.
    results = json.loads(out.read_text()) if a.only and out.exists() else {}
    results["xargs_1000_s"] = xargs_s()
    with tempfile.TemporaryDirectory(prefix="procward-queue-bench.") as tmp:
        tmp = Path(tmp)
        (tmp / "procward").mkdir()
        if a.only != "pueue":
            results["procward"] = measure(Procward(a.procward, tmp / "procward"), with_10k=True)
            out.write_text(json.dumps(results, indent=2))
        if a.pueue and a.pueued and a.only != "procward":
            (tmp / "pueue").mkdir()
            results["pueue"] = measure(Pueue(a.pueue, a.pueued, tmp / "pueue"), with_10k=False)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
