"""Log answers stay small (16 KiB cap, said when cut), and each managed process's log is
a resource that can be listed, read and subscribed to."""

from __future__ import annotations

import sys
import warnings

import anyio
import mcp.types as types
import pytest
from mcp.shared.exceptions import MCPError
from mcp_support import eventually, ok, printer, stdio_session

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

CAP = 16 * 1024
LONG_LINES = [
    sys.executable, "-c",
    "import time\nfor i in range(2000): print(f'{i:05d} ' + 'x' * 200)\nprint('done', flush=True)\ntime.sleep(600)\n",
]


async def wait_for_line(session, name: str, word: str, timeout: float = 15.0) -> None:
    async def seen():
        data, _ = await ok(session, "get_process_logs", {"name": name, "lines": 5})
        return any(word in line["text"] for line in data["lines"])

    await eventually(seen, timeout)


async def test_long_logs_are_cut_to_16_kib_and_say_so(home):
    async with stdio_session(home) as session:
        await ok(session, "start_process", {"name": "chatty", "command": LONG_LINES})
        await wait_for_line(session, "chatty", "done")

        data, text = await ok(session, "get_process_logs", {"name": "chatty", "lines": 500})
        assert data["truncated"] is True
        assert data["lines_read"] == 500
        kept = data["lines"]
        assert 0 < len(kept) < 500
        assert sum(len(line["text"].encode()) + 1 for line in kept) <= CAP
        assert kept[-1]["text"] == "done"  # the newest lines are the ones kept
        assert "cut" in text.splitlines()[0]
        size = len(text.encode())
        assert size <= CAP, f"the text answer is {size} bytes, over 16 KiB (the header is not counted in the cap)"

        data, text = await ok(session, "get_process_logs", {"name": "chatty", "lines": 20})
        assert data["truncated"] is False and len(data["lines"]) == 20
        assert "cut" not in text.splitlines()[0]


async def test_log_resources_list_and_read(home):
    async with stdio_session(home) as session:
        await ok(session, "start_process", {"name": "res-a", "command": printer(3, "alpha")})
        await ok(session, "start_process", {"name": "res-b", "command": printer(3, "beta")})
        await wait_for_line(session, "res-a", "alpha 2")

        listed = (await session.list_resources()).resources
        uris = {str(r.uri) for r in listed}
        assert uris == {"procward://logs/res-a", "procward://logs/res-b"}
        for resource in listed:
            assert resource.mime_type == "text/plain" and resource.description

        read = await session.read_resource("procward://logs/res-a")
        text = read.contents[0].text
        assert str(read.contents[0].uri) == "procward://logs/res-a"
        assert text.splitlines() == ["alpha 0", "alpha 1", "alpha 2"]

        with pytest.raises(MCPError) as error:
            await session.read_resource("procward://logs/nobody")
        assert "nobody" in str(error.value)


async def test_big_log_resource_is_capped(home):
    async with stdio_session(home) as session:
        await ok(session, "start_process", {"name": "big", "command": LONG_LINES})
        await wait_for_line(session, "big", "done")
        text = (await session.read_resource("procward://logs/big")).contents[0].text
        size = len(text.encode())
        assert size <= CAP, f"the resource text is {size} bytes, over 16 KiB"
        assert text.splitlines()[-1] == "done"
        assert "cut" in text.splitlines()[0]


async def test_subscribed_log_notifies_when_it_grows(home):
    trigger = home.path / "go"
    code = (
        "import os, time\n"
        "print('before', flush=True)\n"
        f"while not os.path.exists({str(trigger)!r}): time.sleep(0.05)\n"
        "print('after', flush=True)\n"
        "time.sleep(600)\n"
    )
    updates: list[str] = []
    arrived = anyio.Event()

    async def on_message(message) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            updates.append(str(message.params.uri))
            arrived.set()

    uri = "procward://logs/watched"
    async with stdio_session(home, message_handler=on_message) as session:
        await ok(session, "start_process", {"name": "watched", "command": [sys.executable, "-c", code]})
        await wait_for_line(session, "watched", "before")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resources/subscribe is deprecated in the newest protocol
            await session.subscribe_resource(uri)

        await anyio.sleep(1.2)  # more than two polls: no output, no notification
        assert updates == []

        trigger.touch()
        with anyio.fail_after(5):
            await arrived.wait()
        assert updates[0] == uri
        text = (await session.read_resource(uri)).contents[0].text
        assert text.splitlines()[-1] == "after"

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await session.unsubscribe_resource(uri)
