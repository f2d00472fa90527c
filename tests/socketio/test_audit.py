"""The audit log through socket.io: a process the test started is killed over
`process:kill` (after a refused kill with a wrong start identity) and a managed one
stopped over `managed:action`, by a plain socket.io client and by one that says it is the
dashboard; audit.log names the interface, the peer address, the action, the target's
identity and the result."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

import pytest
import socketio

pytestmark = pytest.mark.asyncio


def start_ticks(pid: int) -> int:
    stat = open(f"/proc/{pid}/stat").read()
    return int(stat[stat.rindex(")") + 2:].split()[19])


def audit(daemon) -> list[dict]:
    return [json.loads(line) for line in (daemon.home / "audit.log").read_text().splitlines()]


async def connect(daemon, query: str = "") -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(daemon.url + query, auth={"token": daemon.token}, transports=["websocket"],
                         wait_timeout=5)
    return client


async def test_kills_and_stops_over_socketio_are_audited(daemon):
    sleeper = subprocess.Popen(["sleep", "600"])
    client = await connect(daemon)
    dashboard = await connect(daemon, "?client=dashboard")
    try:
        ticks = start_ticks(sleeper.pid)
        ack = await client.call("process:kill", {"pid": sleeper.pid, "expectedStartTicks": ticks + 5}, timeout=30)
        assert not ack["ok"], ack
        assert sleeper.poll() is None, "a refused kill leaves it running"
        ack = await client.call("process:kill", {"pid": sleeper.pid, "expectedStartTicks": ticks}, timeout=30)
        assert ack["ok"], ack
        sleeper.wait(timeout=10)

        ack = await dashboard.call("managed:start", {"name": "svc", "command": "sleep 600"})
        assert ack["ok"], ack
        ack = await dashboard.call("managed:action", {"name": "svc", "action": "stop"}, timeout=30)
        assert ack["ok"], ack
        ack = await dashboard.call("managed:action", {"name": "svc", "action": "delete"}, timeout=30)
        assert ack["ok"], ack
        listed = await dashboard.call("audit:list", {"limit": 10})
        bad = await dashboard.call("audit:list", {"limit": 0})
    finally:
        await client.disconnect()
        await dashboard.disconnect()
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()

    log = audit(daemon)
    assert len(log) == 4, log
    refused, killed, stopped, deleted = log
    for entry, expected, result in [(refused, ticks + 5, "refused"), (killed, ticks, "ok")]:
        assert entry["interface"] == "socketio", entry
        assert entry["caller"].startswith("addr:127.0.0.1:"), entry
        assert entry["action"] == "kill" and entry["result"] == result, entry
        assert entry["target"] == {"pid": sleeper.pid, "start_ticks": ticks, "expected_start_ticks": expected}
    for entry, action in [(stopped, "stop"), (deleted, "delete")]:
        assert entry["interface"] == "dashboard", entry
        assert entry["client"] == "dashboard", entry
        assert entry["caller"].startswith("addr:127.0.0.1:"), entry
        assert (entry["action"], entry["target"], entry["result"]) == (action, {"name": "svc"}, "ok")
    assert listed["ok"] and listed["entries"] == log, listed
    assert not bad["ok"] and "limit" in bad["error"], bad
    # Two sockets, two peers.
    assert refused["caller"] != stopped["caller"]
