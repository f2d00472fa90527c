"""`managed:start` with timestamps, watch patterns and a cron restart, and the `flush`
action, driven by python-socketio; bad patterns and cron expressions are refused naming
the field, with nothing started."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time

import pytest

from test_python_client import connect

pytestmark = pytest.mark.asyncio


async def listed(client, name):
    found = [p for p in (await client.call("managed:list", {}))["processes"] if p["name"] == name]
    return found[0] if found else None


async def test_start_with_timestamps_watch_and_cron_then_flush(daemon):
    client = await connect(daemon, daemon.token)
    folder = tempfile.mkdtemp(prefix="pw-sio-watch-")
    os.chmod(folder, 0o755)
    ack = await client.call("managed:start", {
        "name": "dev", "command": f"sh -c 'cd {folder} && echo hello && exec sleep 600'",
        "timestamps": True, "watch": [f"{folder}/*.py"], "watchIgnore": ["*.log"], "cronRestart": "0 3 * * *",
    })
    assert ack["ok"], ack
    spec = ack["process"]["spec"]
    assert spec["log_timestamps"] and spec["watch"] == [f"{folder}/*.py"], spec
    assert spec["watch_ignore"] == ["*.log"] and spec["cron_restart"] == "0 3 * * *", spec
    first = ack["process"]["pid"]
    await asyncio.sleep(0.5)
    with open(os.path.join(folder, "app.py"), "w") as f:
        f.write("changed")
    deadline = time.monotonic() + 10
    process = await listed(client, "dev")
    while time.monotonic() < deadline and process["pid"] in (0, first):
        await asyncio.sleep(0.2)
        process = await listed(client, "dev")
    assert process["pid"] not in (0, first), process

    flushed = await client.call("managed:action", {"name": "dev", "action": "flush"})
    assert flushed["ok"] and flushed["bytesRemoved"] > 0, flushed
    assert (await listed(client, "dev"))["state"] == "running"
    assert (await client.call("managed:action", {"name": "dev", "action": "delete"}))["ok"]
    await client.disconnect()


@pytest.mark.parametrize("extra, words", [
    ({"watch": ["src/[a"]}, "watch"),
    ({"watch": "src"}, "watch"),
    ({"cronRestart": "0 3 * *"}, "cron_restart"),
    ({"timestamps": "yes"}, "timestamps"),
])
async def test_bad_triggers_are_refused_and_nothing_starts(daemon, extra, words):
    client = await connect(daemon, daemon.token)
    ack = await client.call("managed:start", {"name": "bad", "command": "sleep 600", **extra})
    assert not ack["ok"] and words in ack["error"], ack
    assert await listed(client, "bad") is None
    await client.disconnect()
