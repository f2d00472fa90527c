"""process:kill and port:kill on a managed process: the daemon's one kill policy stops it
through the supervisor, so its restart policy (always, 1 s back-off by default) does not
bring it back; process:kill takes the row's start_ticks as expectedStartTicks."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import socketio

pytestmark = pytest.mark.asyncio

LISTENER = ("import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\n"
            "print(s.getsockname()[1],flush=True)\ntime.sleep(600)")
# Past the first restart delay (1 s by default) with room to spare.
PAST_BACKOFF = 3.0


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def managed(client, name: str) -> dict:
    ack = await client.call("managed:list", {})
    assert ack["ok"], ack
    return next(p for p in ack["processes"] if p["name"] == name)


async def running(client, name: str, command: str) -> dict:
    ack = await client.call("managed:start", {"name": name, "command": command})
    assert ack["ok"], ack
    for _ in range(100):
        process = await managed(client, name)
        if process["state"] == "running" and process["pid"]:
            return process
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} did not run: {process}")


async def stays_stopped(client, name: str, seen: dict) -> None:
    await asyncio.sleep(PAST_BACKOFF)
    process = await managed(client, name)
    assert process["state"] == "stopped" and process["pid"] == 0 and process["restarts"] == 0, process
    assert not alive(seen["pid"]) and not alive(seen["shim_pid"]), process


async def test_kill_by_pid_and_by_port_stop_managed_processes_for_good(daemon, tmp_path):
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(daemon.url, auth={"token": daemon.token}, transports=["websocket"], wait_timeout=5)
    try:
        sleeper = await running(client, "sleeper", "sleep 600")
        assert sleeper["start_ticks"] > 0 and sleeper["shim_pid"] > 0, sleeper
        ack = await client.call("process:kill", {"pid": sleeper["pid"], "expectedStartTicks": sleeper["start_ticks"]},
                                timeout=30)
        assert ack["ok"] and "'sleeper'" in ack["message"], ack
        await stays_stopped(client, "sleeper", sleeper)

        script = tmp_path / "listener.py"
        script.write_text(LISTENER)
        listener = await running(client, "listener", f"{sys.executable} {script}")
        port = None
        for _ in range(100):
            ack = await client.call("ports:list", {})
            port = next((p["port"] for p in ack["ports"]
                         if any(h["pid"] == listener["pid"] for h in p["processes"])), None)
            if port:
                break
            await asyncio.sleep(0.1)
        assert port, "the managed listener never listened"
        ack = await client.call("port:kill", {"port": port}, timeout=30)
        assert ack["ok"] and "'listener'" in ack["message"], ack
        await stays_stopped(client, "listener", listener)
    finally:
        for name in ("sleeper", "listener"):
            await client.call("managed:action", {"name": name, "action": "delete"})
        await client.disconnect()
