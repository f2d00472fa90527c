"""Helpers shared by the MCP tests: a procward home, MCP sessions over stdio and HTTP,
child processes the tests start, and bounded waits.

Every process a helper starts is recorded so the fixtures in conftest.py can end it by
pid; nothing here signals a process it did not start.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

REPO = Path(__file__).resolve().parents[2]

# What the server must expose (see crates/mcp/src/tools/mod.rs).
READ_TOOLS = {
    "audit_log",
    "list_processes",
    "get_process_status",
    "get_process_logs",
    "list_system_processes",
    "get_process_info",
    "get_system_info",
    "list_ports",
    "queue_list",
    "queue_status",
    "queue_logs",
}
ACTION_TOOLS = {
    "start_process", "stop_process", "restart_process", "reload_process", "scale_process", "kill_process",
    "queue_add", "queue_cancel", "queue_retry",
}
DESTRUCTIVE_TOOLS = {
    "stop_process",
    "restart_process",
    "reload_process",
    "scale_process",
    "kill_process",
    "queue_cancel",
}
ALL_TOOLS = READ_TOOLS | ACTION_TOOLS

# A child that listens on a free loopback TCP port, prints it, then waits.
LISTENER = (
    "import socket, time\n"
    "s = socket.socket()\n"
    "s.bind(('127.0.0.1', 0))\n"
    "s.listen()\n"
    "print(s.getsockname()[1], flush=True)\n"
    "time.sleep(600)\n"
)


def procward_bin() -> str:
    path = os.environ.get("PROCWARD_BIN") or str(REPO / "target" / "debug" / "procward")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"procward binary not found at {path}: run `cargo build -p procward` or set PROCWARD_BIN")
    return path


def alive(pid: int) -> bool:
    """Whether pid exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def processes_of_home(home: Path) -> list[int]:
    """Live processes whose environment names this PROCWARD_HOME (its daemon, `procward
    mcp`, and what the daemon started)."""
    needle = f"PROCWARD_HOME={home}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            env = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0") and alive(int(entry)):
            found.append(int(entry))
    return found


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


async def eventually(check: Callable[[], Any], timeout: float = 10.0, every: float = 0.1) -> Any:
    """Awaits `check()` (sync or async) until it returns something truthy, at most `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = check()
        if hasattr(last, "__await__"):
            last = await last
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s (last value: {last!r})")
        await anyio.sleep(every)


class Children:
    """Processes a test starts itself; ended by pid at teardown."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def spawn(self, argv: list[str], **kwargs: Any) -> subprocess.Popen:
        proc = subprocess.Popen(argv, **kwargs)
        self.procs.append(proc)
        return proc

    def sleeper(self) -> subprocess.Popen:
        return self.spawn(["sleep", "600"])

    def listener(self) -> tuple[subprocess.Popen, int]:
        proc = self.spawn([sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True)
        port = int(proc.stdout.readline())
        return proc, port

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            if proc.stdout:
                proc.stdout.close()


class Home:
    """A private PROCWARD_HOME (short path: the daemon's unix socket lives in it)."""

    def __init__(self, config: str = "") -> None:
        self.bin = procward_bin()
        self.path = Path(tempfile.mkdtemp(prefix="pw-mcp-"))
        self.config = self.path / "config.toml"
        self.config.write_text(config)
        self.env = {"PROCWARD_HOME": str(self.path), "PROCWARD_CONFIG": str(self.config)}
        self.daemon: subprocess.Popen | None = None

    def cli(self, *args: str, check: bool = False, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.bin, *args], env={**os.environ, **self.env}, capture_output=True, text=True, stdin=subprocess.DEVNULL,
            timeout=timeout, check=check,
        )

    def daemon_pid(self) -> int | None:
        out = self.cli("daemon", "status", "--json")
        try:
            status = json.loads(out.stdout)
        except json.JSONDecodeError:
            return None
        return status.get("pid") if status.get("running") else None

    def start_tcp_daemon(self, timeout: float = 15.0) -> tuple[str, str]:
        """Runs `procward daemon --listen 127.0.0.1:0` in the foreground; returns (url, token)."""
        log = open(self.path / "daemon.stderr", "wb")
        self.daemon = subprocess.Popen(
            [self.bin, "daemon", "--listen", "127.0.0.1:0"], env={**os.environ, **self.env},
            stdout=subprocess.DEVNULL, stderr=log,
        )
        log.close()
        tcp = self.path / "tcp.json"
        deadline = time.monotonic() + timeout
        while not (tcp.exists() and tcp.stat().st_size):
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"daemon did not open its TCP listener: {(self.path / 'daemon.stderr').read_text()}")
            time.sleep(0.05)
        address = json.loads(tcp.read_text())["address"]
        token = (self.path / "token").read_text().strip()
        return f"http://{address}/mcp", token

    def cleanup(self) -> None:
        """Cancels the unfinished jobs, deletes the managed processes, stops the daemon,
        removes the home. Each step runs even if an earlier one failed."""
        try:
            try:
                self._cancel_jobs()
            finally:
                self._delete_managed()
        finally:
            try:
                self._stop_daemon()
            finally:
                shutil.rmtree(self.path, ignore_errors=True)

    def _cancel_jobs(self) -> None:
        """Cancels the queue's jobs that have not ended (a running job's process group
        outlives the daemon, which re-adopts it at its next start)."""
        if self.daemon_pid() is None:
            return
        listed = self.cli("queue", "list", "--json", "--state", "queued", "--state", "delayed", "--state", "running")
        jobs = json.loads(listed.stdout or "[]") if listed.returncode == 0 else []
        ids = [str(job["id"]) for job in jobs]
        pids = [a["pid"] for job in jobs for a in job.get("attempts", []) if a.get("pid") and a.get("ended_ms") is None]
        if ids:
            self.cli("queue", "cancel", *ids)
        for child in pids:  # started by this test through the daemon
            if not wait_gone(child, 10):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)

    def _delete_managed(self) -> None:
        if self.daemon_pid() is None:
            return
        listed = self.cli("list", "--json")
        managed = json.loads(listed.stdout or "[]") if listed.returncode == 0 else []
        names = [p["spec"]["name"] for p in managed]
        pids = [p["pid"] for p in managed if p.get("pid")]
        if names:
            self.cli("delete", *names)
        for child in pids:  # started by this test through the daemon
            if not wait_gone(child, 10):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)

    def _stop_daemon(self) -> None:
        if self.daemon is not None:  # ours, in the foreground
            if self.daemon.poll() is None:
                self.daemon.terminate()
            try:
                self.daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait(timeout=10)
            return
        pid = self.daemon_pid()  # detached by `procward mcp`
        if pid is not None:
            self.cli("daemon", "stop")
            if not wait_gone(pid, 15):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def leaves(error: BaseException) -> list[BaseException]:
    """The non-group exceptions inside (nested) exception groups."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for sub in error.exceptions for leaf in leaves(sub)]
    return [error]


@contextlib.asynccontextmanager
async def unwrapped() -> AsyncIterator[None]:
    """Re-raises a lone exception out of the SDK's task groups, so failures read plainly."""
    try:
        yield
    except BaseExceptionGroup as group:
        found = leaves(group)
        if len(found) == 1:
            raise found[0] from None
        raise


@contextlib.asynccontextmanager
async def stdio_session(home: Home, *args: str, **session_kwargs: Any) -> AsyncIterator[ClientSession]:
    """An initialized MCP session with `procward mcp ARGS` over stdio."""
    params = StdioServerParameters(command=home.bin, args=["mcp", *args], env=home.env)
    async with unwrapped(), stdio_client(params) as (read, write):
        async with ClientSession(read, write, **session_kwargs) as session:
            with anyio.fail_after(20):
                await session.initialize()
            yield session


@contextlib.asynccontextmanager
async def http_session(url: str, token: str | None, **session_kwargs: Any) -> AsyncIterator[ClientSession]:
    """An initialized MCP session over streamable HTTP, with `Authorization: Bearer token`."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with unwrapped(), create_mcp_http_client(headers=headers) as client:
        async with streamable_http_client(url, http_client=client) as (read, write):
            async with ClientSession(read, write, **session_kwargs) as session:
                with anyio.fail_after(20):
                    await session.initialize()
                yield session


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


async def ok(session: ClientSession, tool: str, arguments: dict | None = None) -> tuple[dict, str]:
    """Calls a tool that must succeed; returns (structured content, text)."""
    with anyio.fail_after(30):
        result = await session.call_tool(tool, arguments or {})
    text = text_of(result)
    assert not result.is_error, f"{tool}({arguments}) failed: {text}"
    assert result.structured_content is not None, f"{tool} returned no structured content"
    assert text.strip(), f"{tool} returned no text"
    return result.structured_content, text


async def fails(session: ClientSession, tool: str, arguments: dict | None = None) -> str:
    """Calls a tool that must fail as a tool result (isError), not a protocol error."""
    with anyio.fail_after(30):
        result = await session.call_tool(tool, arguments or {})
    text = text_of(result)
    assert result.is_error, f"{tool}({str(arguments)[:200]}) should have failed, got: {text[:300]}"
    assert text.strip(), f"{tool} failed without a message"
    return text


def printer(lines: int = 3, prefix: str = "line", then_sleep: int = 600) -> list[str]:
    """argv of a Python child that prints `lines` lines, then sleeps."""
    code = (
        "import time\n"
        f"for i in range({lines}): print(f'{prefix} {{i}}', flush=True)\n"
        f"time.sleep({then_sleep})\n"
    )
    return [sys.executable, "-c", code]
