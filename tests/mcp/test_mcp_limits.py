"""Resource limits through MCP with the official SDK: start_process takes limits, a
polled memory limit restarts a real memory hog, get_process_status shows the limit, how
it is enforced and the breach; bad limits are tool errors that change nothing."""

from __future__ import annotations

import asyncio
import time

import pytest
from mcp_support import fails, ok, stdio_session

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

HOG = "import time\nb=[]\nwhile len(b)<400:\n b.append(b'x'*(1<<20)); time.sleep(0.02)\ntime.sleep(600)"


async def test_a_memory_hog_started_through_mcp_is_restarted_at_its_limit(home):
    async with stdio_session(home) as session:
        started, _ = await ok(session, "start_process", {
            "name": "hog", "command": ["python3", "-c", HOG], "memory_max": "64M", "best_effort": True,
        })
        first = started["pid"]
        deadline = time.monotonic() + 30
        status = {}
        while time.monotonic() < deadline:
            status, _ = await ok(session, "get_process_status", {"name": "hog"})
            if status.get("limit_breaches", 0) >= 1 and status.get("pid") not in (None, first):
                break
            await asyncio.sleep(0.2)
        assert status.get("limit_breaches", 0) >= 1, status
        assert status["pid"] != first, status
        limits = status["limits"]
        assert limits["memory_max"] == 64 << 20 and limits["on_breach"] == "restart"
        # The words say who ended it: the kernel in a cgroup, or the daemon's poll.
        expected = {
            "cgroup": "memory_max 64.0MiB: the kernel ended the tree, out of memory (restart)",
            "poll": "memory_max 64.0MiB: the tree used ",
        }[limits["enforced_by"]["memory_max"]]
        assert status["limit_breach"].startswith(expected), status
        await ok(session, "stop_process", {"name": "hog"})


@pytest.mark.parametrize("args, words", [
    ({"memory_max": "64 parsecs"}, "unknown unit"),
    ({"memory_max": "1K"}, "outside 1MiB"),
    ({"cpu_max": "lots"}, "not a CPU limit"),
    ({"pids_max": 0, "best_effort": True}, "pids_max"),
    ({"on_breach": "explode"}, "on_breach"),
])
async def test_bad_limits_are_tool_errors_and_change_nothing(home, args, words):
    async with stdio_session(home) as session:
        text = await fails(session, "start_process", {"name": "bad", "command": ["sleep", "60"], **args})
        assert words in text, text
        listing, _ = await ok(session, "list_processes")
        assert listing["processes"] == []


async def test_a_job_queued_through_mcp_is_held_to_its_memory_limit(home):
    async with stdio_session(home) as session:
        added, text = await ok(session, "queue_add", {
            "command": ["python3", "-c", HOG], "memory_max": "48M", "on_breach": "stop",
            "attempts": 3, "best_effort": True,
        })
        job_id = added["id"]
        deadline = time.monotonic() + 40
        job = {}
        while time.monotonic() < deadline:
            job, _ = await ok(session, "queue_status", {"id": job_id})
            if job["state"] in ("completed", "failed", "cancelled"):
                break
            await asyncio.sleep(0.2)
        assert job["state"] == "failed", job
        # on_breach stop: no second attempt, and the limit is named in the attempt.
        [attempt] = job["attempts"]
        assert attempt["breach"] == "memory_max", job
        assert attempt["outcome"].startswith("over its memory_max"), job
        limits = job["limits"]
        assert limits["memory_max"] == 48 << 20 and limits["on_breach"] == "stop", job
        expected = {
            "cgroup": "memory_max 48.0MiB: the kernel ended the tree, out of memory",
            "poll": "memory_max 48.0MiB: the tree used ",
        }[limits["enforced_by"]["memory_max"]]
        assert job["limit_breach"].startswith(expected), job
        assert job["reason"] == f"stopped by a limit: {job['limit_breach']}", job


@pytest.mark.parametrize("args, words", [
    ({"memory_max": "64 parsecs"}, "unknown unit"),
    ({"pids_max": 0, "best_effort": True}, "pids_max"),
    ({"on_breach": "explode"}, "on_breach"),
])
async def test_bad_job_limits_are_tool_errors_and_queue_nothing(home, args, words):
    async with stdio_session(home) as session:
        text = await fails(session, "queue_add", {"command": ["sleep", "60"], **args})
        assert words in text and "Nothing was queued" in text, text
        listing, _ = await ok(session, "queue_list")
        assert listing["jobs"] == [], listing
