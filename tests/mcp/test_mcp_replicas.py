"""MCP and replicas: `start_process` with `instances` and a `readiness` probe runs NAME:0..N-1,
`scale_process` grows and shrinks the set, `reload_process` replaces every replica (new pids,
all ready), and bad values are refused naming the field, with nothing started."""

from __future__ import annotations

import pytest
from mcp_support import eventually, fails, ok, stdio_session

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

# Listens on the port the replicas share (SO_REUSEPORT), as a reloadable server does.
SERVER = (
    "import os, socket, sys, time\n"
    "s = socket.socket()\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)\n"
    "s.bind(('127.0.0.1', int(sys.argv[1])))\n"
    "s.listen()\n"
    "print('replica', os.environ['PROCWARD_INSTANCE'], flush=True)\n"
    "time.sleep(600)\n"
)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def replicas(session, base: str) -> dict[str, dict]:
    data, _ = await ok(session, "list_processes", {})
    return {p["name"]: p for p in data["processes"] if p["name"].startswith(base + ":")}


async def test_replicas_scale_and_reload(home):
    port = free_port()
    command = ["python3", "-c", SERVER, str(port)]
    async with stdio_session(home) as session:
        await ok(
            session,
            "start_process",
            {"name": "web", "command": command, "instances": 2, "readiness": f"tcp:127.0.0.1:{port}"},
        )

        async def all_ready(n: int):
            found = await replicas(session, "web")
            ready = [p for p in found.values() if p["state"] == "running" and p.get("ready")]
            return found if len(found) == n and len(ready) == n else None

        first = await eventually(lambda: all_ready(2), timeout=20)
        assert set(first) == {"web:0", "web:1"}
        logs, _ = await ok(session, "get_process_logs", {"name": "web:1"})
        assert any("replica 1" in line["text"] for line in logs["lines"]), logs

        scaled, text = await ok(session, "scale_process", {"name": "web", "instances": 3})
        assert [p["name"] for p in scaled["processes"]] == ["web:0", "web:1", "web:2"], text
        await eventually(lambda: all_ready(3), timeout=20)

        before = {name: p["pid"] for name, p in (await replicas(session, "web")).items()}
        reloaded, _ = await ok(session, "reload_process", {"name": "web"})
        assert [p["name"] for p in reloaded["processes"]] == ["web:0", "web:1", "web:2"]
        after = await all_ready(3)
        assert after, "every replica is ready again after the reload"
        assert all(after[name]["pid"] != pid for name, pid in before.items()), (before, after)

        shrunk, _ = await ok(session, "scale_process", {"name": "web", "instances": 1})
        assert [p["name"] for p in shrunk["processes"]] == ["web:0"]
        assert set(await replicas(session, "web")) == {"web:0"}
        stopped, _ = await ok(session, "stop_process", {"name": "web"})
        assert stopped["state"] == "stopped"


async def test_bad_values_are_refused_and_nothing_starts(home):
    async with stdio_session(home) as session:
        cases = [
            ({"instances": 0}, "instances"),
            ({"instances": 300}, "instances"),
            ({"success_exit_codes": [256]}, "success_exit_codes"),
            ({"readiness": "localhost:80"}, "readiness"),
            ({"health": "tcp:host"}, "health"),
        ]
        for extra, field in cases:
            text = await fails(session, "start_process", {"name": "bad", "command": ["sleep", "600"], **extra})
            assert field in text, (extra, text)
        text = await fails(session, "start_process", {"name": "web:0", "command": ["sleep", "600"]})
        assert "reserved" in text, text
        text = await fails(session, "reload_process", {"name": "nothing"})
        assert "nothing" in text, text
        data, _ = await ok(session, "list_processes", {})
        assert data["processes"] == [], data
