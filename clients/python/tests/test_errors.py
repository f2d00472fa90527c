"""Bad input gets the documented status code, and changes nothing."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Awaitable, Callable

import grpc
import pytest

import procward
from conftest import Daemon

NEVER_A_PID = 4_194_304 - 1  # highest pid Linux allows; used only when above pid_max


def reaped_pid() -> int:
    """A pid that just existed and is gone (exited and reaped)."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def unknown_pids() -> list[int]:
    pids = [reaped_pid()]
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    if NEVER_A_PID >= pid_max:
        pids.append(NEVER_A_PID)
    return pids


async def expect(code: grpc.StatusCode | tuple, call: Callable[[], Awaitable[object]]) -> grpc.aio.AioRpcError:
    codes = code if isinstance(code, tuple) else (code,)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call()
    assert e.value.code() in codes, f"expected {codes}, got {e.value.code()}: {e.value.details()}"
    assert e.value.details(), "error without a message"
    return e.value


async def snapshot(daemon: Daemon) -> list[tuple]:
    return sorted((m.name, m.pid, m.state) for m in await daemon.managed())


async def test_unknown_pid_not_found(daemon: Daemon, pw: procward.ProcessManagerServiceClient) -> None:
    before = await snapshot(daemon)
    for pid in unknown_pids():
        await expect(grpc.StatusCode.NOT_FOUND, lambda pid=pid: pw.get_process_info(pid))
        await expect(grpc.StatusCode.NOT_FOUND, lambda pid=pid: pw.kill_process(pid))
        await expect(grpc.StatusCode.NOT_FOUND, lambda pid=pid: pw.get_logs(pid))
    assert await snapshot(daemon) == before


async def test_pid_zero_and_one(daemon: Daemon, pw: procward.ProcessManagerServiceClient) -> None:
    before = await snapshot(daemon)
    await expect(grpc.StatusCode.INVALID_ARGUMENT, lambda: pw.get_process_info(0))
    await expect(grpc.StatusCode.INVALID_ARGUMENT, lambda: pw.kill_process(0))
    await expect(grpc.StatusCode.INVALID_ARGUMENT, lambda: pw.kill_process(1))
    await expect(grpc.StatusCode.INVALID_ARGUMENT, lambda: pw.kill_process(1, force=True))
    assert (await pw.get_process_info(1)).pid == 1  # pid 1 can be looked at, not killed
    await expect(grpc.StatusCode.INVALID_ARGUMENT, lambda: pw.kill_process(daemon.proc.pid, force=True))
    assert daemon.proc.poll() is None, "the daemon killed itself"
    assert await snapshot(daemon) == before


async def test_bad_monitor_interval(pw: procward.ProcessManagerServiceClient) -> None:
    for interval in (0, -1, -0.5, 0.01, 3601):

        async def consume(interval: float = interval) -> None:
            async for _ in pw.monitor_system(interval_seconds=interval):
                pytest.fail(f"a sample at interval {interval}")

        await expect(grpc.StatusCode.INVALID_ARGUMENT, consume)


async def test_get_logs_bad_max_lines_and_unmanaged(daemon: Daemon, pw: procward.ProcessManagerServiceClient) -> None:
    info = await pw.start_process("sleep", ["300"])
    daemon.track(info.pid)
    before = await snapshot(daemon)
    await expect(grpc.StatusCode.INVALID_ARGUMENT, lambda: pw.get_logs(info.pid, max_lines=10_000_000))
    await expect(grpc.StatusCode.INVALID_ARGUMENT, lambda: pw.get_logs(info.pid, max_lines=100_001))
    assert await pw.get_logs(info.pid, max_lines=100_000) == []
    await expect(grpc.StatusCode.INVALID_ARGUMENT, lambda: pw.get_logs(info.pid, max_lines=0))
    # a real process the daemon did not start
    await expect(grpc.StatusCode.NOT_FOUND, lambda: pw.get_logs(os.getpid()))
    await expect(grpc.StatusCode.NOT_FOUND, lambda: pw.get_logs(daemon.proc.pid))
    assert await snapshot(daemon) == before


async def test_bad_start_process_changes_nothing(
    daemon: Daemon, pw: procward.ProcessManagerServiceClient, tmp_path: Path
) -> None:
    marker = f"{uuid.uuid4().int % 10**6}.123"  # a unique sleep length to look for
    before = await snapshot(daemon)
    await expect(grpc.StatusCode.INVALID_ARGUMENT, lambda: pw.start_process(""))
    await expect(grpc.StatusCode.INVALID_ARGUMENT, lambda: pw.start_process("", ["sleep", marker]))
    await expect(
        (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION),
        lambda: pw.start_process("sleep", [marker], working_dir=str(tmp_path / "does-not-exist")),
    )
    await expect(
        (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION),
        lambda: pw.start_process("sleep", [marker], working_dir=str(Path(__file__))),  # a file, not a folder
    )
    assert await snapshot(daemon) == before
    assert await pw.list_processes(name=marker) == []


async def test_kill_wrong_start_time_refused(daemon: Daemon, pw: procward.ProcessManagerServiceClient) -> None:
    info = await pw.start_process("sleep", ["300"])
    daemon.track(info.pid)
    real = await pw.get_process_info(info.pid)
    try:
        result = await pw.kill_process(info.pid, expected_start_time=real.start_time - 1000)
    except grpc.aio.AioRpcError as e:
        assert e.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND), e
    else:
        assert not result.success, result
    assert (await pw.get_process_info(info.pid)).pid == info.pid  # untouched
    assert (await pw.kill_process(info.pid, expected_start_time=real.start_time)).success
