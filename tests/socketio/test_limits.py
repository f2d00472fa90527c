"""Resource limits over socket.io, driven by python-socketio: `managed:start` and
`queue:add` take a `limits` object in the CLI's words (memoryMax "48M", onBreach "stop",
bestEffort), a memory hog job is held to its limit, and bad limits are refused naming the
field with nothing started or queued."""

from __future__ import annotations

import asyncio
import time

import pytest

from test_python_client import connect

pytestmark = pytest.mark.asyncio

HOG = "import time\nb=[]\nwhile len(b)<400:\n b.append(b'x'*(1<<20)); time.sleep(0.01)\ntime.sleep(600)"


async def test_a_job_is_held_to_its_memory_limit(daemon):
    client = await connect(daemon, daemon.token)
    ack = await client.call("queue:add", {
        "command": ["python3", "-c", HOG], "attempts": 3,
        "limits": {"memoryMax": "48M", "onBreach": "stop", "bestEffort": True},
    })
    assert ack["ok"], ack
    job = ack["job"]
    assert job["spec"]["limits"]["memory_max"] == 48 << 20, job
    assert [s["limit"] for s in job["limit_status"]] == ["memory_max"], job
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        [job] = [j for j in (await client.call("queue:list", {}))["jobs"] if j["id"] == ack["job"]["id"]]
        if job["attempts"] and job["attempts"][-1].get("ended_ms"):
            break
        await asyncio.sleep(0.2)
    assert len(job["attempts"]) == 1 and job["attempts"][0]["breach"] == "memory_max", job
    assert job["limit_breach"].startswith("memory_max 48.0MiB: "), job
    assert job["reason"] == f"stopped by a limit: {job['limit_breach']}", job
    await client.disconnect()


async def test_a_managed_start_takes_limits(daemon):
    client = await connect(daemon, daemon.token)
    ack = await client.call("managed:start", {
        "name": "limited", "command": "sleep 600",
        "limits": {"memoryMax": "256M", "pidsMax": 32, "bestEffort": True},
    })
    assert ack["ok"], ack
    [process] = [p for p in (await client.call("managed:list", {}))["processes"] if p["name"] == "limited"]
    assert process["spec"]["limits"]["memory_max"] == 256 << 20, process
    assert process["spec"]["limits"]["pids_max"] == 32, process
    assert {s["limit"] for s in process["limits"]} == {"memory_max", "pids_max"}, process
    stopped = await client.call("managed:action", {"name": "limited", "action": "delete"})
    assert stopped["ok"], stopped
    await client.disconnect()


@pytest.mark.parametrize("limits, words", [
    ({"memoryMax": "64 parsecs"}, "memory_max"),
    ({"pidsMax": 0, "bestEffort": True}, "pids_max"),
    ({"cpuMax": "lots"}, "not a CPU limit"),
    ({"onBreach": "explode"}, "on_breach"),
    ({"memoryMax": "64M", "color": "red"}, "unknown field"),
    ({"pidsMax": "many"}, "expected u32"),
])
async def test_bad_limits_are_refused_and_change_nothing(daemon, limits, words):
    client = await connect(daemon, daemon.token)
    ack = await client.call("queue:add", {"command": ["sleep", "60"], "limits": limits})
    assert not ack["ok"] and words in ack["error"], ack
    assert (await client.call("queue:list", {}))["jobs"] == []
    ack = await client.call("managed:start", {"name": "bad", "command": "sleep 60", "limits": limits})
    assert not ack["ok"] and words in ack["error"], ack
    assert (await client.call("managed:list", {}))["processes"] == []
    await client.disconnect()
