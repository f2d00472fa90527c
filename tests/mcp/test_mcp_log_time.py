"""MCP and timestamped logs: `start_process` with `timestamps`, `get_process_logs` with
`since_seconds` (only recent lines), and the refusal for a process without timestamps."""

from __future__ import annotations

import re

import pytest
from mcp_support import eventually, fails, ok, stdio_session

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


async def test_recent_lines_of_a_timestamped_process(home):
    script = "echo early; sleep 2; echo late; sleep 600"
    async with stdio_session(home) as session:
        await ok(session, "start_process", {"name": "stamped", "command": ["sh", "-c", script], "timestamps": True})

        async def both():
            data, _ = await ok(session, "get_process_logs", {"name": "stamped"})
            return data["lines"] if len(data["lines"]) == 2 else None

        lines = await eventually(both)
        assert all(STAMP.match(line["text"]) for line in lines), lines
        recent, _ = await ok(session, "get_process_logs", {"name": "stamped", "since_seconds": 1})
        assert [STAMP.sub("", line["text"]) for line in recent["lines"]] == ["late"], recent


async def test_since_needs_timestamps(home):
    async with stdio_session(home) as session:
        await ok(session, "start_process", {"name": "plain", "command": ["sh", "-c", "echo hi; sleep 600"]})
        text = await fails(session, "get_process_logs", {"name": "plain", "since_seconds": 60})
        assert "timestamp" in text, text
