"""Per-process metrics through MCP (get_process_status, get_process_info) against what
this test reads from /proc itself, for a real Python child with known descriptors, I/O
and CPU (tests/fixtures/metrics_child.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import anyio
import pytest
from mcp_support import ok, stdio_session, wait_gone

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "metrics_child.py"
FILES, BYTES = 10, 200_000


def proc_io(pid: int) -> dict:
    lines = Path(f"/proc/{pid}/io").read_text().splitlines()
    return {k: int(v) for k, v in (line.split(": ") for line in lines)}


def check(m: dict, pid: int) -> None:
    io = proc_io(pid)
    assert m["open_fds"] == len(os.listdir(f"/proc/{pid}/fd")) >= FILES + 3, m
    for ours, theirs in [("io_read_bytes", "read_bytes"), ("io_write_bytes", "write_bytes"),
                         ("io_rchar", "rchar"), ("io_wchar", "wchar")]:
        assert m[ours] == io[theirs], (ours, m, io)
    assert m["io_wchar"] >= BYTES and m["io_write_bytes"] >= BYTES
    assert m["cpu_user_ms"] > 100 and m["cpu_system_ms"] >= 0


async def wait_ready(folder: Path) -> int:
    """The fixture's pid, once it has opened its files and done its I/O."""
    ready = folder / "ready"
    deadline = time.monotonic() + 20
    while not ready.exists():
        assert time.monotonic() < deadline, "the child never got ready"
        await anyio.sleep(0.05)
    return int(ready.read_text())


async def test_status_and_process_info_carry_metrics(home, tmp_path):
    folder = tmp_path / "probe"
    folder.mkdir()
    async with stdio_session(home) as session:
        command = f"/usr/bin/python3 {FIXTURE} {folder} {FILES} {BYTES}"
        started, _ = await ok(session, "start_process", {"name": "probe", "command": command})
        pid = await wait_ready(folder)
        assert started["pid"] == pid

        status, text = await ok(session, "get_process_status", {"name": "probe"})
        check(status["metrics"], pid)
        assert status["metrics"]["threads"] == 2 and status["metrics"]["processes"] == 1
        tree = status["tree"]
        assert tree["processes"] == 3 and tree["threads"] == 4, tree
        assert tree["open_fds"] > status["metrics"]["open_fds"]
        assert "tree of 3 processes" in text and "open fds" in text

        info, _ = await ok(session, "get_process_info", {"pid": pid})
        check(info, pid)
        assert info["managed_name"] == "probe"

        stopped, _ = await ok(session, "stop_process", {"name": "probe"})
        assert stopped["state"] == "stopped"
        assert wait_gone(pid, 10)
        status, _ = await ok(session, "get_process_status", {"name": "probe"})
        assert status["metrics"] is None and status["tree"] is None


async def test_queue_status_carries_a_running_jobs_metrics(home, tmp_path):
    folder = tmp_path / "job"
    folder.mkdir()
    async with stdio_session(home) as session:
        command = f"/usr/bin/python3 {FIXTURE} {folder} {FILES} {BYTES}"
        added, _ = await ok(session, "queue_add", {"command": command, "attempts": 1})
        pid = await wait_ready(folder)

        job, text = await ok(session, "queue_status", {"id": added["id"]})
        assert job["state"] == "running", job
        check(job["metrics"], pid)
        assert job["tree"]["processes"] == 3, job["tree"]
        assert "tree of 3 processes" in text

        cancelled, _ = await ok(session, "queue_cancel", {"id": added["id"]})
        assert cancelled["state"] == "cancelled"
        assert wait_gone(pid, 10)
        job, _ = await ok(session, "queue_status", {"id": added["id"]})
        assert job["metrics"] is None and job["tree"] is None
