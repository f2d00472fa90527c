"""kill_process on a managed process, by pid and by port: the daemon's one kill policy
stops it through the supervisor, so its `restart = always` policy does not bring it back
(and nothing of it is left)."""

from __future__ import annotations

import json
import sys
import time

import pytest

from mcp_support import LISTENER, alive, eventually, ok, stdio_session

pytestmark = pytest.mark.anyio

# Past the first restart delay (200 ms) with room to spare.
PAST_BACKOFF = 2.0


def start_always(home, name: str, *argv: str) -> dict:
    home.cli("start", name, "--restart", "always", "--backoff", "200ms:1s", "--", *argv, check=True)
    status = json.loads(home.cli("status", name, "--json", check=True).stdout)
    assert status["state"] == "running" and status["pid"], status
    return status


async def port_of(home, name: str) -> int:
    async def printed():
        lines = home.cli("logs", name, "--stdout", "--lines", "1").stdout.split()
        return int(lines[-1]) if lines else None
    return await eventually(printed, timeout=10)


def assert_stays_stopped(home, name: str, status: dict) -> None:
    time.sleep(PAST_BACKOFF)
    now = json.loads(home.cli("status", name, "--json", check=True).stdout)
    assert now["state"] == "stopped" and now["pid"] is None and now["restarts"] == 0, now
    assert not alive(status["pid"]) and not alive(status["shim_pid"]), now


async def test_kill_by_pid_and_by_port_stop_managed_processes_for_good(home):
    sleeper = start_always(home, "sleeper", "sleep", "600")
    listener = start_always(home, "listener", sys.executable, "-c", LISTENER)
    port = await port_of(home, "listener")
    async with stdio_session(home) as session:
        data, text = await ok(session, "kill_process", {"pid": sleeper["pid"], "expected_start_ticks": sleeper["start_ticks"]})
        assert data["success"] is True and "'sleeper'" in text, text
        data, text = await ok(session, "kill_process", {"port": port})
        assert data["success"] is True and "'listener'" in text, text
    assert_stays_stopped(home, "sleeper", sleeper)
    assert_stays_stopped(home, "listener", listener)
