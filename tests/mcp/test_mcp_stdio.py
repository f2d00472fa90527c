"""`procward mcp` over stdio with the Python MCP SDK: the catalog, and every tool for real."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp_support import (
    ALL_TOOLS, DESTRUCTIVE_TOOLS, READ_TOOLS, alive, eventually, fails, ok, printer, stdio_session,
    wait_gone,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]


async def test_server_identifies_itself_and_offers_tools_and_resources(home):
    async with stdio_session(home) as session:
        init = session.initialize_result
        assert init.server_info.name == "procward"
        assert init.capabilities.tools is not None
        assert init.capabilities.resources is not None and init.capabilities.resources.subscribe
        assert init.instructions and "kill_process" in init.instructions
        assert "queue_add" in init.instructions and "queue_status" in init.instructions


async def test_catalog_has_described_schemas_and_right_annotations(home):
    async with stdio_session(home) as session:
        tools = (await session.list_tools()).tools
    assert {t.name for t in tools} == ALL_TOOLS
    assert len(tools) == 20
    for tool in tools:
        assert tool.description and len(tool.description) > 40, tool.name
        schema = tool.input_schema
        assert schema["type"] == "object", tool.name
        assert schema.get("additionalProperties") is False, f"{tool.name} accepts unknown fields"
        for prop, spec in schema.get("properties", {}).items():
            assert spec.get("description"), f"{tool.name}.{prop} has no description"
        notes = tool.annotations
        assert notes is not None, tool.name
        assert notes.read_only_hint is (tool.name in READ_TOOLS), tool.name
        assert notes.destructive_hint is (tool.name in DESTRUCTIVE_TOOLS), tool.name
    required = {t.name: set(t.input_schema.get("required", [])) for t in tools}
    assert required["start_process"] == {"name", "command"}
    assert required["get_process_info"] == {"pid"}
    assert required["get_process_logs"] == {"name"}
    assert required["list_system_processes"] == set()
    assert required["queue_add"] == {"command"}
    assert required["queue_list"] == set()
    assert required["queue_status"] == required["queue_cancel"] == {"id"}
    assert required["queue_logs"] == {"id"}


async def test_managed_process_lifecycle(home):
    name = "printer"
    async with stdio_session(home) as session:
        data, text = await ok(session, "list_processes")
        assert data["processes"] == []

        started, text = await ok(session, "start_process", {
            "name": name, "command": printer(3, "hello"), "cwd": str(home.path), "env": {"PW_TEST": "1"},
        })
        assert started["name"] == name and started["state"] == "running" and started["pid"]
        assert name in text
        first_pid = started["pid"]

        async def lines_with(word: str, count: int):
            data, _ = await ok(session, "get_process_logs", {"name": name, "lines": 50})
            found = [line for line in data["lines"] if word in line["text"]]
            return found if len(found) >= count else None

        lines = await eventually(lambda: lines_with("hello", 3))
        assert [line["text"] for line in lines] == ["hello 0", "hello 1", "hello 2"]
        assert all(line["stream"] == "stdout" for line in lines)
        data, text = await ok(session, "get_process_logs", {"name": name, "stream": "stderr"})
        assert data["lines"] == []

        status, text = await ok(session, "get_process_status", {"name": name})
        assert status["state"] == "running" and status["pid"] == first_pid
        assert status["cwd"] == str(home.path)
        listing, text = await ok(session, "list_processes")
        assert [p["name"] for p in listing["processes"]] == [name]

        restarted, text = await ok(session, "restart_process", {"name": name})
        assert restarted["state"] == "running"
        assert restarted["pid"] and restarted["pid"] != first_pid
        assert wait_gone(first_pid, 10), "the old process survived the restart"
        await eventually(lambda: lines_with("hello", 6))  # the new process printed too

        stopped, text = await ok(session, "stop_process", {"name": name})
        assert stopped["state"] == "stopped" and stopped["pid"] is None
        assert wait_gone(restarted["pid"], 10), "the process survived stop_process"
        status, _ = await ok(session, "get_process_status", {"name": name})
        assert status["state"] == "stopped"


async def test_list_system_processes_is_capped_and_filters(home, children):
    while len([p for p in os.listdir("/proc") if p.isdigit()]) < 40:
        children.sleeper()  # make sure there are more processes than the default limit
    async with stdio_session(home) as session:
        data, text = await ok(session, "list_system_processes")
        assert len(data["processes"]) == 25
        assert data["total"] > 25 and data["more"] == data["total"] - 25
        assert f"{data['more']} more" in text
        for p in data["processes"]:
            assert {"pid", "name", "user", "cpu_percent", "memory_rss", "start_time", "command"} <= p.keys()

        comm = Path("/proc/self/comm").read_text().strip()
        data, text = await ok(session, "list_system_processes", {"name": comm, "limit": 500})
        assert os.getpid() in [p["pid"] for p in data["processes"]]
        assert data["more"] == 0 and len(data["processes"]) == data["total"] < 500

        data, _ = await ok(session, "list_system_processes", {"sort": "pid", "limit": 3})
        pids = [p["pid"] for p in data["processes"]]
        assert pids == sorted(pids) and len(pids) == 3


async def test_process_info_of_the_test_itself(home):
    async with stdio_session(home) as session:
        data, text = await ok(session, "get_process_info", {"pid": os.getpid()})
    assert data["pid"] == os.getpid()
    assert data["ppid"] == os.getppid()
    assert data["name"] == Path("/proc/self/comm").read_text().strip()
    assert "pytest" in data["command"] or sys.argv[0] in data["command"]
    assert data["start_time"] > 0 and data["memory_rss"] > 0
    assert str(os.getpid()) in text


async def test_system_info(home):
    async with stdio_session(home) as session:
        data, text = await ok(session, "get_system_info")
    assert data["cpu_count"] == os.cpu_count()
    assert 0 < data["memory_used"] < data["memory_total"]
    assert data["uptime_seconds"] > 0 and data["boot_time"] > 0
    assert len(data["load_average"]) == 3
    assert data["hostname"] in text


async def test_find_a_listener_with_list_ports_and_kill_it_by_port(home, children):
    proc, port = children.listener()
    async with stdio_session(home) as session:
        data, text = await ok(session, "list_ports", {"port": port})
        assert [(s["protocol"], s["port"]) for s in data["ports"]] == [("tcp", port)]
        assert proc.pid in [h["pid"] for h in data["ports"][0]["processes"]]
        assert str(port) in text

        data, _ = await ok(session, "list_ports", {"protocol": "tcp"})
        assert port in [s["port"] for s in data["ports"]]

        data, text = await ok(session, "kill_process", {"port": port, "timeout_seconds": 5})
        assert data["success"] is True
        assert proc.wait(timeout=10) == -15  # SIGTERM was enough

        data, text = await ok(session, "list_ports", {"port": port})
        assert data["ports"] == []


async def test_kill_by_pid_checks_the_expected_start_time(home, children):
    proc = children.sleeper()
    async with stdio_session(home) as session:
        info, _ = await ok(session, "get_process_info", {"pid": proc.pid})
        start = info["start_time"]

        text = await fails(session, "kill_process", {"pid": proc.pid, "expected_start_time": start + 7})
        assert "Nothing was signalled" in text and str(start) in text
        assert proc.poll() is None and alive(proc.pid)

        data, text = await ok(session, "kill_process", {"pid": proc.pid, "expected_start_time": start})
        assert data["success"] is True and str(proc.pid) in text
        assert proc.wait(timeout=10) == -15
