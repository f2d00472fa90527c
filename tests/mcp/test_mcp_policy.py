"""What the server lets an assistant do: `--read-only`, `--allow-kill managed`, and the
same settings from the config file's `[mcp]` section."""

from __future__ import annotations

import pytest
from mcp_support import ACTION_TOOLS, READ_TOOLS, alive, fails, ok, printer, stdio_session, wait_gone

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]


async def assert_read_only(session, children) -> None:
    tools = (await session.list_tools()).tools
    assert {t.name for t in tools} == READ_TOOLS
    assert all(t.annotations.read_only_hint for t in tools)
    victim = children.sleeper()
    for tool, args in [
        ("kill_process", {"pid": victim.pid}),
        ("start_process", {"name": "x", "command": ["sleep", "60"]}),
        ("stop_process", {"name": "x"}),
        ("restart_process", {"name": "x"}),
        ("queue_add", {"command": ["sleep", "60"]}),
        ("queue_cancel", {"id": 1}),
        ("queue_retry", {"id": 1}),
    ]:
        text = await fails(session, tool, args)
        assert "read-only" in text, text
    assert victim.poll() is None
    data, _ = await ok(session, "list_processes")
    assert data["processes"] == []
    data, _ = await ok(session, "queue_list")
    assert data["jobs"] == []
    for tool in ("list_system_processes", "get_system_info", "list_ports"):
        await ok(session, tool)


async def test_read_only_flag_lists_only_read_tools_and_refuses_the_others(home, children):
    async with stdio_session(home, "--read-only") as session:
        await assert_read_only(session, children)


async def test_read_only_from_the_config_file(children, make_home):
    home = make_home("[mcp]\nread_only = true\n")
    async with stdio_session(home) as session:
        await assert_read_only(session, children)


async def test_read_only_still_reads_managed_processes(home):
    async with stdio_session(home) as session:  # a full server registers one ...
        await ok(session, "start_process", {"name": "seen", "command": printer(2, "out")})
    async with stdio_session(home, "--read-only") as session:  # ... a read-only one sees it
        data, _ = await ok(session, "list_processes")
        assert [p["name"] for p in data["processes"]] == ["seen"]
        status, _ = await ok(session, "get_process_status", {"name": "seen"})
        assert status["state"] == "running"


async def assert_kills_only_managed(session, children) -> None:
    outsider = children.sleeper()
    text = await fails(session, "kill_process", {"pid": outsider.pid})
    assert "not a process procward manages" in text and "Nothing was signalled" in text
    assert outsider.poll() is None and alive(outsider.pid)

    proc, port = children.listener()
    text = await fails(session, "kill_process", {"port": port})
    assert "not a process procward manages" in text
    assert proc.poll() is None

    started, _ = await ok(session, "start_process", {"name": "victim", "command": ["sleep", "600"]})
    pid = started["pid"]
    info, _ = await ok(session, "get_process_info", {"pid": pid})
    assert info.get("managed_name") == "victim"
    data, text = await ok(session, "kill_process", {"pid": pid, "expected_start_time": info["start_time"]})
    assert data["success"] is True and "victim" in text
    assert wait_gone(pid, 10)
    status, _ = await ok(session, "get_process_status", {"name": "victim"})
    assert status["state"] == "stopped", "a managed process killed by kill_process must not be restarted"


async def test_allow_kill_managed_refuses_other_processes(home, children):
    async with stdio_session(home, "--allow-kill", "managed") as session:
        tools = {t.name for t in (await session.list_tools()).tools}
        assert tools == READ_TOOLS | ACTION_TOOLS
        await assert_kills_only_managed(session, children)


async def test_allow_kill_managed_from_the_config_file(children, make_home):
    home = make_home('[mcp]\nallow_kill = "managed"\n')
    async with stdio_session(home) as session:
        await assert_kills_only_managed(session, children)


async def test_default_scope_kills_own_unmanaged_processes(home, children):
    victim = children.sleeper()
    async with stdio_session(home) as session:
        data, _ = await ok(session, "kill_process", {"pid": victim.pid, "timeout_seconds": 5})
        assert data["success"] is True
    assert victim.wait(timeout=10) == -15


def test_bad_kill_scope_is_rejected_at_start(home):
    out = home.cli("mcp", "--allow-kill", "everyone", timeout=20)
    assert out.returncode != 0
    assert "everyone" in out.stderr
