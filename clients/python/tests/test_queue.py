"""The job queue through the client's ``queue_*`` methods, against a real daemon: jobs
run, retry, time out, wait for each other and are cancelled with their whole process
group; bad input is refused with the documented code and queues nothing.

Every job a test starts is its own (the daemon's child); the conftest teardown pauses
the queue and cancels whatever has not ended, so no job outlives its test."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Awaitable, Callable, List

import grpc
import pytest

import procward
from conftest import Daemon, _start_daemon, _teardown, pid_alive, run_in_thread
from procward.v1 import queue_pb2 as qu
from procward.v1 import supervisor_pb2 as sv

Client = procward.ProcessManagerServiceClient


async def expect(code: grpc.StatusCode, call: Callable[[], Awaitable[object]]) -> grpc.aio.AioRpcError:
    with pytest.raises(procward.RpcError) as e:
        await call()
    assert e.value.code() == code, f"expected {code}, got {e.value.code()}: {e.value.details()}"
    assert e.value.details(), "error without a message"
    return e.value


async def wait_state(pw: Client, job_id: int, state: str, timeout: float = 15) -> qu.Job:
    """The job once it is in ``state`` (polling: for states ``queue_wait`` does not wait for)."""
    deadline = time.monotonic() + timeout
    while True:
        job = await pw.queue_get(job_id)
        if procward.job_state(job) == state:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is still {procward.job_state(job)}, not {state}: {job}")
        await asyncio.sleep(0.05)


async def started(daemon: Daemon, pw: Client, job_id: int) -> int:
    """The pid of the job's running attempt, tracked so teardown kills it if all else fails."""
    job = await wait_state(pw, job_id, "running")
    pid = job.attempts[-1].pid
    assert pid > 0 and pid_alive(pid), job
    return daemon.track(pid)


async def gone(pid: int, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_echo_job_completes(pw: Client) -> None:
    job = await pw.queue_add(["sh", "-c", "echo hi"])
    assert job.id > 0 and list(job.spec.command) == ["sh", "-c", "echo hi"]
    assert procward.job_state(job) in ("queued", "running")
    assert job.spec.group == "default" and job.spec.attempts == 3

    done = await pw.queue_wait(job.id)
    assert procward.job_state(done) == "completed", done
    assert done.exit_code == 0 and done.HasField("exit_code")
    assert len(done.attempts) == 1 and done.attempts[0].exit_code == 0 and done.attempts[0].pid > 0
    # Not ended_ms >= started_ms: the daemon stamps started_ms once the shim has reported
    # the launch, and a job as quick as this one has sometimes ended (by the shim's own
    # clock) a millisecond before that.
    assert done.attempts[0].started_ms >= done.created_ms and done.attempts[0].ended_ms > 0
    assert await pw.queue_logs(job.id) == ["hi"]
    assert await pw.queue_get(job.id) == done
    assert [j.id for j in await pw.queue_list()] == [job.id]

    # A string is split as a shell would split it; no shell runs it.
    again = await pw.queue_add("sh -c 'echo hi; echo oops >&2'")
    assert list(again.spec.command) == ["sh", "-c", "echo hi; echo oops >&2"]
    assert procward.job_state(await pw.queue_wait(again.id, timeout=30)) == "completed"
    assert await pw.queue_logs(again.id) == ["hi", "oops"]
    assert await pw.queue_logs(again.id, stream="stderr") == ["oops"]
    entries = await pw.queue_log_lines(again.id)
    assert [(e.stream, e.line) for e in entries] == [
        (sv.LOG_STREAM_STDOUT, b"hi"),
        (sv.LOG_STREAM_STDERR, b"oops"),
    ]


async def test_failing_job_retries_then_fails(pw: Client) -> None:
    script = 'echo "try $PROCWARD_JOB_ATTEMPT"; exit 3'
    job = await pw.queue_add(["sh", "-c", script], attempts=2, backoff="fixed:100ms")
    done = await pw.queue_wait(job.id)
    assert procward.job_state(done) == "failed", done
    assert len(done.attempts) == 2 and [a.number for a in done.attempts] == [1, 2]
    assert [a.exit_code for a in done.attempts] == [3, 3]
    assert done.exit_code == 3
    assert done.attempts[1].started_ms >= done.attempts[0].ended_ms + 100  # the back-off
    assert "attempt 2 of 2" in done.reason, done.reason
    assert await pw.queue_logs(done.id) == ["try 2"]  # the latest attempt
    assert await pw.queue_logs(done.id, attempt=1) == ["try 1"]
    await expect(grpc.StatusCode.NOT_FOUND, lambda: pw.queue_logs(done.id, attempt=3))

    # A retry gets the full number of attempts again and keeps the history.
    retried = await pw.queue_retry(done.id)
    assert procward.job_state(retried) in ("queued", "running")
    again = await pw.queue_wait(done.id)
    assert procward.job_state(again) == "failed"
    assert [a.number for a in again.attempts] == [1, 2, 3, 4]
    assert await pw.queue_logs(done.id) == ["try 4"]


async def test_cancel_running_job_ends_its_process(daemon: Daemon, pw: Client) -> None:
    job = await pw.queue_add(["sleep", "60"])
    pid = await started(daemon, pw, job.id)
    t0 = time.monotonic()
    cancelled = await pw.queue_cancel(job.id)
    assert time.monotonic() - t0 < 5, "sleep ends at SIGTERM: no need to wait for SIGKILL"
    assert procward.job_state(cancelled) == "cancelled", cancelled
    assert cancelled.attempts[-1].pid == pid
    assert cancelled.attempts[-1].signal == signal.SIGTERM
    assert cancelled.exit_code == 128 + signal.SIGTERM
    assert not pid_alive(pid), f"job process {pid} still runs after its cancel"
    assert procward.job_state(await pw.queue_get(job.id)) == "cancelled"
    assert len((await pw.queue_get(job.id)).attempts) == 1, "a cancelled job is not retried"

    # A queued job (its group paused) is cancelled at once, without ever running.
    await pw.queue_pause()
    waiting = await pw.queue_add(["sleep", "60"])
    assert procward.job_state(await pw.queue_cancel(waiting.id)) == "cancelled"
    assert list((await pw.queue_get(waiting.id)).attempts) == []


async def test_cancel_reaches_the_whole_process_group(daemon: Daemon, pw: Client) -> None:
    # sh does not exec the last command here (the trap), so sleep is a child of the job.
    job = await pw.queue_add(["sh", "-c", "trap 'exit 0' TERM; sleep 60 & echo $!; wait"])
    leader = await started(daemon, pw, job.id)
    for _ in range(100):
        lines = await pw.queue_logs(job.id)
        if lines:
            break
        await asyncio.sleep(0.05)
    child = daemon.track(int(lines[0]))
    assert pid_alive(child)
    cancelled = await pw.queue_cancel(job.id)
    assert procward.job_state(cancelled) == "cancelled"
    assert await gone(leader) and await gone(child), "the job's child outlived its cancel"


async def test_bad_input_is_refused_and_queues_nothing(pw: Client) -> None:
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    bad_adds = {
        "priority -1": lambda: pw.queue_add(["true"], priority=-1),
        "priority 1001": lambda: pw.queue_add(["true"], priority=1001),
        "unknown group": lambda: pw.queue_add(["true"], group="nope"),
        "unknown after": lambda: pw.queue_add(["true"], after=[999]),
        "empty argv": lambda: pw.queue_add([]),
        "empty string": lambda: pw.queue_add(""),
        "blank program": lambda: pw.queue_add([" "]),
        "NUL in argv": lambda: pw.queue_add(["tr\0ue"]),
        "attempts 0": lambda: pw.queue_add(["true"], attempts=0),
        "attempts 101": lambda: pw.queue_add(["true"], attempts=101),
        "backoff": lambda: pw.queue_add(["true"], backoff="linear"),
        "timeout 10ms": lambda: pw.queue_add(["true"], timeout=0.01),
        "delay and at": lambda: pw.queue_add(["true"], delay=1, at=time.time() + 60),
        "delay 400d": lambda: pw.queue_add(["true"], delay=timedelta(days=400)),
        "label key": lambda: pw.queue_add(["true"], labels={"bad key": "v"}),
    }
    for name, add in bad_adds.items():
        with pytest.raises(procward.RpcError) as e:
            await add()
        assert e.value.code() == invalid, f"{name}: {e.value.code()} {e.value.details()}"
        assert e.value.details(), name
    e = await expect(invalid, lambda: pw.queue_add(["true"], priority=-1))
    assert "priority" in e.details()
    e = await expect(invalid, lambda: pw.queue_add(["true"], group="nope"))
    assert "nope" in e.details()
    e = await expect(invalid, lambda: pw.queue_add(["true"], after=[999]))
    assert "999" in e.details()
    assert await pw.queue_list() == []

    await expect(invalid, lambda: pw.queue_put_group("serial", 0))
    await expect(invalid, lambda: pw.queue_put_group("serial", 1025))
    await expect(invalid, lambda: pw.queue_put_group("../x", 1))
    assert [g.name for g in await pw.queue_groups()] == ["default"]

    # What the wire cannot carry is refused before sending.
    with pytest.raises(ValueError, match="delay"):
        await pw.queue_add(["true"], delay=-1)
    with pytest.raises(ValueError, match="timeout"):
        await pw.queue_add(["true"], timeout=float("nan"))
    with pytest.raises(ValueError, match="states"):
        await pw.queue_list(states=["done"])
    with pytest.raises(ValueError, match="stream"):
        await pw.queue_logs(1, stream="both")  # type: ignore[arg-type]
    assert await pw.queue_list() == []


async def test_a_job_that_cannot_start_fails_with_the_reason(pw: Client, tmp_path: Path) -> None:
    # Not refused when added (a delayed job's folder may be made later): each attempt
    # fails as a shell's "cannot run" would, with exit 127, and the reason says why.
    missing = await pw.queue_add(["true"], attempts=1, cwd=tmp_path / "does-not-exist")
    unknown = await pw.queue_add(["no-such-program-procward-test"], attempts=1)
    for job, words in ((missing, "does not exist"), (unknown, "not found")):
        done = await pw.queue_wait(job.id)
        assert procward.job_state(done) == "failed" and done.exit_code == 127, done
        assert words in done.reason, done.reason
        assert [a.pid for a in done.attempts] == [0]


async def test_unknown_ids_and_groups_are_not_found(pw: Client) -> None:
    not_found = grpc.StatusCode.NOT_FOUND
    for call in (pw.queue_get, pw.queue_cancel, pw.queue_retry, pw.queue_wait, pw.queue_logs):
        await expect(not_found, lambda call=call: call(999))

    async def follow() -> None:
        async for _ in pw.queue_follow(999):
            pytest.fail("a line of no job")

    await expect(not_found, follow)
    await expect(not_found, lambda: pw.queue_pause("nope"))
    await expect(not_found, lambda: pw.queue_resume("nope"))
    assert await pw.queue_list() == []


async def test_requests_that_do_not_fit_the_state(daemon: Daemon, pw: Client) -> None:
    done = await pw.queue_wait((await pw.queue_add(["true"])).id)
    assert procward.job_state(done) == "completed"
    e = await expect(grpc.StatusCode.FAILED_PRECONDITION, lambda: pw.queue_cancel(done.id))
    assert "completed" in e.details()
    await expect(grpc.StatusCode.FAILED_PRECONDITION, lambda: pw.queue_retry(done.id))

    running = await pw.queue_add(["sleep", "60"])
    await started(daemon, pw, running.id)
    e = await expect(grpc.StatusCode.FAILED_PRECONDITION, lambda: pw.queue_retry(running.id))
    assert "running" in e.details()
    assert procward.job_state(await pw.queue_get(running.id)) == "running"  # untouched
    assert procward.job_state(await pw.queue_cancel(running.id)) == "cancelled"
    await expect(grpc.StatusCode.FAILED_PRECONDITION, lambda: pw.queue_cancel(running.id))


async def test_watch_sees_queued_running_completed(pw: Client) -> None:
    async with pw.queue_watch() as events:
        job = await pw.queue_add(["sh", "-c", "echo hi"])
        seen: List[qu.JobEvent] = []
        async for event in events:
            if event.id == job.id:
                seen.append(event)
                if procward.job_state(event) in procward.FINAL_JOB_STATES:
                    break
    assert [procward.job_state(e) for e in seen] == ["queued", "running", "completed"], seen
    assert all(e.group == "default" for e in seen)
    assert [e.attempt for e in seen] == [0, 1, 1]
    assert seen[-1].exit_code == 0 and seen[-1].HasField("exit_code")
    assert not seen[0].HasField("exit_code")


async def test_watch_one_job_or_one_group(pw: Client) -> None:
    await pw.queue_put_group("other", 2)
    async with pw.queue_watch(group="other") as by_group:
        async with pw.queue_watch(2) as by_id:
            first = await pw.queue_add(["true"])  # id 1, group default
            second = await pw.queue_add(["true"], group="other")  # id 2
            await pw.queue_wait(first.id)
            await pw.queue_wait(second.id)

            async def states(events: procward.JobWatch) -> List[tuple]:
                out = []
                async for e in events:
                    out.append((e.id, procward.job_state(e)))
                    if procward.job_state(e) == "completed":
                        return out
                raise AssertionError(f"the watch ended early: {out}")

            assert second.id == 2
            assert await asyncio.wait_for(states(by_id), 10) == [(2, "queued"), (2, "running"), (2, "completed")]
            assert await asyncio.wait_for(states(by_group), 10) == [(2, "queued"), (2, "running"), (2, "completed")]


async def test_group_with_parallel_one_runs_jobs_in_turn(pw: Client) -> None:
    group = await pw.queue_put_group("serial", 1)
    assert (group.name, group.parallel, group.paused) == ("serial", 1, False)
    assert {(g.name, g.parallel) for g in await pw.queue_groups()} >= {("serial", 1)}
    first = await pw.queue_add(["sleep", "0.5"], group="serial")
    second = await pw.queue_add(["sleep", "0.5"], group="serial")
    await wait_state(pw, first.id, "running")
    assert procward.job_state(await pw.queue_get(second.id)) == "queued"
    a, b = await pw.queue_wait(first.id), await pw.queue_wait(second.id)
    assert procward.job_state(a) == procward.job_state(b) == "completed"
    assert b.attempts[0].started_ms >= a.attempts[0].ended_ms, (a, b)
    assert [j.id for j in await pw.queue_list("serial")] == [first.id, second.id]
    assert await pw.queue_list("default") == []


async def test_priority_picks_the_next_job(pw: Client) -> None:
    await pw.queue_put_group("serial", 1)
    await pw.queue_pause("serial")
    low = await pw.queue_add(["true"], group="serial")
    high = await pw.queue_add(["true"], group="serial", priority=10)
    assert [g.paused for g in await pw.queue_resume("serial")] == [False]
    low_done, high_done = await pw.queue_wait(low.id), await pw.queue_wait(high.id)
    assert low_done.attempts[0].started_ms >= high_done.attempts[0].ended_ms


async def test_pause_and_resume(pw: Client) -> None:
    paused = await pw.queue_pause()
    assert paused and all(g.paused for g in paused)
    job = await pw.queue_add(["true"])
    await asyncio.sleep(0.5)
    assert procward.job_state(await pw.queue_get(job.id)) == "queued", "a paused group started a job"
    assert [j.id for j in await pw.queue_list(states="queued")] == [job.id]
    resumed = await pw.queue_resume("default")
    assert [(g.name, g.paused) for g in resumed] == [("default", False)]
    assert procward.job_state(await pw.queue_wait(job.id, timeout=30)) == "completed"


async def test_delay_and_start_time(pw: Client) -> None:
    before = time.time()
    job = await pw.queue_add(["true"], delay=0.5)
    assert procward.job_state(job) == "delayed", job
    # The delay counts from when the daemon took the request, a moment before created_ms.
    assert job.run_at_ms == job.spec.not_before_ms >= round(before * 1000) + 500
    assert job.run_at_ms >= job.created_ms + 400
    done = await pw.queue_wait(job.id)
    assert procward.job_state(done) == "completed"
    assert done.attempts[0].started_ms >= job.run_at_ms

    at = datetime.now(timezone.utc) + timedelta(milliseconds=400)
    timed = await pw.queue_add(["true"], at=at)
    assert procward.job_state(timed) == "delayed"
    assert timed.spec.not_before_ms == round(at.timestamp() * 1000)
    assert (await pw.queue_wait(timed.id)).attempts[0].started_ms >= timed.spec.not_before_ms


async def test_timeout_ends_the_attempt(daemon: Daemon, pw: Client) -> None:
    job = await pw.queue_add(["sleep", "60"], timeout=0.3, attempts=1)
    pid = await started(daemon, pw, job.id)
    done = await pw.queue_wait(job.id, timeout=30)
    assert procward.job_state(done) == "failed", done
    assert done.attempts[0].timed_out and "timed out" in done.reason
    assert done.spec.timeout_ms == 300
    assert await gone(pid)


async def test_wait_with_a_deadline(daemon: Daemon, pw: Client) -> None:
    job = await pw.queue_add(["sleep", "60"])
    await started(daemon, pw, job.id)
    await expect(grpc.StatusCode.DEADLINE_EXCEEDED, lambda: pw.queue_wait(job.id, timeout=0.3))
    assert procward.job_state(await pw.queue_cancel(job.id)) == "cancelled"


async def test_dependencies(pw: Client) -> None:
    failing = await pw.queue_add(["sh", "-c", "sleep 0.3; exit 1"], attempts=1)
    strict = await pw.queue_add(["true"], after=[failing.id])
    lenient = await pw.queue_add(["true"], after=[failing.id], after_any=True)
    assert list(strict.spec.after) == [failing.id] and lenient.spec.after_any
    assert procward.job_state(await pw.queue_get(strict.id)) == "queued"  # waits for its dependency
    s, le = await pw.queue_wait(strict.id), await pw.queue_wait(lenient.id)
    assert procward.job_state(s) == "failed" and s.reason == f"dependency {failing.id} failed", s
    assert list(s.attempts) == []
    assert procward.job_state(le) == "completed"

    first = await pw.queue_add(["sh", "-c", "sleep 0.3"])
    then = await pw.queue_add(["true"], after=[first.id])
    f, t = await pw.queue_wait(first.id), await pw.queue_wait(then.id)
    assert procward.job_state(t) == "completed"
    assert t.attempts[0].started_ms >= f.attempts[0].ended_ms


async def test_follow_logs_until_the_job_ends(pw: Client) -> None:
    job = await pw.queue_add(["sh", "-c", "echo a; sleep 0.5; echo b"])
    lines = [line async for line in pw.queue_follow(job.id)]
    assert lines == ["a", "b"]
    assert procward.job_state(await pw.queue_get(job.id)) == "completed"

    # Across retries: every attempt's lines, in order.
    retried = await pw.queue_add(
        ["sh", "-c", 'echo "try $PROCWARD_JOB_ATTEMPT"; exit 1'], attempts=2, backoff="fixed:100ms"
    )
    lines = await asyncio.wait_for(_collect(pw.queue_follow(retried.id)), 30)
    assert lines == ["try 1", "try 2"], lines
    assert await pw.queue_logs(retried.id, lines=1) == ["try 2"]


async def _collect(lines: object) -> List[str]:
    return [line async for line in lines]  # type: ignore[attr-defined]


async def test_env_cwd_and_labels(pw: Client, tmp_path: Path) -> None:
    job = await pw.queue_add(
        ["sh", "-c", 'echo "$FOO"; pwd'],
        env={"FOO": "bar"},
        cwd=tmp_path,
        labels={"team": "core"},
    )
    done = await pw.queue_wait(job.id)
    assert procward.job_state(done) == "completed"
    assert await pw.queue_logs(job.id) == ["bar", str(tmp_path)]
    assert dict(done.spec.labels) == {"team": "core"} and dict(done.spec.env) == {"FOO": "bar"}
    assert done.spec.cwd == str(tmp_path)


async def test_list_filters_and_clean(pw: Client) -> None:
    ok = await pw.queue_wait((await pw.queue_add(["true"])).id)
    bad = await pw.queue_wait((await pw.queue_add(["false"], attempts=1)).id)
    assert (procward.job_state(ok), procward.job_state(bad)) == ("completed", "failed")
    assert [j.id for j in await pw.queue_list(states=["failed"])] == [bad.id]
    assert [j.id for j in await pw.queue_list(states=[qu.JOB_STATE_COMPLETED])] == [ok.id]
    assert [j.id for j in await pw.queue_list(states=["completed", "failed"])] == [ok.id, bad.id]
    assert [j.id for j in await pw.queue_list("default", states=["running"])] == []

    assert await pw.queue_clean(older_than=3600) == []
    assert await pw.queue_clean(completed=True) == [ok.id]
    await expect(grpc.StatusCode.NOT_FOUND, lambda: pw.queue_get(ok.id))
    assert [j.id for j in await pw.queue_list()] == [bad.id]
    assert await pw.queue_clean() == [bad.id]
    assert await pw.queue_list() == []


def test_job_state_names() -> None:
    assert procward.job_state(qu.JOB_STATE_RUNNING) == "running"
    assert procward.job_state(qu.Job(state=qu.JOB_STATE_CANCELLED)) == "cancelled"
    assert procward.job_state(qu.JobEvent(state=qu.JOB_STATE_DELAYED)) == "delayed"
    assert procward.job_state(999) == "unspecified"
    assert procward.JOB_STATES == tuple(procward.job_state(n) for n in range(1, 7))


def test_teardown_cancels_running_jobs(tmp_path: Path) -> None:
    """What the fixture relies on: a job still running at the end of a test is ended by
    the queue's cancel (its pid is not tracked here, so the kill by pid cannot hide a
    failed cancel; it is killed below if it survived)."""
    d = _start_daemon(tmp_path / "home")
    try:

        async def add() -> int:
            async with Client(d.channel(), timeout=30) as pw:
                job = await pw.queue_add(["sleep", "60"])
                await pw.queue_add(["sleep", "60"], delay=60)  # delayed: must not start later
                return (await wait_state(pw, job.id, "running")).attempts[-1].pid

        pid = run_in_thread(add)
    finally:
        _teardown(d)
    if pid_alive(pid):
        os.killpg(pid, signal.SIGKILL)  # the job's own process group
        pytest.fail(f"job process {pid} outlived the daemon's teardown")


HOG = "import time\nb=[]\nwhile len(b)<400:\n b.append(b'x'*(1<<20)); time.sleep(0.01)\ntime.sleep(600)"


async def test_a_job_is_held_to_its_memory_limit(pw: Client) -> None:
    limits = sv.ResourceLimits(memory_max=48 << 20, on_breach=sv.BREACH_ACTION_STOP, best_effort=True)
    job = await pw.queue_add(["python3", "-c", HOG], attempts=3, limits=limits)
    assert job.spec.limits == limits
    [status] = job.limit_status
    assert status.limit == "memory_max"
    assert status.enforcement in (sv.ENFORCEMENT_CGROUP, sv.ENFORCEMENT_POLL)
    done = await pw.queue_wait(job.id, timeout=40)
    assert procward.job_state(done) == "failed", done
    # on_breach stop: one attempt, which names the limit; the job keeps the breach.
    [attempt] = done.attempts
    assert attempt.breach == "memory_max", done
    assert done.limit_breach.startswith("memory_max 48.0MiB: "), done
    assert done.reason == f"stopped by a limit: {done.limit_breach}", done


async def test_bad_job_limits_are_refused_and_queue_nothing(pw: Client) -> None:
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    for limits, field in [
        (sv.ResourceLimits(pids_max=0, best_effort=True), "pids_max"),
        (sv.ResourceLimits(memory_max=1024, best_effort=True), "memory_max"),
        (sv.ResourceLimits(cpu_max_percent=0, best_effort=True), "cpu_max"),
        (sv.ResourceLimits(memory_max=64 << 20, memory_high=128 << 20, best_effort=True), "memory_high"),
    ]:
        e = await expect(invalid, lambda: pw.queue_add(["true"], limits=limits))
        assert field in e.details(), e.details()
    assert await pw.queue_list() == []
