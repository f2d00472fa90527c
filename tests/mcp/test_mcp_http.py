"""The daemon's `/mcp` (streamable HTTP) on its TCP listener: the same tools behind the
bearer token, and the `[mcp]` config section applied to it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import httpx2
import pytest
from mcp.shared.exceptions import MCPError
from mcp_support import ALL_TOOLS, READ_TOOLS, fails, leaves, ok, printer, http_session

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

INITIALIZE = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "plain-post", "version": "0"}},
}


def post(url: str, headers: dict[str, str]) -> tuple[int, str]:
    """A plain POST of an initialize request, as any HTTP client would send it."""
    request = urllib.request.Request(
        url, data=json.dumps(INITIALIZE).encode(), method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(2000).decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read(2000).decode(errors="replace")


async def test_tools_over_http_with_the_token(home, http_daemon):
    url, token = http_daemon
    async with http_session(url, token) as session:
        assert session.initialize_result.server_info.name == "procward"
        tools = (await session.list_tools()).tools
        assert {t.name for t in tools} == ALL_TOOLS

        data, text = await ok(session, "list_system_processes")
        assert 0 < len(data["processes"]) <= 25
        assert home.daemon.pid in [p["pid"] for p in (await ok(
            session, "list_system_processes", {"name": "procward", "limit": 500}))[0]["processes"]]

        data, text = await ok(session, "get_system_info")
        assert data["memory_total"] > 0 and data["hostname"] in text

        await ok(session, "start_process", {"name": "web-made", "command": printer(2, "via-http")})
        status, _ = await ok(session, "get_process_status", {"name": "web-made"})
        assert status["state"] == "running"
        text = await fails(session, "kill_process", {"pid": -1})
        assert "Nothing was signalled" in text


async def test_a_managed_process_started_over_http_is_seen_by_the_cli(home, http_daemon):
    url, token = http_daemon
    async with http_session(url, token) as session:
        await ok(session, "start_process", {"name": "shared", "command": ["sleep", "600"]})
    listed = json.loads(home.cli("list", "--json", check=True).stdout)
    assert [p["spec"]["name"] for p in listed] == ["shared"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic abc"}],
                         ids=["no-token", "wrong-token", "basic-auth"])
def test_plain_post_without_the_right_token_is_401(http_daemon, headers):
    url, _ = http_daemon
    status, body = post(url, headers)
    assert status == 401, body


def test_plain_post_with_the_token_is_accepted(http_daemon):
    url, token = http_daemon
    status, body = post(url, {"Authorization": f"Bearer {token}"})
    assert status == 200, body
    assert '"serverInfo"' in body and "procward" in body


@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["no-token", "wrong-token"])
async def test_sdk_client_cannot_connect_without_the_right_token(http_daemon, token):
    url, _ = http_daemon
    with pytest.raises(BaseException) as error:
        async with http_session(url, token) as session:
            await session.list_tools()
    found = leaves(error.value)
    assert any(isinstance(e, (MCPError, httpx2.HTTPStatusError)) for e in found), found


async def test_config_read_only_applies_to_http(make_home):
    home = make_home("[mcp]\nread_only = true\n")
    url, token = home.start_tcp_daemon()
    async with http_session(url, token) as session:
        assert {t.name for t in (await session.list_tools()).tools} == READ_TOOLS
        text = await fails(session, "start_process", {"name": "x", "command": ["sleep", "60"]})
        assert "read-only" in text
        await ok(session, "list_processes")


async def test_config_allow_kill_managed_applies_to_http(children, make_home):
    home = make_home('[mcp]\nallow_kill = "managed"\n')
    url, token = home.start_tcp_daemon()
    outsider = children.sleeper()
    async with http_session(url, token) as session:
        text = await fails(session, "kill_process", {"pid": outsider.pid})
        assert "not a process procward manages" in text
    assert outsider.poll() is None
