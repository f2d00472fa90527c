"""The client's methods against a real daemon: results, logs, kills and the monitor."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest

import procward
from conftest import Daemon, pid_alive


async def wait_for_line(pw: procward.ProcessManagerServiceClient, pid: int, text: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while True:
        lines = await pw.get_logs(pid, max_lines=200)
        for line in lines:
            if text in line:
                return line
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} in logs of {pid}: {lines}")
        await asyncio.sleep(0.1)


async def test_system_info(pw: procward.ProcessManagerServiceClient) -> None:
    info = await pw.get_system_info()
    assert info.memory_total > 0
    assert 0 < info.memory_used <= info.memory_total
    assert 0 <= info.memory_available <= info.memory_total
    assert 0 <= info.cpu_percent <= 100
    assert 0 < info.memory_percent <= 100
    assert info.disk_total > 0 and 0 <= info.disk_percent <= 100
    assert info.uptime_seconds > 0
    assert abs(info.boot_time + info.uptime_seconds - time.time()) < 120
    assert info.cpu_count == os.cpu_count()


async def test_top5_by_cpu(pw: procward.ProcessManagerServiceClient) -> None:
    top = await pw.list_processes(sort="cpu", limit=5)
    assert isinstance(top, list) and 1 <= len(top) <= 5
    cpus = [p.cpu_percent for p in top]
    assert cpus == sorted(cpus, reverse=True)
    assert all(p.pid > 0 and p.name for p in top)


async def test_list_processes_filters(pw: procward.ProcessManagerServiceClient) -> None:
    everyone = await pw.list_processes()
    me = [p for p in everyone if p.pid == os.getpid()]
    assert me, "the test process itself is missing from list_processes()"
    assert me[0].uid == os.getuid()
    mine = await pw.list_processes(user=str(os.getuid()))
    assert os.getpid() in {p.pid for p in mine}
    assert all(p.uid == os.getuid() for p in mine)
    by_pid = await pw.list_processes(sort="pid")
    assert [p.pid for p in by_pid] == sorted(p.pid for p in by_pid)
    assert len(await pw.list_processes(sort="pid", limit=3)) == 3


async def test_get_process_info_self(pw: procward.ProcessManagerServiceClient) -> None:
    info = await pw.get_process_info(os.getpid())
    assert info.pid == os.getpid()
    assert info.ppid == os.getppid()
    assert info.memory_rss > 0 and info.threads >= 1
    assert "python" in info.name.lower() or "pytest" in info.command


async def test_http_server_logs_and_kill(
    daemon: Daemon, pw: procward.ProcessManagerServiceClient, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>procward</h1>\n")
    info = await pw.start_process(
        sys.executable,
        ["-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(site)],
        env={"PYTHONUNBUFFERED": "1"},
        working_dir=str(tmp_path),
    )
    daemon.track(info.pid)
    assert info.pid > 0 and "http.server" in info.command
    assert info.managed_name
    again = await pw.get_process_info(info.pid)
    assert again.pid == info.pid and again.managed_name == info.managed_name
    assert info.managed_name in {m.name for m in await daemon.managed()}

    serving = await wait_for_line(pw, info.pid, "Serving HTTP")
    port = int(re.search(r"port (\d+)", serving).group(1))
    url = f"http://127.0.0.1:{port}/index.html"
    body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=10).read())
    assert b"procward" in body
    await wait_for_line(pw, info.pid, '"GET /index.html HTTP/1.1" 200')
    lines = await pw.get_log_entries(info.pid, max_lines=100)
    streams = {e.content: e.stream for e in lines}
    # The seed's contract: plain strings, the same lines' text.
    texts = await pw.get_logs(info.pid, max_lines=100)
    assert all(isinstance(t, str) for t in texts) and texts == [e.content for e in lines]
    assert any("Serving HTTP" in c and s == "stdout" for c, s in streams.items())
    assert any("GET /index.html" in c and s == "stderr" for c, s in streams.items())
    assert len(await pw.get_logs(info.pid, max_lines=1)) == 1

    result = await pw.kill_process(info.pid, expected_start_time=again.start_time)
    assert result.success, result
    assert not result.error.message
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await pw.get_process_info(info.pid)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert not pid_alive(info.pid)
    # logs outlive the process ("by its current or an earlier pid")
    assert any("Serving HTTP" in line for line in await pw.get_logs(info.pid))


async def test_kill_with_signal_and_force(daemon: Daemon, pw: procward.ProcessManagerServiceClient) -> None:
    a = await pw.start_process("sleep", ["300"])
    b = await pw.start_process("sleep", ["300"], name="sleeper-b")
    daemon.track(a.pid), daemon.track(b.pid)
    assert b.managed_name == "sleeper-b"
    r = await pw.kill_process(a.pid, signal="SIGINT", timeout_seconds=3)
    assert r.success, r
    r = await pw.kill_process(b.pid, force=True)
    assert r.success, r
    assert not pid_alive(a.pid) and not pid_alive(b.pid)


async def test_start_process_env_and_cwd(
    daemon: Daemon, pw: procward.ProcessManagerServiceClient, tmp_path: Path
) -> None:
    info = await pw.start_process(
        "sh",
        ["-c", 'echo "cwd=$(pwd) v=$PW_TEST_VAR"; echo oops >&2; sleep 300'],
        env={"PW_TEST_VAR": "hello world"},
        working_dir=str(tmp_path),
    )
    daemon.track(info.pid)
    line = await wait_for_line(pw, info.pid, "cwd=")
    assert line == f"cwd={tmp_path} v=hello world"
    await wait_for_line(pw, info.pid, "oops")
    errs = [e for e in await pw.get_log_entries(info.pid) if e.content == "oops"]
    assert errs and errs[0].stream == "stderr"
    assert (await pw.kill_process(info.pid)).success


async def test_monitor_samples_then_break(pw: procward.ProcessManagerServiceClient) -> None:
    samples = []
    t0 = time.monotonic()

    async def collect() -> None:
        async for s in pw.monitor_system(interval_seconds=0.2):
            samples.append(s)
            if len(samples) == 4:
                break

    await asyncio.wait_for(collect(), timeout=15)
    elapsed = time.monotonic() - t0
    assert len(samples) == 4
    assert elapsed < 5, f"4 samples at 0.2 s took {elapsed:.2f} s"
    for s in samples:
        assert s.memory_total > 0
        assert 0 <= s.cpu_percent <= 100
        assert s.uptime_seconds > 0
    stamps = [s.sampled_at_ms for s in samples]
    assert stamps == sorted(stamps) and stamps[-1] > stamps[0]
    # the channel is still usable after leaving the stream
    assert (await pw.get_system_info()).memory_total > 0


async def test_monitor_aclosing_cancels_promptly(pw: procward.ProcessManagerServiceClient) -> None:
    for _ in range(5):
        async with contextlib.aclosing(pw.monitor_system(interval_seconds=0.1)) as stream:
            async for _s in stream:
                break
    # many abandoned streams must not wedge the connection
    await asyncio.wait_for(pw.get_system_info(), timeout=5)


async def test_monitor_cancelled_task_does_not_hang(pw: procward.ProcessManagerServiceClient) -> None:
    async def forever() -> None:
        async for _s in pw.monitor_system(interval_seconds=0.5):
            pass

    task = asyncio.create_task(forever())
    await asyncio.sleep(1.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)


async def test_client_context_manager_closes_channel(daemon: Daemon) -> None:
    channel = procward.connect_from_home(daemon.home)
    async with procward.ProcessManagerServiceClient(channel) as client:
        assert (await client.get_system_info()).memory_total > 0
    with pytest.raises(grpc.aio.UsageError):  # "Channel is closed."
        await client.get_system_info()


async def test_connect_host_port_form(daemon: Daemon) -> None:
    host, port = daemon.address.rsplit(":", 1)
    async with procward.ProcessManagerServiceClient(procward.connect(host, int(port), token=daemon.token)) as client:
        assert (await client.get_system_info()).memory_total > 0
