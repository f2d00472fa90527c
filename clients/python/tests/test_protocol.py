"""Standard gRPC clients, without options: grpc-core on the Unix socket (it sends the
socket's path, percent-encoded, as `:authority`), and server reflection v1alpha (what
grpcurl and grpc-core's tools ask) as well as v1, on both listeners (issue 17)."""

from __future__ import annotations

from typing import Set

import grpc
import grpc.aio
import pytest

from conftest import Daemon
from procward.v1 import supervisor_pb2 as sv
from procward.v1 import supervisor_pb2_grpc as sv_grpc

reflection_pb2 = pytest.importorskip("grpc_reflection.v1alpha.reflection_pb2")
reflection_pb2_grpc = pytest.importorskip("grpc_reflection.v1alpha.reflection_pb2_grpc")

SERVICES = {
    "procward.v1.ProcessManagerService",
    "procward.v1.Supervisor",
    "procward.v1.Ports",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
}


def unix_target(daemon: Daemon) -> str:
    return "unix:" + str(daemon.home / "procward.sock")


async def services_v1alpha(channel: grpc.aio.Channel) -> Set[str]:
    """Service names through grpcio-reflection's own v1alpha stub."""
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    async for response in stub.ServerReflectionInfo(requests, timeout=10):
        return {s.name for s in response.list_services_response.service}
    raise AssertionError("no reflection answer")


async def services_v1(channel: grpc.aio.Channel) -> Set[str]:
    """Service names through v1 (same messages as v1alpha, another service name)."""
    method = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    async for response in method(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10):
        return {s.name for s in response.list_services_response.service}
    raise AssertionError("no reflection answer")


async def test_unix_socket_with_a_plain_aio_channel(daemon: Daemon) -> None:
    async with grpc.aio.insecure_channel(unix_target(daemon)) as channel:
        stub = sv_grpc.SupervisorStub(channel)
        # Several calls on one connection: later ones refer to the `:authority` entry in
        # HPACK's dynamic table instead of sending it again.
        for _ in range(3):
            info = await stub.DaemonInfo(sv.DaemonInfoRequest(), timeout=10)
            assert info.pid == daemon.proc.pid
        assert list((await stub.List(sv.ListRequest(), timeout=10)).processes) == []
        assert SERVICES <= await services_v1alpha(channel)
        assert SERVICES <= await services_v1(channel)


def test_unix_socket_with_a_plain_sync_channel(daemon: Daemon) -> None:
    with grpc.insecure_channel(unix_target(daemon)) as channel:
        info = sv_grpc.SupervisorStub(channel).DaemonInfo(sv.DaemonInfoRequest(), timeout=10)
    assert info.pid == daemon.proc.pid


async def test_reflection_v1alpha_and_v1_on_tcp(daemon: Daemon) -> None:
    async with daemon.channel() as channel:
        assert SERVICES <= await services_v1alpha(channel)
        assert SERVICES <= await services_v1(channel)
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(file_containing_symbol="procward.v1.Supervisor")
        async for response in stub.ServerReflectionInfo(iter([request]), timeout=10):
            files = response.file_descriptor_response.file_descriptor_proto
            assert files, response
            break
