"""procward's socket.io endpoint driven by PyPI python-socketio (asyncio client)."""

from __future__ import annotations

import asyncio
import base64

import pytest
import socketio

pytestmark = pytest.mark.asyncio


async def connect(daemon, token):
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(daemon.url, auth={"token": token} if token is not None else None,
                         transports=["websocket"], wait_timeout=5)
    return client


class Session:
    """Messages of one session, gathered as they come.

    Every session message is kept, and those of `id` picked when read: the server sends a
    session's first messages right after the ack that names it, and python-socketio may
    hand them to the handler before the test has read the id out of that ack.
    """

    def __init__(self, client):
        self.id = None
        self.seen = []
        self.changed = asyncio.Event()
        client.on("message", self.on_message)

    @property
    def messages(self):
        return [m for m in self.seen if m.get("sessionId") == self.id]

    async def on_message(self, message):
        if message.get("sessionId") is not None:
            self.seen.append(message)
            self.changed.set()

    def text(self, stream=None):
        parts = []
        for m in self.messages:
            if m["type"] != "output" or (stream and m["data"]["stream"] != stream):
                continue
            data = m["data"]
            parts.append(base64.b64decode(data["content"]) if data["encoding"] == "base64" else data["content"].encode())
        return b"".join(parts)

    async def wait_for(self, predicate, timeout=10.0):
        async def loop():
            while not predicate(self):
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(loop(), timeout)

    def ended(self):
        return any(m["type"] == "status" and m["data"]["state"] != "running" for m in self.messages)


async def test_auth_refused_then_accepted(daemon):
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(daemon, "wrong")
    client = await connect(daemon, daemon.token)
    ack = await client.call("system:info", {})
    assert ack["ok"] and ack["info"]["memory_total"] > 0
    await client.disconnect()


async def test_auth_event_with_a_plain_string_token(daemon):
    """The seed's form: socket.emit('auth', token), the token as a plain string."""
    client = await connect(daemon, None)
    refused = await client.call("session:list", {})
    assert not refused["ok"] and "authenticate first" in refused["error"]
    ack = await client.call("auth", daemon.token)
    assert ack == {"ok": True}
    assert (await client.call("session:list", {}))["ok"]
    await client.disconnect()

    # Without waiting for the ack: the next event is already authenticated.
    client = await connect(daemon, None)
    await client.emit("auth", daemon.token)
    answer = await client.call("system:info", {})
    assert answer["ok"], answer
    await client.disconnect()

    # {token} still works; a wrong plain string is refused and disconnects.
    client = await connect(daemon, None)
    assert (await client.call("auth", {"token": daemon.token}))["ok"]
    await client.disconnect()
    client = await connect(daemon, None)
    gone = asyncio.Event()
    client.on("disconnect", lambda *args: gone.set())
    ack = await client.call("auth", "wrong")
    assert not ack["ok"] and "invalid token" in ack["error"]
    await asyncio.wait_for(gone.wait(), 10)


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_foreign_origin_and_host_are_refused(daemon, transport):
    for headers in ({"Origin": "http://evil.example"}, {"Host": "evil.example:" + daemon.url.rsplit(":", 1)[1]}):
        if transport == "websocket" and "Host" in headers:
            continue  # the WebSocket library sets Host itself
        client = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(daemon.url, auth={"token": daemon.token}, headers=headers,
                                 transports=[transport], wait_timeout=5)
    # The dashboard's own origin (and loopback ones) are fine.
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(daemon.url, auth={"token": daemon.token}, headers={"Origin": daemon.url},
                         transports=[transport], wait_timeout=5)
    assert (await client.call("system:info", {}))["ok"]
    await client.disconnect()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_a_connected_client_outlives_the_idle_timeout(quick_idle_daemon, transport):
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(quick_idle_daemon.url, auth={"token": quick_idle_daemon.token},
                         transports=[transport], wait_timeout=5)
    gone = asyncio.Event()
    client.on("disconnect", lambda *args: gone.set())
    await asyncio.sleep(3)  # three idle timeouts with nothing sent
    assert not gone.is_set()
    assert (await client.call("system:info", {}))["ok"]
    await client.disconnect()


async def test_one_client_follows_at_most_32_live_sessions(daemon):
    client = await connect(daemon, daemon.token)
    ids = []
    for _ in range(32):
        ack = await client.call("session:create", {"command": "sleep", "args": ["60"]})
        assert ack["ok"], ack
        ids.append(ack["sessionId"])
    refused = await client.call("session:create", {"command": "sleep", "args": ["60"]})
    assert not refused["ok"] and "32 live sessions" in refused["error"], refused
    other = await connect(daemon, daemon.token)
    listed = await other.call("session:list", {})
    assert len(listed["sessions"]) == 32, "the refused create started nothing"
    # Another client has its own allowance; a finished session frees a place.
    assert (await other.call("session:join", {"sessionId": ids[0]}))["ok"]
    session = Session(client)
    session.id = ids[0]
    assert (await client.call("session:kill", {"sessionId": ids[0]}))["ok"]
    await session.wait_for(Session.ended)
    ack = await client.call("session:create", {"command": "true"})
    assert ack["ok"], ack
    await other.disconnect()
    await client.disconnect()


async def test_a_client_that_never_authenticates_is_disconnected(quick_auth_daemon):
    idle = await connect(quick_auth_daemon, None)
    errors = []
    idle.on("message", lambda m: errors.append(m["data"]["message"]) if m["type"] == "error" else None)
    gone = asyncio.Event()
    idle.on("disconnect", lambda *args: gone.set())
    authed = await connect(quick_auth_daemon, quick_auth_daemon.token)
    late = await connect(quick_auth_daemon, None)
    assert (await late.call("auth", quick_auth_daemon.token))["ok"]
    await asyncio.wait_for(gone.wait(), 15)
    assert any("no auth event" in e for e in errors), errors
    # Those that authenticated (at connect or by the event) stay.
    await asyncio.sleep(1.5)
    for client in (authed, late):
        assert (await client.call("system:info", {}))["ok"]
        await client.disconnect()


async def test_output_in_order_binary_and_exit(daemon):
    client = await connect(daemon, daemon.token)
    session = Session(client)
    ack = await client.call("session:create", {"command": "sh", "args": ["-c", "seq 1 3000; printf '\\377'; exit 3"]})
    assert ack["ok"], ack
    session.id = ack["sessionId"]
    await session.wait_for(Session.ended)
    expected = "".join(f"{n}\n" for n in range(1, 3001)).encode() + b"\xff"
    assert session.text("stdout") == expected
    seqs = [m["data"]["seq"] for m in session.messages if m["type"] == "output"]
    assert seqs == sorted(seqs)
    assert session.messages[-1]["data"] == {"state": "failed", "exitCode": 3}
    await client.disconnect()


async def test_terminal_resize_and_two_watchers(daemon):
    first = await connect(daemon, daemon.token)
    second = await connect(daemon, daemon.token)
    a, b = Session(first), Session(second)
    ack = await first.call("session:create", {"command": "sh", "interactive": True, "cols": 80, "rows": 24})
    a.id = b.id = ack["sessionId"]
    assert (await second.call("session:join", {"sessionId": a.id}))["ok"]
    assert (await first.call("terminal:resize", {"sessionId": a.id, "cols": 132, "rows": 43}))["ok"]
    assert (await first.call("terminal:input", {"sessionId": a.id, "data": "stty size\r"}))["ok"]
    for watcher in (a, b):
        await watcher.wait_for(lambda s: b"43 132" in s.text())
    bad = await first.call("terminal:resize", {"sessionId": a.id, "cols": 0, "rows": 10})
    assert not bad["ok"]
    await first.call("terminal:input", {"sessionId": a.id, "data": "exit\r"})
    await a.wait_for(Session.ended)
    await first.disconnect()
    await second.disconnect()


async def test_replay_after_reconnect(daemon):
    client = await connect(daemon, daemon.token)
    ack = await client.call("session:create", {
        "command": "sh", "args": ["-c", "echo one; echo two; read x; echo \"three $x\""], "detached": True})
    session_id = ack["sessionId"]
    await asyncio.sleep(0.3)
    await client.disconnect()

    again = await connect(daemon, daemon.token)
    session = Session(again)
    session.id = session_id
    assert (await again.call("session:join", {"sessionId": session_id}))["ok"]
    await session.wait_for(lambda s: s.text() == b"one\ntwo\n")
    await again.call("terminal:input", {"sessionId": session_id, "data": "!\n"})
    await session.wait_for(Session.ended)
    assert session.text() == b"one\ntwo\nthree !\n"
    await again.disconnect()


async def test_last_watcher_leaving_ends_the_session(daemon):
    client = await connect(daemon, daemon.token)
    ack = await client.call("session:create", {"command": "sleep", "args": ["30"]}, timeout=10)
    pid = ack["pid"]
    await asyncio.wait_for(client.disconnect(), 10)
    other = await asyncio.wait_for(connect(daemon, daemon.token), 10)
    for _ in range(100):
        sessions = (await other.call("session:list", {}, timeout=10))["sessions"]
        if sessions[0]["status"] != "running":
            break
        await asyncio.sleep(0.05)
    assert sessions[0]["status"] == "failed" and sessions[0]["pid"] == pid
    await other.disconnect()
