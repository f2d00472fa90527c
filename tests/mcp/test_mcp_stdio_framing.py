"""`procward mcp` over raw stdio: lines that are not JSON get a JSON-RPC Parse error
(-32700, id null), an over-long line gets Invalid Request (-32600), and the session
goes on serving (issue 17)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import time

import pytest
from mcp_support import ALL_TOOLS, Home

pytestmark = pytest.mark.timeout(120)

MAX_LINE = 4 << 20  # crates/mcp/src/stdio.rs
ANSWER_WAIT = 30.0


class Raw:
    """`procward mcp` driven line by line."""

    def __init__(self, home: Home) -> None:
        self.proc = subprocess.Popen(
            [home.bin, "mcp"], env={**os.environ, **home.env},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self.pending = b""

    def send(self, line: bytes) -> None:
        self.proc.stdin.write(line)
        self.proc.stdin.flush()

    def request(self, id_: int, method: str, params: dict) -> None:
        self.send(json.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": params}).encode() + b"\n")

    def answer(self) -> dict:
        """The next line of stdout, as JSON (fails if none comes within ANSWER_WAIT s)."""
        deadline = time.monotonic() + ANSWER_WAIT
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"no answer within {ANSWER_WAIT:.0f} s (got {self.pending!r})")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"procward mcp closed stdout (exit {self.proc.wait(10)})")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> int:
        self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            self.proc.stdout.close()


def assert_error(answer: dict, code: int) -> None:
    assert answer.get("jsonrpc") == "2.0", answer
    assert "id" in answer and answer["id"] is None, answer
    assert answer["error"]["code"] == code, answer
    assert answer["error"]["message"], answer


def test_unparseable_lines_get_parse_errors_and_the_session_goes_on(home: Home) -> None:
    raw = Raw(home)
    try:
        for bad in [b"garbage\n", b"{\n", b"\xff\xfe\x80 not utf-8\n"]:
            raw.send(bad)
            assert_error(raw.answer(), -32700)
        raw.send(b"x" * (MAX_LINE + 1) + b"\n")
        assert_error(raw.answer(), -32600)

        raw.request(1, "initialize", {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"},
        })
        init = raw.answer()
        assert init["id"] == 1 and "result" in init, init
        raw.send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')

        raw.send(b"]]] still garbage\n")
        assert_error(raw.answer(), -32700)
        raw.request(2, "tools/list", {})
        listed = raw.answer()
        assert listed["id"] == 2, listed
        assert {t["name"] for t in listed["result"]["tools"]} == ALL_TOOLS
    finally:
        code = raw.close()
    assert code == 0, f"procward mcp exited {code}"
