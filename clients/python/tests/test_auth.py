"""Every service, health and reflection included, wants the bearer token."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, List

import grpc
import pytest

import procward
from conftest import Daemon
from procward.v1 import ports_pb2, ports_pb2_grpc
from procward.v1 import process_manager_pb2 as pm
from procward.v1 import process_manager_pb2_grpc as pm_grpc
from procward.v1 import supervisor_pb2 as sv
from procward.v1 import supervisor_pb2_grpc as sv_grpc

health_pb2 = pytest.importorskip("grpc_health.v1.health_pb2")
health_pb2_grpc = pytest.importorskip("grpc_health.v1.health_pb2_grpc")
reflection_pb2 = pytest.importorskip("grpc_reflection.v1alpha.reflection_pb2")

SERVICES = {"procward.v1.ProcessManagerService", "procward.v1.Supervisor", "procward.v1.Ports"}


def calls(channel: grpc.aio.Channel, authed: bool = True) -> List[tuple[str, Callable[[], Awaitable[Any]]]]:
    pms = pm_grpc.ProcessManagerServiceStub(channel)
    sup = sv_grpc.SupervisorStub(channel)
    ports = ports_pb2_grpc.PortsStub(channel)
    health = health_pb2_grpc.HealthStub(channel)

    async def first(stream: Any) -> Any:
        async for item in stream:
            return item

    return [
        ("GetSystemInfo", lambda: pms.GetSystemInfo(pm.GetSystemInfoRequest(), timeout=10)),
        ("ListProcesses", lambda: pms.ListProcesses(pm.ListProcessesRequest(), timeout=10)),
        ("GetProcessInfo", lambda: pms.GetProcessInfo(pm.GetProcessInfoRequest(pid=1), timeout=10)),
        ("StartProcess", lambda: pms.StartProcess(pm.StartProcessRequest(command="true"), timeout=10)),
        ("MonitorSystem", lambda: first(pms.MonitorSystem(pm.MonitorSystemRequest(interval_seconds=0.2), timeout=10))),
        ("Supervisor.List", lambda: sup.List(sv.ListRequest(), timeout=10)),
        ("Supervisor.DaemonInfo", lambda: sup.DaemonInfo(sv.DaemonInfoRequest(), timeout=10)),
        ("Ports.ListPorts", lambda: ports.ListPorts(ports_pb2.ListPortsRequest(), timeout=10)),
        ("Health.Check", lambda: health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)),
        ("Reflection", lambda: list_services(channel) if authed else reflection_unsent(channel)),
    ]


async def reflection_unsent(channel: grpc.aio.Channel) -> None:
    """Open a reflection stream without writing and wait for its status.

    The daemon answers UNAUTHENTICATED before reading any request; a client still
    sending its first message then sometimes gets INTERNAL ("Failed execute_batch")
    from grpc-python instead of the server's status, so nothing is sent here.
    """
    call = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )(timeout=10)
    await call.read()  # raises the call's status


async def list_services(channel: grpc.aio.Channel) -> set[str]:
    """Service names through server reflection (v1, else v1alpha; the messages are the same)."""
    last: grpc.aio.AioRpcError | None = None
    for version in ("v1", "v1alpha"):
        method = channel.stream_stream(
            f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        call = method(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
        try:
            async for response in call:
                return {s.name for s in response.list_services_response.service}
        except grpc.aio.AioRpcError as e:
            if e.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
            last = e
    assert last is not None
    raise last


@pytest.mark.parametrize("token", [None, "wrong-token", ""], ids=["no-token", "wrong-token", "empty-token"])
async def test_unauthenticated(daemon: Daemon, token: str | None) -> None:
    before = await daemon.managed()
    async with daemon.channel(token=token) as channel:
        for name, call in calls(channel, authed=False):
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await call()
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED, f"{name}: {e.value.code()} {e.value.details()}"
    assert await daemon.managed() == before  # the StartProcess above did not run


async def test_other_schemes_refused(daemon: Daemon) -> None:
    for header in (f"Basic {daemon.token}", f"Bearer {daemon.token}x", f"Bearer{daemon.token}"):
        async with grpc.aio.insecure_channel(daemon.address) as channel:
            stub = pm_grpc.ProcessManagerServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await stub.GetSystemInfo(pm.GetSystemInfoRequest(), metadata=[("authorization", header)], timeout=10)
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED, header


async def test_token_works_on_every_service(daemon: Daemon) -> None:
    async with daemon.channel() as channel:
        for name, call in calls(channel):
            if name == "StartProcess":
                continue
            assert await call() is not None, name


async def test_health_serving(daemon: Daemon) -> None:
    async with daemon.channel() as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_services(daemon: Daemon) -> None:
    async with daemon.channel() as channel:
        names = await list_services(channel)
    assert SERVICES <= names, names


async def test_connect_from_home_without_daemon(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="tcp.json"):
        procward.connect_from_home(tmp_path)
