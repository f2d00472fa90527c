"""The audit log through MCP: a process the test started is killed (after a refused kill
with a wrong start identity) and a managed one stopped, over the daemon's `/mcp` and over
`procward mcp` (stdio); audit.log names the interface, the MCP client, the action, the
target's identity and the result."""

from __future__ import annotations

import json
import os

import pytest
from mcp import types
from mcp_support import fails, http_session, ok, stdio_session, wait_gone

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]


def start_ticks(pid: int) -> int:
    stat = open(f"/proc/{pid}/stat").read()
    return int(stat[stat.rindex(")") + 2:].split()[19])


def audit(home) -> list[dict]:
    return [json.loads(line) for line in (home.path / "audit.log").read_text().splitlines()]


async def kill_twice(session, pid: int, ticks: int) -> None:
    await fails(session, "kill_process", {"pid": pid, "expected_start_ticks": ticks + 3})
    await ok(session, "kill_process", {"pid": pid, "expected_start_ticks": ticks})
    assert wait_gone(pid)


async def test_http_mcp_kills_and_stops_are_audited(home, http_daemon, children):
    url, token = http_daemon
    sleeper = children.sleeper()
    ticks = start_ticks(sleeper.pid)
    me = types.Implementation(name="audit-http", version="1")
    async with http_session(url, token, client_info=me) as session:
        await kill_twice(session, sleeper.pid, ticks)
        await ok(session, "start_process", {"name": "svc", "command": ["sleep", "600"]})
        await ok(session, "stop_process", {"name": "svc"})
        data, text = await ok(session, "audit_log", {"since_minutes": 5})
        tools = {t.name: t for t in (await session.list_tools()).tools}
    annotations = tools["audit_log"].annotations
    assert annotations.read_only_hint and not annotations.destructive_hint
    assert [e["action"] for e in data["entries"]] == ["kill", "kill", "stop"], data
    assert data["entries"][0]["result"] == "refused" and "3 audit entries" in text
    log = audit(home)
    assert len(log) == 3, log
    for entry in log:
        assert entry["interface"] == "mcp", entry
        assert entry["caller"] == "mcp:audit-http", entry
    refused, killed, stopped = log
    assert (refused["action"], refused["result"]) == ("kill", "refused")
    assert refused["target"] == {"pid": sleeper.pid, "start_ticks": ticks, "expected_start_ticks": ticks + 3}
    assert (killed["action"], killed["result"]) == ("kill", "ok")
    assert killed["target"]["start_ticks"] == ticks
    assert (stopped["action"], stopped["target"], stopped["result"]) == ("stop", {"name": "svc"}, "ok")
    assert data["entries"] == log


async def test_stdio_mcp_kills_are_audited_with_the_uid_and_the_claimed_client(home, children):
    sleeper = children.sleeper()
    ticks = start_ticks(sleeper.pid)
    me = types.Implementation(name="audit-stdio", version="1")
    async with stdio_session(home, client_info=me) as session:
        await kill_twice(session, sleeper.pid, ticks)
        data, _ = await ok(session, "audit_log", {"limit": 1})
    assert [e["result"] for e in data["entries"]] == ["ok"], data
    log = [e for e in audit(home) if e["action"] == "kill"]
    assert [e["result"] for e in log] == ["refused", "ok"], log
    for entry in log:
        # `procward mcp` is a separate process on the Unix socket: the daemon knows its uid;
        # the MCP client's name is its claim.
        assert entry["interface"] == "grpc", entry
        assert entry["caller"] == f"uid:{os.getuid()}", entry
        assert entry["client"] == "mcp:audit-stdio", entry
        assert entry["target"]["pid"] == sleeper.pid and entry["target"]["start_ticks"] == ticks
