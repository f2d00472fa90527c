"""Measurements for bench/fleet.sh: procward's job queue on Redis, three daemons sharing it.

bench/fleet.sh starts redis-server and the daemons (w1, w2, w3 on the Redis queue, one
`solo` daemon on the embedded queue), each with its own home and TCP listener; this
script only talks to them, through the Python gRPC client and the CLI:
  throughput  ROUNDS times (fleet and solo alternated; the median round is reported):
              N `true` jobs added by gRPC (64 calls in flight, through w1) into a paused
              queue, then resumed: seconds from the resume to the last attempt's end
              (the jobs' own ended_ms), jobs/s, and how many each host ran (`host` in
              `queue list --json`), and the most attempts running at one moment
              (the group's limit must hold across hosts). The same through `solo` (embedded queue, same
              parallel limit), and the ratio;
  latency     50 jobs added one at a time by gRPC on an idle fleet, each waited for:
              attempt 1's started_ms - created_ms, p50 and p95 (also on `solo`);
  idle        Redis commands while the three daemons sit idle for IDLE seconds:
              `INFO commandstats` before and after, the INFO calls left out, per second
              and per worker.
Writes OUT/results.json. Needs the procward Python client (clients/python).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import time
from collections import Counter
from pathlib import Path

import procward


def most_at_once(jobs) -> int:
    """The most attempts running at the same moment (their started_ms..ended_ms)."""
    edges = []
    for j in jobs:
        for a in j["attempts"]:
            if a.get("started_ms") and a.get("ended_ms"):
                edges += [(a["started_ms"], 1), (a["ended_ms"], -1)]
    running = most = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):  # an end before a start at the same ms
        running += step
        most = max(most, running)
    return most


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


class Daemon:
    def __init__(self, binary: str, root: Path):
        self.bin, self.home = binary, root / "home"
        self.env = dict(os.environ, PROCWARD_HOME=str(self.home),
                        XDG_CONFIG_HOME=str(root / "config"), NO_COLOR="1")
        self.env.pop("PROCWARD_CONFIG", None)

    def cli(self, *args) -> str:
        return subprocess.run([self.bin, *args], env=self.env, check=True, text=True,
                              stdout=subprocess.PIPE).stdout

    def jobs(self) -> list[dict]:
        return json.loads(self.cli("queue", "list", "--json"))

    def client(self) -> procward.ProcessManagerServiceClient:
        return procward.ProcessManagerServiceClient(procward.connect_from_home(self.home), timeout=60)


class Redis:
    def __init__(self, port: int):
        self.port = port

    def commandstats(self) -> dict[str, int]:
        text = subprocess.run(["redis-cli", "-p", str(self.port), "INFO", "commandstats"],
                              check=True, text=True, stdout=subprocess.PIPE).stdout
        calls = {}
        for line in text.splitlines():
            if line.startswith("cmdstat_"):
                name, rest = line[len("cmdstat_"):].split(":", 1)
                fields = dict(kv.split("=", 1) for kv in rest.strip().split(","))
                calls[name] = int(fields["calls"])
        return calls

    def total_commands(self) -> int:
        text = subprocess.run(["redis-cli", "-p", str(self.port), "INFO", "stats"],
                              check=True, text=True, stdout=subprocess.PIPE).stdout
        for line in text.splitlines():
            if line.startswith("total_commands_processed:"):
                return int(line.split(":")[1])
        raise RuntimeError("no total_commands_processed in INFO stats")


async def throughput(adder: Daemon, lister: Daemon, n: int, in_flight: int = 64) -> dict:
    async with adder.client() as pw:
        await pw.queue_pause()
        sem = asyncio.Semaphore(in_flight)

        async def add():
            async with sem:
                return (await pw.queue_add(["true"])).id

        t0 = time.perf_counter()
        ids = await asyncio.gather(*(add() for _ in range(n)))
        add_s = time.perf_counter() - t0
        resume_ms = time.time() * 1000
        t1 = time.perf_counter()
        await pw.queue_resume()
        await pw.queue_wait(ids[-1], timeout=600)
        # the last added may end before others: poll sparsely until none is left
        while True:
            left = await pw.queue_list(states=["queued", "delayed", "running"])
            if not left:
                break
            await asyncio.sleep(0.2)
        seen_s = time.perf_counter() - t1
    jobs = [j for j in lister.jobs() if j["id"] in set(ids)]
    states = Counter(j["state"] for j in jobs)
    ended = max(a["ended_ms"] for j in jobs for a in j["attempts"] if a.get("ended_ms"))
    run_s = (ended - resume_ms) / 1000
    return {
        "n": n,
        "add_s": add_s,
        "adds_per_s": n / add_s,
        "run_s": run_s,
        "jobs_per_s": n / run_s,
        "seen_done_s": seen_s,
        "states": dict(states),
        "attempts": sum(len(j["attempts"]) for j in jobs),
        "most_at_once": most_at_once(jobs),
        "by_host": dict(sorted(Counter(j.get("host") or "-" for j in jobs).items())),
    }


async def latency(d: Daemon, lister: Daemon, count: int) -> dict:
    ids = []
    async with d.client() as pw:
        await pw.queue_resume()
        for _ in range(count):
            job = await pw.queue_add(["true"])
            await pw.queue_wait(job.id, timeout=60)
            ids.append(job.id)
            await asyncio.sleep(0.05)  # idle between jobs
    jobs = {j["id"]: j for j in lister.jobs()}
    samples = [jobs[i]["attempts"][0]["started_ms"] - jobs[i]["created_ms"] for i in ids]
    return {
        "count": len(samples),
        "p50_ms": pct(samples, 0.5),
        "p95_ms": pct(samples, 0.95),
        "max_ms": max(samples),
        "by_host": dict(sorted(Counter(jobs[i].get("host") or "-" for i in ids).items())),
    }


def idle(redis: Redis, seconds: float, workers: int) -> dict:
    time.sleep(2)  # let the last job's events settle
    before_total = redis.total_commands()
    before = redis.commandstats()
    t0 = time.perf_counter()
    time.sleep(seconds)
    after = redis.commandstats()
    el = time.perf_counter() - t0
    after_total = redis.total_commands()
    # the INFO calls themselves: the commandstats pair and the stats pair
    diff = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    diff = {k: v for k, v in diff.items() if v and k != "info"}
    total = sum(diff.values())
    total_stats = after_total - before_total - 3  # 3 INFO calls between the two reads
    return {
        "seconds": el,
        "commands": total,
        "commands_total_processed": total_stats,
        "per_s": total / el,
        "per_s_per_worker": total / el / workers,
        "by_command": dict(sorted(diff.items(), key=lambda kv: -kv[1])),
    }


async def main_async(a) -> dict:
    fleet = [Daemon(a.procward, a.tmp / h) for h in ("w1", "w2", "w3")]
    solo = Daemon(a.procward, a.tmp / "solo")
    redis = Redis(a.redis_port)
    r: dict = {"parallel": a.parallel}
    rounds = {"fleet": [], "solo": []}
    for n in range(a.rounds):  # alternated, so a busy moment of the machine hits both
        for name, d in (("fleet", fleet[0]), ("solo", solo)):
            print(f"{name}: round {n + 1}: {a.jobs} jobs", flush=True)
            rounds[name].append(await throughput(d, d, a.jobs))
            print(json.dumps(rounds[name][-1]), flush=True)
            d.cli("queue", "clean")
    for name in rounds:
        rs = sorted(rounds[name], key=lambda x: x["run_s"])
        hosts = Counter()
        for x in rs:
            hosts.update(x["by_host"])
        r[f"{name}_throughput"] = {
            **rs[len(rs) // 2],  # the median round
            "rounds": rounds[name],
            "run_s_all": [x["run_s"] for x in rounds[name]],
            "adds_per_s_median": sorted(x["adds_per_s"] for x in rs)[len(rs) // 2],
            "by_host_all": dict(sorted(hosts.items())),
            "most_at_once_all": max(x["most_at_once"] for x in rs),
            "states_all": dict(sum((Counter(x["states"]) for x in rs), Counter())),
        }
    print(f"fleet: start latency, {a.latency_jobs} jobs one at a time", flush=True)
    r["fleet_latency"] = await latency(fleet[0], fleet[0], a.latency_jobs)
    print(json.dumps(r["fleet_latency"]), flush=True)
    r["solo_latency"] = await latency(solo, solo, a.latency_jobs)
    print(json.dumps(r["solo_latency"]), flush=True)
    print(f"fleet: Redis commands over {a.idle:.0f} s idle", flush=True)
    r["idle"] = idle(redis, a.idle, len(fleet))
    print(json.dumps(r["idle"]), flush=True)
    return r


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--procward", required=True)
    p.add_argument("--tmp", type=Path, required=True, help="folder holding w1 w2 w3 solo")
    p.add_argument("--redis-port", type=int, required=True)
    p.add_argument("--parallel", type=int, default=16)
    p.add_argument("--jobs", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--latency-jobs", type=int, default=50)
    p.add_argument("--idle", type=float, default=20)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    r = asyncio.run(main_async(a))
    (a.out / "results.json").write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
