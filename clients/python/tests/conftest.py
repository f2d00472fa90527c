"""A real procward daemon per test, in its own temporary PROCWARD_HOME.

The binary is ``$PROCWARD_BIN``, else ``target/debug/procward`` of this repository
(``cargo build -p procward``). Each test gets its own daemon listening on
127.0.0.1:<ephemeral>; teardown pauses the job queue and cancels every job that has
not ended (a job's process outlives a stopped daemon, as managed processes do), deletes
every managed process (which stops it), stops the daemon, and kills by pid any process
the test registered with ``daemon.track`` (running jobs' pids are tracked too).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, List, Optional, TypeVar

import grpc
import grpc.aio
import pytest

import procward
from procward.v1 import queue_pb2 as qu
from procward.v1 import queue_pb2_grpc as qu_grpc
from procward.v1 import supervisor_pb2 as sv
from procward.v1 import supervisor_pb2_grpc as sv_grpc

REPO = Path(__file__).resolve().parents[3]
START_TIMEOUT = 30.0
T = TypeVar("T")


def process_spec(name: str, command: List[str], **fields: Any) -> sv.ProcessSpec:
    """A Supervisor ProcessSpec with the CLI's defaults (proto3 has none of its own), plus
    `fields`."""
    defaults: dict = dict(
        restart=sv.RESTART_POLICY_NEVER,
        backoff_base_ms=1000,
        backoff_max_ms=60000,
        stable_after_ms=10000,
        stop_signal="TERM",
        stop_timeout_ms=5000,
        autostart=True,
        log_max_bytes=10 << 20,
        log_max_files=5,
    )
    return sv.ProcessSpec(name=name, command=command, **{**defaults, **fields})


def procward_bin() -> Path:
    path = Path(os.environ.get("PROCWARD_BIN") or REPO / "target" / "debug" / "procward")
    if not path.is_file():
        pytest.fail(f"procward binary not found at {path}: run `cargo build -p procward` or set PROCWARD_BIN")
    return path


def run_in_thread(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on a fresh event loop in its own thread (safe from any context)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(fn())
        except BaseException as e:  # noqa: BLE001 - handed back to the caller
            box["error"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Daemon:
    """A running daemon: its home, address, token and the pids a test started."""

    home: Path
    proc: subprocess.Popen
    address: str
    token: str
    bin: Path
    stderr_path: Path
    tracked: List[int] = field(default_factory=list)

    @property
    def env(self) -> dict:
        return {**os.environ, "PROCWARD_HOME": str(self.home)}

    def channel(self, token: Optional[str] = "__own__") -> grpc.aio.Channel:
        """A channel with the daemon's token, another token, or none (``token=None``)."""
        return procward.connect(self.address, token=self.token if token == "__own__" else token)

    def track(self, pid: int) -> int:
        """Remember a pid this test started, so teardown kills it if still alive."""
        self.tracked.append(pid)
        return pid

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    async def managed(self) -> List[sv.ManagedProcess]:
        """Every managed process, through Supervisor.List."""
        async with self.channel() as ch:
            return list((await sv_grpc.SupervisorStub(ch).List(sv.ListRequest(), timeout=10)).processes)


def _start_daemon(home: Path) -> Daemon:
    binary = procward_bin()
    home.mkdir(mode=0o700)
    env = {**os.environ, "PROCWARD_HOME": str(home)}
    stdout = open(home.parent / "daemon.stdout", "wb")
    stderr_path = home.parent / "daemon.stderr"
    stderr = open(stderr_path, "wb")
    proc = subprocess.Popen(
        [str(binary), "daemon", "--listen", "127.0.0.1:0"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
    )
    stdout.close()
    stderr.close()
    deadline = time.monotonic() + START_TIMEOUT
    tcp_json, token_file = home / "tcp.json", home / "token"
    while True:
        if proc.poll() is not None:
            err = stderr_path.read_text(errors="replace")
            pytest.fail(f"procward daemon exited with {proc.returncode} before listening:\n{err}")
        if tcp_json.exists() and token_file.exists():
            try:
                address, _tls, token = procward.read_home(home)
                if token:
                    return Daemon(home, proc, address, token, binary, stderr_path)
            except (ValueError, OSError):
                pass  # still being written
        if time.monotonic() > deadline:
            _stop_process(proc)
            err = stderr_path.read_text(errors="replace")
            pytest.fail(f"procward daemon wrote no {tcp_json} within {START_TIMEOUT:.0f} s; stderr:\n{err}")
        time.sleep(0.05)


def _stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


QUEUE_NOT_ENDED = (qu.JOB_STATE_QUEUED, qu.JOB_STATE_DELAYED, qu.JOB_STATE_RUNNING)


def _end_jobs(d: Daemon) -> None:
    """Pause every group (so nothing starts meanwhile), then cancel every job that has
    not ended; a running one's pid is tracked first, in case its cancel fails."""

    async def cancel_all() -> None:
        async with d.channel() as ch:
            stub = qu_grpc.QueueStub(ch)
            await stub.Pause(qu.GroupRequest(), timeout=10)
            listing = await stub.List(qu.ListJobsRequest(states=QUEUE_NOT_ENDED), timeout=10)
            for job in listing.jobs:
                if job.state == qu.JOB_STATE_RUNNING and job.attempts and job.attempts[-1].pid:
                    d.track(job.attempts[-1].pid)
                try:
                    await stub.Cancel(qu.JobRequest(id=job.id), timeout=30)
                except grpc.aio.AioRpcError as e:
                    if e.code() != grpc.StatusCode.FAILED_PRECONDITION:  # it ended meanwhile
                        raise

    try:
        run_in_thread(cancel_all)
    except Exception as e:  # noqa: BLE001 - still stop everything below
        print(f"teardown: cancelling queued jobs failed: {e}")


def _teardown(d: Daemon) -> None:
    if d.proc.poll() is None:
        _end_jobs(d)

        async def delete_all() -> None:
            async with d.channel() as ch:
                stub = sv_grpc.SupervisorStub(ch)
                listing = await stub.List(sv.ListRequest(), timeout=10)
                for p in listing.processes:
                    if p.pid:
                        d.track(p.pid)
                    await stub.Delete(sv.NameRequest(name=p.name), timeout=30)

        try:
            run_in_thread(delete_all)
        except Exception as e:  # noqa: BLE001 - still stop everything below
            print(f"teardown: deleting managed processes failed: {e}")
        try:
            subprocess.run(
                [str(d.bin), "daemon", "stop"],
                env=d.env,
                timeout=20,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            pass
    _stop_process(d.proc)
    for pid in d.tracked:
        if pid_alive(pid):
            try:
                if os.getpgid(pid) == pid:
                    os.killpg(pid, signal.SIGKILL)
                else:
                    os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = _start_daemon(tmp_path / "home")
    try:
        yield d
    finally:
        _teardown(d)


@pytest.fixture
async def pw(daemon: Daemon) -> AsyncIterator[procward.ProcessManagerServiceClient]:
    """The client, through the channel ``connect_from_home`` opens."""
    async with procward.ProcessManagerServiceClient(procward.connect_from_home(daemon.home), timeout=30) as client:
        yield client
