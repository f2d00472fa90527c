"""Per-process metrics over gRPC (GetProcessInfo, Supervisor.Status and List with
metrics) against what this test reads from /proc itself, for a real Python child with
known descriptors, I/O and CPU (tests/fixtures/metrics_child.py)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import procward
from conftest import REPO, Daemon
from procward.v1 import supervisor_pb2 as sv
from procward.v1 import supervisor_pb2_grpc as sv_grpc

FIXTURE = REPO / "tests" / "fixtures" / "metrics_child.py"
FILES, BYTES = 9, 250_000
TICK_MS = 1000 // os.sysconf("SC_CLK_TCK")


def proc_io(pid: int) -> dict:
    lines = Path(f"/proc/{pid}/io").read_text().splitlines()
    return {k: int(v) for k, v in (line.split(": ") for line in lines)}


def proc_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def proc_cpu_ms(pid: int) -> tuple[int, int]:
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[11]) * TICK_MS, int(fields[12]) * TICK_MS


async def start_probe(pw: procward.ProcessManagerServiceClient, folder: Path) -> int:
    await pw.start_process("/usr/bin/python3", [str(FIXTURE), str(folder), str(FILES), str(BYTES)], name="probe")
    return await wait_ready(folder)


async def wait_ready(folder: Path) -> int:
    """The fixture's pid, once it has opened its files and done its I/O."""
    ready = folder / "ready"
    deadline = time.monotonic() + 20
    while not ready.exists():
        assert time.monotonic() < deadline, "the child never got ready"
        await asyncio.sleep(0.05)
    return int(ready.read_text())


def check(m, pid: int) -> None:
    """A message with open_fds, io_* and cpu_*_ms fields against /proc."""
    io = proc_io(pid)
    assert m.HasField("open_fds") and m.open_fds == proc_fds(pid) >= FILES + 3
    assert (m.io_read_bytes, m.io_write_bytes, m.io_rchar, m.io_wchar) == (
        io["read_bytes"],
        io["write_bytes"],
        io["rchar"],
        io["wchar"],
    )
    assert m.io_wchar >= BYTES and m.io_write_bytes >= BYTES
    user, system = proc_cpu_ms(pid)
    assert user - 2000 <= m.cpu_user_ms <= user and m.cpu_system_ms <= system
    assert m.cpu_user_ms > 100, "the burning thread used CPU"


async def test_get_process_info_and_status_match_proc(
    daemon: Daemon, pw: procward.ProcessManagerServiceClient, tmp_path: Path
) -> None:
    pid = daemon.track(await start_probe(pw, tmp_path))
    info = await pw.get_process_info(pid)
    assert info.pid == pid and info.managed_name == "probe"
    check(info, pid)
    assert info.threads == 2

    listed = await pw.list_processes(name="metrics_child")
    assert listed and not listed[0].HasField("open_fds"), "listings leave the costly fields out"

    async with daemon.channel() as ch:
        supervisor = sv_grpc.SupervisorStub(ch)
        status = await supervisor.Status(sv.NameRequest(name="probe"), timeout=10)
        assert status.HasField("metrics") and status.HasField("tree")
        check(status.metrics, pid)
        assert status.metrics.processes == 1 and status.metrics.threads == 2
        assert status.tree.processes == 3 and status.tree.threads == 4
        assert status.tree.open_fds > status.metrics.open_fds
        assert status.tree.memory_rss > status.metrics.memory_rss

        plain = (await supervisor.List(sv.ListRequest(), timeout=10)).processes
        assert not plain[0].HasField("metrics"), "the plain list stays cheap"
        full = (await supervisor.List(sv.ListRequest(metrics=True), timeout=10)).processes
        check(full[0].metrics, pid)
        assert full[0].tree.processes == 3


async def test_queue_get_carries_a_running_jobs_metrics(
    daemon: Daemon, pw: procward.ProcessManagerServiceClient, tmp_path: Path
) -> None:
    job = await pw.queue_add(
        ["/usr/bin/python3", str(FIXTURE), str(tmp_path), str(FILES), str(BYTES)], attempts=1
    )
    pid = daemon.track(await wait_ready(tmp_path))
    running = await pw.queue_get(job.id)
    assert running.HasField("metrics") and running.HasField("tree")
    check(running.metrics, pid)
    assert running.tree.processes == 3 and running.tree.memory_rss > running.metrics.memory_rss
    listed = await pw.queue_list()
    assert not listed[0].HasField("metrics"), "listings stay cheap"

    await pw.queue_cancel(job.id)
    ended = await pw.queue_get(job.id)
    assert not ended.HasField("metrics") and not ended.HasField("tree")
