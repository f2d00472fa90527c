"""Replicas and reload over gRPC with the generated stubs: ProcessSpec.instances starts
NAME:0..N-1, Scale grows and shrinks the set, Reload answers with every replica's new view
(ready, new pids), and a bad count or a replica's name is INVALID_ARGUMENT, changing
nothing."""

from __future__ import annotations

import asyncio
import socket

import grpc
import pytest

from conftest import Daemon, process_spec
from procward.v1 import supervisor_pb2 as sv
from procward.v1 import supervisor_pb2_grpc as sv_grpc

SERVER = (
    "import socket, sys, time\n"
    "s = socket.socket()\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)\n"
    "s.bind(('127.0.0.1', int(sys.argv[1])))\n"
    "s.listen()\n"
    "time.sleep(300)\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spec(name: str, port: int, instances: int) -> sv.ProcessSpec:
    return process_spec(
        name,
        ["python3", "-c", SERVER, str(port)],
        restart=sv.RESTART_POLICY_ALWAYS,
        instances=instances,
        readiness=sv.HealthCheck(tcp=f"127.0.0.1:{port}", interval_ms=200, timeout_ms=1000, retries=1),
    )


async def ready(stub: sv_grpc.SupervisorStub, base: str, count: int) -> dict:
    for _ in range(200):
        found = {
            p.name: p
            for p in (await stub.List(sv.ListRequest(), timeout=10)).processes
            if p.name.startswith(base + ":")
        }
        if len(found) == count and all(
            p.state == sv.PROCESS_STATE_RUNNING and p.readiness == sv.HEALTH_STATE_HEALTHY for p in found.values()
        ):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{base} never had {count} ready replicas: {found}")


async def test_scale_and_reload_a_set(daemon: Daemon) -> None:
    async with daemon.channel() as ch:
        stub = sv_grpc.SupervisorStub(ch)
        first = await stub.Start(sv.StartRequest(spec=spec("web", free_port(), 2)), timeout=30)
        assert first.name == "web:0" and first.spec.instances == 2
        await ready(stub, "web", 2)
        scaled = await stub.Scale(sv.ScaleRequest(name="web", instances=3), timeout=60)
        assert [p.name for p in scaled.processes] == ["web:0", "web:1", "web:2"]
        before = await ready(stub, "web", 3)
        reloaded = await stub.Reload(sv.NameRequest(name="web"), timeout=120)
        assert [p.name for p in reloaded.processes] == ["web:0", "web:1", "web:2"]
        for p in reloaded.processes:
            assert p.readiness == sv.HEALTH_STATE_HEALTHY, p
            assert p.pid != before[p.name].pid, p.name
        shrunk = await stub.Scale(sv.ScaleRequest(name="web", instances=1), timeout=60)
        assert [p.name for p in shrunk.processes] == ["web:0"]
        await stub.Delete(sv.NameRequest(name="web"), timeout=60)
        assert await daemon.managed() == []


@pytest.mark.parametrize(
    "name, instances, words",
    [("web", 300, "instances"), ("web:1", 2, "reserved for them")],
)
async def test_bad_sets_are_refused(daemon: Daemon, name: str, instances: int, words: str) -> None:
    async with daemon.channel() as ch:
        stub = sv_grpc.SupervisorStub(ch)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Start(sv.StartRequest(spec=spec(name, free_port(), instances)), timeout=30)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert words in refused.value.details()
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Scale(sv.ScaleRequest(name="nothing", instances=0), timeout=30)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()
    assert await daemon.managed() == []
