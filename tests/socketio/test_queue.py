"""The job queue over socket.io, driven by python-socketio: queue:add, job:join (output of
every attempt and status messages, the final one with exitCode), queue:subscribe,
queue:cancel of a running job, bad input refused with nothing queued, and queue:hosts
(this daemon alone, with the embedded queue)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time

import pytest

from conftest import REPO
from test_python_client import Session, connect

pytestmark = pytest.mark.asyncio


def final(session):
    return any(m["type"] == "status" and m["data"]["state"] in ("completed", "failed", "cancelled")
               for m in session.messages)


def states(session):
    return [m["data"]["state"] for m in session.messages if m["type"] == "status"]


async def test_a_job_streams_its_output_and_ends_with_its_exit_code(daemon):
    client = await connect(daemon, daemon.token)
    session = Session(client)
    ack = await client.call("queue:add", {"command": ["sh", "-c", "seq 1 500; echo oops >&2; sleep 0.3; echo late"]})
    assert ack["ok"], ack
    job = ack["job"]
    assert job["state"] in ("queued", "running") and job["spec"]["attempts"] == 3
    joined = await client.call("job:join", {"id": job["id"]})
    assert joined["ok"], joined
    session.id = joined["sessionId"]
    assert session.id == f"job:{job['id']}"
    await session.wait_for(final)
    expected = "".join(f"{n}\n" for n in range(1, 501)) + "late\n"
    assert session.text("stdout").decode() == expected
    assert session.text("stderr").decode() == "oops\n"
    assert session.messages[-1]["data"] == {"state": "completed", "exitCode": 0}
    assert "running" in states(session)
    await client.disconnect()


async def test_a_running_jobs_session_gets_metrics_of_its_process(daemon):
    client = await connect(daemon, daemon.token)
    session = Session(client)
    ack = await client.call("queue:add", {"command": ["sleep", "60"], "attempts": 1})
    assert ack["ok"], ack
    joined = await client.call("job:join", {"id": ack["job"]["id"]})
    session.id = joined["sessionId"]

    def measured(s):
        return any(m["type"] == "metrics" for m in s.messages)

    await session.wait_for(measured)
    data = next(m["data"] for m in session.messages if m["type"] == "metrics")
    shown = await client.call("queue:list", {"states": ["running"]})
    pid = shown["jobs"][0]["attempts"][-1]["pid"]
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    assert data["processes"] == 1 and data["threads"] == 1 and data["open_fds"] == fds, data
    assert data["memory_rss"] > 0 and data["tree"]["processes"] == 1, data
    cancelled = await client.call("queue:cancel", {"id": ack["job"]["id"]})
    assert cancelled["ok"] and cancelled["job"]["state"] == "cancelled", cancelled
    await session.wait_for(final)
    await client.disconnect()


async def test_retries_are_followed_and_the_failure_is_final(daemon):
    client = await connect(daemon, daemon.token)
    session = Session(client)
    ack = await client.call("queue:add", {"command": "sh -c 'echo try $PROCWARD_JOB_ATTEMPT; exit 3'",
                                           "attempts": 2, "backoff": "fixed:100ms"})
    assert ack["ok"], ack
    joined = await client.call("job:join", {"id": ack["job"]["id"]})
    session.id = joined["sessionId"]
    await session.wait_for(final)
    assert session.messages[-1]["data"] == {"state": "failed", "exitCode": 3}
    text = session.text("stdout").decode()
    assert "try 2\n" in text, text
    listed = await client.call("queue:list", {"states": ["failed"]})
    assert [j["id"] for j in listed["jobs"]] == [ack["job"]["id"]]
    assert len(listed["jobs"][0]["attempts"]) == 2
    await client.disconnect()


async def test_subscribers_see_every_change_and_cancel_ends_a_running_job(daemon):
    client = await connect(daemon, daemon.token)
    events = []
    changed = asyncio.Event()

    async def on_message(message):
        if message["type"] == "job":
            events.append(message["data"])
            changed.set()

    client.on("message", on_message)
    assert (await client.call("queue:subscribe", {}))["ok"]
    ack = await client.call("queue:add", {"command": ["sleep", "60"]})
    job_id = ack["job"]["id"]

    async def until(predicate):
        while not predicate():
            changed.clear()
            await changed.wait()

    await asyncio.wait_for(until(lambda: any(e["id"] == job_id and e["state"] == "running" for e in events)), 10)
    listed = await client.call("queue:list", {"states": ["running"]})
    pid = listed["jobs"][0]["attempts"][-1]["pid"]
    assert os.path.exists(f"/proc/{pid}")
    cancelled = await client.call("queue:cancel", {"id": job_id}, timeout=15)
    assert cancelled["ok"], cancelled
    assert cancelled["job"]["state"] == "cancelled"
    await asyncio.wait_for(until(lambda: any(e["id"] == job_id and e["state"] == "cancelled" for e in events)), 10)
    seen = [e["state"] for e in events if e["id"] == job_id]
    assert seen[0] == "queued" and "running" in seen and seen[-1] == "cancelled", seen
    stat = open(f"/proc/{pid}/stat").read() if os.path.exists(f"/proc/{pid}") else ""
    assert not stat or stat.rsplit(")", 1)[1].split()[0] == "Z", "the job's process is gone"
    again = await client.call("queue:cancel", {"id": job_id})
    assert not again["ok"] and "already cancelled" in again["error"]
    await client.disconnect()


@pytest.mark.parametrize("payload, words", [
    ({"command": ["true"], "priority": -1}, "negative"),
    ({"command": ["true"], "group": "nope"}, "unknown group"),
    ({"command": []}, "empty command"),
    ({"command": ["true"], "after": [99]}, "no job 99"),
    ({"command": ["true"], "timeoutSeconds": -1}, "timeoutSeconds"),
    ({"command": ["true"], "color": "red"}, "unknown field"),
])
async def test_bad_jobs_are_refused_and_nothing_is_queued(daemon, payload, words):
    client = await connect(daemon, daemon.token)
    ack = await client.call("queue:add", payload)
    assert not ack["ok"] and words in ack["error"], ack
    assert (await client.call("queue:list", {}))["jobs"] == []
    missing = await client.call("job:join", {"id": 12345})
    assert not missing["ok"] and "no job 12345" in missing["error"]
    await client.disconnect()


async def test_hosts_is_this_daemon_alone_with_the_embedded_queue(daemon):
    binary = os.environ.get("PROCWARD_BIN") or str(REPO / "target" / "debug" / "procward")
    env = {**os.environ, "PROCWARD_HOME": str(daemon.home), "XDG_CONFIG_HOME": str(daemon.home / "config")}
    status = json.loads(subprocess.run([binary, "daemon", "status", "--json"], env=env, capture_output=True,
                                       check=True, timeout=15).stdout)
    client = await connect(daemon, daemon.token)
    ack = await client.call("queue:hosts", {})
    assert ack["ok"], ack
    [host] = ack["hosts"]
    assert host["alive"] is True and host["pid"] == status["pid"], (host, status)
    assert host["host"] == socket.gethostname() and host["jobs_running"] == 0 and host["cpus"] >= 1, host
    assert set(host) == {"host", "version", "pid", "seen_ms", "load", "cpus", "jobs_running", "alive", "managed"}, host
    assert host["managed"] == [], host
    assert abs(host["seen_ms"] / 1000 - time.time()) < 60, host
    refused = await client.call("queue:hosts", {"group": "default"})
    assert not refused["ok"] and "unknown field" in refused["error"], refused
    await client.disconnect()
