"""The job queue (``procward.v1.Queue``) as ``queue_*`` methods of the client.

The daemon checks every request with the same rules for every client (CLI, MCP, web,
this one) and answers bad input with ``INVALID_ARGUMENT`` naming the field, unknown ids
with ``NOT_FOUND`` and a request that does not fit the job's state (cancel a completed
job, retry a running one) with ``FAILED_PRECONDITION``; those arrive as
``grpc.aio.AioRpcError`` like every other failed call. So the client checks nothing
the daemon checks: it only converts Python values (seconds, datetimes, state names) into
the wire form, and raises ``ValueError`` for what the wire cannot carry at all (a
negative delay, an unknown state name), which would otherwise fail inside protobuf.
"""

from __future__ import annotations

import math
import os
import shlex
from datetime import datetime, timedelta
from typing import AsyncIterator, Iterable, List, Literal, Mapping, Optional, Sequence, Union

import grpc
import grpc.aio

from procward.v1 import queue_pb2 as qu
from procward.v1 import queue_pb2_grpc as qu_grpc
from procward.v1 import supervisor_pb2 as sv

__all__ = ["FINAL_JOB_STATES", "JOB_STATES", "JobWatch", "QueueMethods", "job_state"]

#: Every job state's name, in lifecycle order (as the CLI and ``job_state`` spell them).
JOB_STATES = ("queued", "delayed", "running", "completed", "failed", "cancelled")
#: The states after which nothing happens to a job unless it is retried.
FINAL_JOB_STATES = frozenset({"completed", "failed", "cancelled"})

#: The daemon's grace between SIGTERM and SIGKILL when it cancels a running job.
_KILL_GRACE = 5.0

Seconds = Union[float, int, timedelta, None]
StateLike = Union[str, int]
Stream = Optional[Literal["stdout", "stderr"]]


def job_state(value: Union[qu.Job, qu.JobEvent, int]) -> str:
    """The lower-case name of a job's state: ``"queued"``, ``"running"``, ``"completed"``...

    Accepts a ``Job``, a ``JobEvent`` or a ``JobState`` number (``job.state``); the
    messages carry the protobuf enum, whose own names (``JOB_STATE_RUNNING``) are
    longer than the ones the CLI and the rest of procward use.
    """
    number = value if isinstance(value, int) else value.state
    try:
        name = qu.JobState.Name(number)
    except ValueError:  # a state newer than these stubs
        return "unspecified"
    return name[len("JOB_STATE_") :].lower()


def _state_number(state: StateLike) -> int:
    if isinstance(state, int):
        return state  # a JobState number: the daemon refuses an unknown one
    name = state.strip().lower()
    if name not in JOB_STATES:
        raise ValueError(f"states: {state!r} is not a job state ({', '.join(JOB_STATES)})")
    return qu.JobState.Value("JOB_STATE_" + name.upper())


def _ms(name: str, seconds: Seconds) -> Optional[int]:
    """Seconds (or a timedelta) as whole milliseconds for an unsigned wire field."""
    if seconds is None:
        return None
    value = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: {seconds!r} is not a duration (seconds, 0 or more)")
    return round(value * 1000)


def _unix_ms(at: Union[float, int, datetime, None]) -> Optional[int]:
    """A start time (a datetime, or Unix seconds) as Unix milliseconds."""
    if at is None:
        return None
    value = at.timestamp() if isinstance(at, datetime) else float(at)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"at: {at!r} is not a time (a datetime or Unix seconds)")
    return round(value * 1000)


def _argv(command: Union[str, Sequence[str]]) -> List[str]:
    """argv from a list, or from a string split as a POSIX shell would (no shell runs it)."""
    if isinstance(command, str):
        return shlex.split(command)
    return list(command)


def _text(line: sv.LogLine) -> str:
    # Lines are raw bytes (a program may write anything); undecodable bytes become U+FFFD
    # so one bad byte does not lose the line.
    return line.line.decode("utf-8", errors="replace")


def _logs_request(
    id: int, attempt: Optional[int], lines: Optional[int], stream: Stream, follow: bool
) -> qu.JobLogsRequest:
    if stream not in (None, "stdout", "stderr"):
        raise ValueError(f"stream: {stream!r} is not 'stdout', 'stderr' or None (both)")
    return qu.JobLogsRequest(
        id=id,
        attempt=attempt,
        lines=lines,
        follow=follow,
        stdout=stream == "stdout",
        stderr=stream == "stderr",
    )


class JobWatch:
    """The job events of :meth:`QueueMethods.queue_watch`, as an async iterator.

    The daemon sends only changes that happen after it has subscribed the call, so
    ``async with`` first waits for the daemon's answer (its headers, sent once the
    subscription is made): a job added inside the block has every event seen. Leaving
    the block cancels the call so the daemon frees it. ``async for`` without ``async
    with`` works too (the call then ends when the watch is closed or collected).
    """

    def __init__(self, call: grpc.aio.UnaryStreamCall) -> None:
        self._call = call

    async def __aenter__(self) -> "JobWatch":
        await self._call.initial_metadata()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __aiter__(self) -> "JobWatch":
        return self

    async def __anext__(self) -> qu.JobEvent:
        event = await self._call.read()
        if event is grpc.aio.EOF:
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        """Cancel the call (``contextlib.aclosing`` calls this)."""
        self._call.cancel()


class QueueMethods:
    """The ``procward.v1.Queue`` service, mixed into ``ProcessManagerServiceClient`` so
    one client (and one channel) serves processes and jobs alike.

    Results are the protobuf messages of ``procward.v1.queue_pb2``: ``Job`` (``id``,
    ``spec``, ``state``, ``attempts`` with ``pid``/``exit_code``/``signal``/``timed_out``,
    ``reason``, ``exit_code`` once ended), ``JobEvent`` and ``QueueGroup``.
    ``procward.job_state(job)`` names a state (``"running"``).
    """

    _queue: qu_grpc.QueueStub
    timeout: Optional[float]

    def _init_queue(self, channel: grpc.aio.Channel) -> None:
        self._queue = qu_grpc.QueueStub(channel)

    async def queue_add(
        self,
        command: Union[str, Sequence[str]],
        *,
        group: Optional[str] = None,
        priority: int = 0,
        delay: Seconds = None,
        at: Union[float, int, datetime, None] = None,
        attempts: Optional[int] = None,
        backoff: Optional[str] = None,
        timeout: Seconds = None,
        after: Iterable[int] = (),
        after_any: bool = False,
        labels: Optional[Mapping[str, str]] = None,
        env: Optional[Mapping[str, str]] = None,
        cwd: Union[str, "os.PathLike[str]", None] = None,
        limits: Optional[sv.ResourceLimits] = None,
    ) -> qu.Job:
        """Queue a job; returns it (``job.id``) once the daemon has stored it.

        Args:
            command: argv (``["sh", "-c", "echo hi"]``), or a string split like a POSIX
                shell would (``"sh -c 'echo hi'"``); no shell runs it either way.
            group: Concurrency group (default ``"default"``); it must exist
                (:meth:`queue_put_group`), else ``INVALID_ARGUMENT``.
            priority: 0 to 1000, higher first; first in, first out within a priority.
            delay: Not started before this many seconds from now (or a ``timedelta``).
            at: ... or before this time (a ``datetime``, or Unix seconds); not with
                ``delay``.
            attempts: Runs at most this many times (1 to 100; daemon default 3) until
                one exits 0.
            backoff: The wait between attempts: ``"exponential:2s"``,
                ``"exponential:1s:1m"`` (capped), ``"fixed:5s"``, ``":jitter"`` appended
                for jitter; ``None``: exponential from 2 s capped at 10 min.
            timeout: Per attempt, seconds (0.1 to 30 days): then SIGTERM to its process
                group, SIGKILL 5 s later, and the attempt counts as failed.
            after: Ids of jobs that must complete first (they must exist).
            after_any: Start once those have ended, whatever their outcome (otherwise
                the job fails when one of them fails).
            labels: Free-form tags.
            env: Variables added to the daemon's environment.
            cwd: Where it runs (default: the daemon's working directory).
            limits: What each attempt's process tree may use (``memory_max`` bytes,
                ``cpu_max_percent``, ``pids_max``...) and what a breach does
                (``on_breach``: restart fails the attempt and retries it, stop fails
                the job, notify records it); ``job.limit_status`` says how each is
                enforced (cgroup or poll). A hard limit this machine can only poll is
                ``FAILED_PRECONDITION`` unless ``best_effort`` is set.
        """
        spec = qu.JobSpec(
            command=_argv(command),
            env=dict(env or {}),
            cwd=None if cwd is None else os.fspath(cwd),
            group=group or "",
            priority=priority,
            delay_ms=_ms("delay", delay),
            not_before_ms=_unix_ms(at),
            attempts=attempts,
            backoff=backoff or "",
            timeout_ms=_ms("timeout", timeout),
            after=list(after),
            after_any=after_any,
            labels=dict(labels or {}),
            limits=limits,
        )
        return await self._queue.Add(qu.AddJobRequest(spec=spec), timeout=self.timeout)

    async def queue_list(
        self,
        group: Optional[str] = None,
        states: Union[StateLike, Iterable[StateLike], None] = None,
    ) -> List[qu.Job]:
        """Jobs by id, optionally of one group and in some states.

        Args:
            group: Only this group's jobs.
            states: Only jobs in these states: names (``"failed"``, ``["queued",
                "running"]``, see ``procward.JOB_STATES``) or ``JobState`` numbers.
        """
        if states is None:
            wanted: List[int] = []
        elif isinstance(states, (str, int)):
            wanted = [_state_number(states)]
        else:
            wanted = [_state_number(s) for s in states]
        request = qu.ListJobsRequest(group=group, states=wanted)
        response = await self._queue.List(request, timeout=self.timeout)
        return list(response.jobs)

    async def queue_get(self, id: int) -> qu.Job:
        """One job with every attempt and, while it runs, ``metrics`` and ``tree`` of its
        attempt's process; ``NOT_FOUND`` for an unknown id."""
        return await self._queue.Get(qu.JobRequest(id=id), timeout=self.timeout)

    async def queue_cancel(self, id: int) -> qu.Job:
        """Cancel a job and return it, ``cancelled``.

        A queued or delayed job is cancelled at once; a running one gets SIGTERM to its
        whole process group (SIGKILL after 5 s) and the answer comes once it has ended,
        so the deadline is stretched past that grace. Jobs waiting on it fail (unless
        added with ``after_any``). An ended job is ``FAILED_PRECONDITION``.
        """
        deadline = self.timeout
        if deadline is not None:
            deadline = max(deadline, _KILL_GRACE + 10.0)
        return await self._queue.Cancel(qu.JobRequest(id=id), timeout=deadline)

    async def queue_retry(self, id: int) -> qu.Job:
        """Queue a failed or cancelled job again with its full number of attempts (its
        earlier attempts stay in ``job.attempts``); any other is ``FAILED_PRECONDITION``."""
        return await self._queue.Retry(qu.JobRequest(id=id), timeout=self.timeout)

    async def queue_wait(self, id: int, timeout: Optional[float] = None) -> qu.Job:
        """The job once it has ended (completed, failed or cancelled).

        Args:
            id: The job.
            timeout: Give up after this many seconds with ``DEADLINE_EXCEEDED``. ``None``
                waits as long as the job takes: a job may run for hours, so the client's
                default deadline for calls does not apply here.
        """
        return await self._queue.Wait(qu.JobRequest(id=id), timeout=timeout)

    async def queue_logs(
        self,
        id: int,
        *,
        attempt: Optional[int] = None,
        lines: Optional[int] = None,
        stream: Stream = None,
    ) -> List[str]:
        """The text of a job's output lines, oldest first (as :meth:`get_logs` gives a
        process's): standard output's, then standard error's.

        Args:
            id: The job (``NOT_FOUND`` when unknown).
            attempt: Which attempt (1 for the first); default the latest.
                ``NOT_FOUND`` for one the job has not had.
            lines: Only the last this many lines of each stream; default all.
            stream: ``"stdout"`` or ``"stderr"`` only; default both.
        """
        return [_text(line) for line in await self.queue_log_lines(id, attempt=attempt, lines=lines, stream=stream)]

    async def queue_log_lines(
        self,
        id: int,
        *,
        attempt: Optional[int] = None,
        lines: Optional[int] = None,
        stream: Stream = None,
    ) -> List[sv.LogLine]:
        """Like :meth:`queue_logs`, as ``LogLine`` messages: ``stream``
        (``LOG_STREAM_STDOUT`` or ``LOG_STREAM_STDERR``) and ``line``, the raw bytes."""
        request = _logs_request(id, attempt, lines, stream, follow=False)
        return [line async for line in self._queue.Logs(request, timeout=self.timeout)]

    async def queue_follow(
        self,
        id: int,
        *,
        attempt: Optional[int] = None,
        lines: Optional[int] = None,
        stream: Stream = None,
    ) -> AsyncIterator[str]:
        """A job's output lines as they are written, until the job has ended.

        Use with ``async for``. Starts with the past lines (``lines``: only the last
        this many; default all), then every new line, moving on to each retry's
        attempt (unless ``attempt`` names one: then until that attempt has ended). A job
        that has not started yet is waited for. The loop ends once the job has ended;
        leaving it earlier cancels the call (at once with ``contextlib.aclosing``, as
        for :meth:`monitor_system`).
        """
        call = self._queue.Logs(_logs_request(id, attempt, lines, stream, follow=True))
        try:
            async for line in call:
                yield _text(line)
        finally:
            call.cancel()

    def queue_watch(self, id: Optional[int] = None, group: Optional[str] = None) -> JobWatch:
        """Every job change from now on: ``JobEvent`` (``id``, ``group``, ``state``,
        ``attempt``, ``exit_code`` once ended, ``reason``), optionally of one job or group.

        ``async with client.queue_watch() as events:`` waits until the daemon watches,
        then ``async for event in events:``; see :class:`JobWatch`. A watcher too slow
        for the daemon's buffer gets ``DATA_LOSS``: :meth:`queue_get` the jobs then.
        """
        return JobWatch(self._queue.Watch(qu.WatchRequest(id=id, group=group)))

    async def queue_pause(self, group: Optional[str] = None) -> List[qu.QueueGroup]:
        """Start no new job in ``group`` (default: every group); running jobs go on.
        Returns the groups changed; an unknown group is ``NOT_FOUND``."""
        return list((await self._queue.Pause(qu.GroupRequest(group=group), timeout=self.timeout)).groups)

    async def queue_resume(self, group: Optional[str] = None) -> List[qu.QueueGroup]:
        """Start jobs again in ``group`` (default: every group); returns the groups changed."""
        return list((await self._queue.Resume(qu.GroupRequest(group=group), timeout=self.timeout)).groups)

    async def queue_clean(
        self, *, completed: bool = False, failed: bool = False, older_than: Seconds = None
    ) -> List[int]:
        """Remove ended jobs and their logs; returns the ids removed.

        Args:
            completed: Completed jobs.
            failed: Failed and cancelled jobs. Neither flag: every ended job.
            older_than: Only jobs that ended at least this many seconds ago (or a
                ``timedelta``).
        """
        request = qu.CleanRequest(completed=completed, failed=failed, older_than_ms=_ms("older_than", older_than))
        return list((await self._queue.Clean(request, timeout=self.timeout)).removed)

    async def queue_put_group(self, name: str, parallel: int) -> qu.QueueGroup:
        """Create a group, or change its concurrency: at most ``parallel`` (1 to 1024) of
        its jobs run at once. A paused group stays paused."""
        request = qu.PutGroupRequest(name=name, parallel=parallel)
        return await self._queue.PutGroup(request, timeout=self.timeout)

    async def queue_groups(self) -> List[qu.QueueGroup]:
        """Every group (``default`` always exists): ``name``, ``parallel``, ``paused``."""
        return list((await self._queue.ListGroups(qu.ListGroupsRequest(), timeout=self.timeout)).groups)

    async def queue_hosts(self) -> List[qu.QueueHost]:
        """The daemons sharing the queue, by name (with the queue on Redis; else this one):
        ``host``, ``version``, ``pid``, ``seen_ms``, ``load``, ``cpus``, ``jobs_running``,
        ``alive`` (false: it stopped registering): the keys of `procward hosts --json`."""
        return list((await self._queue.Hosts(qu.HostsRequest(), timeout=self.timeout)).hosts)
