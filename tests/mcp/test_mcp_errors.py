"""Failures come back as tool results (isError: true) with a message that helps, and
nothing changes: unknown names, dangerous or missing pids, free ports, malformed
arguments, unknown tools."""

from __future__ import annotations

import os
import socket

import pytest
from mcp_support import alive, fails, ok, printer, stdio_session

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

# kill(2) semantics: -1 is every process, 0 the caller's group, 1 init; 4294967295 is -1
# as a u32.
DANGEROUS_PIDS = [-1, 0, 1, 4294967295]


def free_pid() -> int:
    """A pid inside pid_max that no process has."""
    pid_max = int(open("/proc/sys/kernel/pid_max").read())
    for pid in range(pid_max - 1, pid_max - 5000, -1):
        if not os.path.exists(f"/proc/{pid}"):
            return pid
    raise RuntimeError("no free pid found")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def assert_nothing_managed(session) -> None:
    data, _ = await ok(session, "list_processes")
    assert data["processes"] == []


@pytest.mark.parametrize("tool", ["get_process_status", "get_process_logs", "stop_process", "restart_process"])
async def test_unknown_managed_name(home, tool):
    async with stdio_session(home) as session:
        text = await fails(session, tool, {"name": "no-such-process"})
        assert "no-such-process" in text and "not found" in text
        assert "list_processes" in text  # says what to do next
        await assert_nothing_managed(session)


async def test_starting_a_taken_name_is_refused(home):
    async with stdio_session(home) as session:
        first, _ = await ok(session, "start_process", {"name": "dup", "command": printer(1)})
        text = await fails(session, "start_process", {"name": "dup", "command": ["sleep", "5"]})
        assert "dup" in text and "restart_process" in text
        status, _ = await ok(session, "get_process_status", {"name": "dup"})
        assert status["pid"] == first["pid"] and status["command"] == printer(1)


@pytest.mark.parametrize("pid", DANGEROUS_PIDS)
async def test_dangerous_pids_are_refused_and_nothing_is_signalled(home, children, pid):
    sentinel = children.sleeper()
    async with stdio_session(home) as session:
        daemon = home.daemon_pid()
        for args in ({"pid": pid}, {"pid": pid, "force": True}, {"pid": pid, "signal": "SIGKILL"}):
            text = await fails(session, "kill_process", args)
            assert f"refused pid {pid}" in text and "Nothing was signalled" in text
        # Everyone a stray kill(-1), kill(0) or kill(1) would reach is still here.
        assert sentinel.poll() is None and alive(sentinel.pid)
        assert alive(os.getpid()) and alive(daemon) and alive(1)
        await ok(session, "get_system_info")  # the server itself survived too
        if pid > 1:
            text = await fails(session, "get_process_info", {"pid": pid})
            assert "pid must be between 1 and 2147483647" in text


async def test_nonexistent_pid(home, children):
    sentinel = children.sleeper()
    pid = free_pid()
    async with stdio_session(home) as session:
        for tool in ("get_process_info", "kill_process"):
            text = await fails(session, tool, {"pid": pid})
            assert f"no process with pid {pid}" in text
            assert "list_system_processes" in text
        text = await fails(session, "kill_process", {"pid": 2147483647})
        assert "2147483647" in text
    assert sentinel.poll() is None


async def test_port_with_no_listener(home):
    port = free_port()
    async with stdio_session(home) as session:
        data, text = await ok(session, "list_ports", {"port": port})
        assert data["ports"] == []
        text = await fails(session, "kill_process", {"port": port})
        assert f"no process listens on port {port}" in text and "Nothing was signalled" in text
        for bad in (0, 65536, -80):
            text = await fails(session, "kill_process", {"port": bad})
            assert "port must be between 1 and 65535" in text
            text = await fails(session, "list_ports", {"port": bad})
            assert "port must be between 1 and 65535" in text


async def test_kill_needs_exactly_one_target(home, children):
    proc, port = children.listener()
    async with stdio_session(home) as session:
        text = await fails(session, "kill_process", {})
        assert "pid" in text and "port" in text
        text = await fails(session, "kill_process", {"pid": proc.pid, "port": port})
        assert "not both" in text
        text = await fails(session, "kill_process", {"port": port, "signal": "SIGKILL"})
        assert "apply to a pid" in text
    assert proc.poll() is None


MALFORMED = [
    ("get_process_info", {"pid": "twelve"}, "invalid type"),
    ("get_process_info", {"pid": 1.5}, "invalid type"),
    ("get_process_info", {}, "missing field `pid`"),
    ("get_process_info", {"pid": 5, "bogus": 1}, "unknown field `bogus`"),
    ("kill_process", {"pid": "1"}, "invalid type"),
    ("kill_process", {"pid": 5, "expected_start_time": -3}, "invalid value"),
    ("kill_process", {"pid": 5, "force": "yes"}, "invalid type"),
    ("start_process", {"name": "x"}, "missing field `command`"),
    ("start_process", {"command": "sleep 1"}, "missing field `name`"),
    ("start_process", {"name": "x", "command": 42}, "command"),
    ("start_process", {"name": "x", "command": ["sleep", "1"], "cwd": "relative/dir"}, "absolute"),
    ("start_process", {"name": "x", "command": ["sleep", "1"], "restart": "sometimes"}, "sometimes"),
    ("start_process", {"name": "x", "command": ["sleep", "1"], "env": {"A": 1}}, "invalid type"),
    ("start_process", {"name": "a/b", "command": ["sleep", "1"]}, "a/b"),
    ("start_process", {"name": "x", "command": []}, "command"),
    ("get_process_logs", {"name": "x", "lines": -1}, "invalid value"),
    ("get_process_logs", {"name": "x", "lines": 501}, "between 1 and 500"),
    ("get_process_logs", {"name": "x", "stream": "stdin"}, "stream must be"),
    ("list_system_processes", {"limit": 0}, "between 1 and 500"),
    ("list_system_processes", {"limit": "ten"}, "invalid type"),
    ("list_system_processes", {"sort": "colour"}, "sort must be"),
    ("list_ports", {"protocol": "sctp"}, "protocol"),
    ("stop_process", {"name": ["a"]}, "invalid type"),
    ("list_processes", {"all": True}, "unknown field `all`"),
]


@pytest.mark.parametrize(("tool", "args", "says"), MALFORMED, ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(MALFORMED)])
async def test_malformed_arguments_are_tool_errors(home, tool, args, says):
    async with stdio_session(home) as session:
        text = await fails(session, tool, args)
        assert says in text, text
        assert len(text) < 1000
        await assert_nothing_managed(session)


@pytest.mark.parametrize("tool", ["start_process", "stop_process", "get_process_logs", "list_system_processes"])
async def test_a_100_kb_string_is_refused_without_echoing_it(home, tool):
    huge = "x" * 100_000
    args = {"name": huge}
    if tool == "start_process":
        args = {"name": "big", "command": ["echo", huge]}
    async with stdio_session(home) as session:
        text = await fails(session, tool, args)
        assert "100000 bytes" in text and "4096" in text
        assert len(text) < 500
        await assert_nothing_managed(session)


async def test_unknown_tool_is_a_tool_error(home):
    async with stdio_session(home) as session:
        text = await fails(session, "format_disk", {"device": "/dev/sda"})
        assert "format_disk" in text and "does not exist" in text
        assert "list_system_processes" in text  # names the tools that do exist
        await ok(session, "get_system_info")  # the session is still usable
