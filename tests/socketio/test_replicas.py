"""Replicas over socket.io, driven by python-socketio: `managed:start` with `instances`,
`successExitCodes` and a `readiness` probe runs `x:0` and `x:1`; `managed:action` `scale`
and `reload` answer with the replicas' views (and are audited); bad counts, exit codes,
probes and replica names are refused naming the field, with nothing started."""

from __future__ import annotations

import asyncio
import time

import pytest

from test_python_client import connect

pytestmark = pytest.mark.asyncio

SLEEPER = "python3 -c 'import time; time.sleep(300)'"
READY = {"command": "true", "intervalMs": 100}


async def listing(client):
    return {p["name"]: p for p in (await client.call("managed:list", {}))["processes"]}


async def settled(client, names, ready=True, timeout=15.0):
    """The listing once exactly `names` are registered, all running (and ready)."""
    deadline = time.monotonic() + timeout
    while True:
        processes = await listing(client)
        good = sorted(processes) == sorted(names) and all(
            p["state"] == "running" and p["pid"] and (not ready or p["readiness"] == "healthy")
            for p in processes.values()
        )
        if good:
            return processes
        if time.monotonic() > deadline:
            raise AssertionError(f"wanted {names} running and ready, got {processes}")
        await asyncio.sleep(0.1)


async def test_a_set_starts_scales_and_reloads(daemon):
    client = await connect(daemon, daemon.token)
    ack = await client.call("managed:start", {
        "name": "x", "command": SLEEPER, "instances": 2, "successExitCodes": [3, 4], "readiness": READY,
    })
    assert ack["ok"], ack
    assert [p["name"] for p in ack["processes"]] == ["x:0", "x:1"], ack
    assert ack["process"]["name"] == "x:0", ack
    spec = ack["process"]["spec"]
    assert spec["instances"] == 2 and spec["success_exit_codes"] == [3, 4], spec
    assert spec["readiness"] is not None, spec
    processes = await settled(client, ["x:0", "x:1"])
    assert processes["x:0"]["pid"] != processes["x:1"]["pid"]
    assert processes["x:0"]["health"] == "", processes["x:0"]

    ack = await client.call("managed:action", {"name": "x", "action": "scale", "instances": 3})
    assert ack["ok"], ack
    assert [p["name"] for p in ack["processes"]] == ["x:0", "x:1", "x:2"], ack
    await settled(client, ["x:0", "x:1", "x:2"])

    ack = await client.call("managed:action", {"name": "x", "action": "scale", "instances": 1})
    assert ack["ok"] and [p["name"] for p in ack["processes"]] == ["x:0"], ack
    before = (await settled(client, ["x:0"]))["x:0"]["pid"]

    ack = await client.call("managed:action", {"name": "x", "action": "reload"})
    assert ack["ok"] and [p["name"] for p in ack["processes"]] == ["x:0"], ack
    after = (await settled(client, ["x:0"]))["x:0"]["pid"]
    assert after != before, (before, after)

    bad = await client.call("managed:action", {"name": "x", "action": "scale", "instances": 0})
    assert not bad["ok"] and "instances" in bad["error"], bad
    bad = await client.call("managed:action", {"name": "x", "action": "scale"})
    assert not bad["ok"] and "instances" in bad["error"], bad
    bad = await client.call("managed:action", {"name": "nope", "action": "reload"})
    assert not bad["ok"] and "nope" in bad["error"], bad

    entries = (await client.call("audit:list", {}))["entries"]
    done = [(e["action"], e["target"].get("name"), e["result"]) for e in entries if e["interface"] == "socketio"]
    assert ("scale", "x", "ok") in done and ("reload", "x", "ok") in done, entries
    assert (await client.call("managed:action", {"name": "x", "action": "delete"}))["ok"]
    assert await listing(client) == {}
    await client.disconnect()


@pytest.mark.parametrize("extra, words", [
    ({"instances": 0}, "instances"),
    ({"instances": 300}, "instances"),
    ({"instances": "two"}, "instances"),
    ({"successExitCodes": [256]}, "successExitCodes"),
    ({"successExitCodes": [1, 1]}, "successExitCodes"),
    ({"readiness": {"intervalMs": 100}}, "readiness: give exactly one probe"),
    ({"readiness": {"http": "ftp://example/"}}, "readiness"),
    ({"readiness": {"command": "true", "retries": 0}}, "readiness"),
    ({"health": {"tcp": "no-port"}}, "health"),
    ({"name": "web:0"}, "':' is reserved"),
    ({"name": "web:0", "instances": 2}, "':' is reserved"),
])
async def test_bad_sets_are_refused_and_nothing_starts(daemon, extra, words):
    client = await connect(daemon, daemon.token)
    payload = {"name": "bad", "command": SLEEPER, **extra}
    ack = await client.call("managed:start", payload)
    assert not ack["ok"] and words in ack["error"], ack
    assert await listing(client) == {}
    await client.disconnect()
