"""Resource limits over gRPC with the generated stubs: limits travel in ProcessSpec and
come back with how each is enforced; bad values are INVALID_ARGUMENT naming the field and
change nothing; a hard limit this machine can only poll needs best_effort."""

from __future__ import annotations

import grpc
import pytest

from conftest import Daemon, process_spec
from procward.v1 import supervisor_pb2 as sv
from procward.v1 import supervisor_pb2_grpc as sv_grpc

MIB = 1 << 20


def spec(name: str, limits: sv.ResourceLimits) -> sv.ProcessSpec:
    return process_spec(name, ["sleep", "300"], limits=limits)


async def test_limits_round_trip_with_their_enforcement(daemon: Daemon) -> None:
    async with daemon.channel() as ch:
        stub = sv_grpc.SupervisorStub(ch)
        info = await stub.DaemonInfo(sv.DaemonInfoRequest(), timeout=10)
        assert info.limits.startswith(("cgroup:", "poll:")), info.limits
        limits = sv.ResourceLimits(
            memory_max=256 * MIB,
            memory_high=200 * MIB,
            pids_max=64,
            cpu_max_percent=150,
            on_breach=sv.BREACH_ACTION_NOTIFY,
            best_effort=True,
        )
        started = await stub.Start(sv.StartRequest(spec=spec("limited", limits)), timeout=30)
        daemon.track(started.pid)
        assert started.spec.limits == limits
        kinds = {s.limit: s.enforcement for s in started.limits}
        assert set(kinds) == {"memory_max", "memory_high", "cpu_max", "pids_max"}
        for limit, enforcement in kinds.items():
            assert enforcement in (sv.ENFORCEMENT_CGROUP, sv.ENFORCEMENT_POLL), limit
            # daemon status names the limits a cgroup enforces.
            assert (enforcement == sv.ENFORCEMENT_CGROUP) == (limit in info.limits.split("(")[0]), (limit, info.limits)
        assert started.limit_breaches == 0 and started.limit_breach == ""


@pytest.mark.parametrize(
    "limits, field",
    [
        (sv.ResourceLimits(memory_max=1024, best_effort=True), "memory_max"),
        (sv.ResourceLimits(memory_high=1 << 50, best_effort=True), "memory_high"),
        (sv.ResourceLimits(memory_max=64 * MIB, memory_high=128 * MIB, best_effort=True), "memory_high"),
        (sv.ResourceLimits(cpu_max_percent=0, best_effort=True), "cpu_max"),
        (sv.ResourceLimits(pids_max=0, best_effort=True), "pids_max"),
        (sv.ResourceLimits(on_breach=7, best_effort=True), "on_breach"),
    ],
)
async def test_bad_limits_are_invalid_argument(daemon: Daemon, limits: sv.ResourceLimits, field: str) -> None:
    async with daemon.channel() as ch:
        stub = sv_grpc.SupervisorStub(ch)
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.Start(sv.StartRequest(spec=spec("bad", limits)), timeout=10)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
        assert field in e.value.details()
    assert await daemon.managed() == []


async def test_a_polled_hard_limit_needs_best_effort(daemon: Daemon) -> None:
    async with daemon.channel() as ch:
        stub = sv_grpc.SupervisorStub(ch)
        info = await stub.DaemonInfo(sv.DaemonInfoRequest(), timeout=10)
        cgroup_part = info.limits.split("(")[0] if info.limits.startswith("cgroup:") else ""
        polled = [k for k in ("memory_max", "cpu_max", "pids_max") if k not in cgroup_part]
        if not polled:
            pytest.skip(f"every hard limit is enforced by a cgroup here: {info.limits}")
        limits = sv.ResourceLimits(**{("cpu_max_percent" if k == "cpu_max" else k): 100 if k != "memory_max" else 64 * MIB for k in polled})
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.Start(sv.StartRequest(spec=spec("hard", limits)), timeout=10)
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION, e.value.details()
        assert "best_effort" in e.value.details() and polled[0] in e.value.details()
    assert await daemon.managed() == []
