"""``ProcessManagerServiceClient``: async methods over ``procward.v1.ProcessManagerService``,
and over ``procward.v1.Queue`` as its ``queue_*`` methods (``procward.queue``)."""

from __future__ import annotations

from typing import AsyncIterator, List, Mapping, Optional, Sequence, Union

import grpc
import grpc.aio

try:
    from procward.v1 import process_manager_pb2 as pm
    from procward.v1 import process_manager_pb2_grpc as pm_grpc
    from procward.queue import QueueMethods
except ImportError as e:  # pragma: no cover - only in a source tree that was never built
    raise ImportError(
        "procward's generated gRPC modules are missing: install the package "
        "(pip install ./clients/python, or pip install -e ./clients/python) so that "
        "grpcio-tools generates them from proto/"
    ) from e

__all__ = ["ProcessManagerServiceClient"]


class ProcessManagerServiceClient(QueueMethods):
    """Async client for every OS process on the daemon's machine, and for its job queue
    (the ``queue_*`` methods, from :class:`procward.queue.QueueMethods`).

    Results are the protobuf messages themselves (``info.cpu_percent``,
    ``result.error.message``). A failed call raises ``grpc.aio.AioRpcError``
    (re-exported as ``procward.RpcError``); ``err.code()`` is a ``grpc.StatusCode``
    such as ``NOT_FOUND`` (unknown pid), ``INVALID_ARGUMENT`` (pid 0 or 1, bad
    interval, empty command) or ``UNAUTHENTICATED`` (missing or wrong token); for jobs
    also ``FAILED_PRECONDITION`` (cancel an ended job, retry a queued or running one).

    The client does not own a connection of its own: ``async with client`` (or
    ``await client.close()``) closes the channel it was given.

    Args:
        channel: A channel from :func:`procward.connect` or
            :func:`procward.connect_from_home` (they add the bearer token).
        timeout: Default deadline in seconds for unary calls (``None``: no deadline).
    """

    def __init__(self, channel: grpc.aio.Channel, *, timeout: Optional[float] = None) -> None:
        self._channel = channel
        self._stub = pm_grpc.ProcessManagerServiceStub(channel)
        self._init_queue(channel)
        self.timeout = timeout

    @property
    def channel(self) -> grpc.aio.Channel:
        """The channel this client calls through."""
        return self._channel

    async def close(self) -> None:
        """Close the channel (cancelling calls still running on it)."""
        await self._channel.close()

    async def __aenter__(self) -> "ProcessManagerServiceClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def get_system_info(self) -> pm.SystemInfo:
        """CPU, memory, root disk, temperatures, boot time and uptime."""
        return await self._stub.GetSystemInfo(pm.GetSystemInfoRequest(), timeout=self.timeout)

    async def list_processes(
        self,
        *,
        name: Optional[str] = None,
        user: Optional[str] = None,
        sort: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> List[pm.ProcessInfo]:
        """Every OS process, optionally filtered, sorted and limited.

        Args:
            name: Keep processes whose name or command contains this (case-insensitive).
            user: Keep processes of this user (login name or uid).
            sort: ``cpu`` (the daemon's default), ``mem``, ``pid``, ``name`` or ``uptime``;
                cpu and mem sort descending.
            limit: At most this many, after sorting.
        """
        request = pm.ListProcessesRequest(name=name, user=user, sort=sort, limit=limit)
        response = await self._stub.ListProcesses(request, timeout=self.timeout)
        return list(response.processes)

    async def get_process_info(self, pid: int) -> pm.ProcessInfo:
        """One OS process; ``NOT_FOUND`` when it does not exist."""
        return await self._stub.GetProcessInfo(pm.GetProcessInfoRequest(pid=pid), timeout=self.timeout)

    async def kill_process(
        self,
        pid: int,
        *,
        expected_start_time: Optional[int] = None,
        expected_start_ticks: Optional[int] = None,
        signal: Union[str, int, None] = None,
        timeout_seconds: Optional[float] = None,
        force: bool = False,
    ) -> pm.ActionResult:
        """Stop a process: ``signal`` (default SIGTERM), then SIGKILL after the timeout.

        Args:
            pid: The process. Bad or protected pids raise ``INVALID_ARGUMENT``, unknown
                ones ``NOT_FOUND``.
            expected_start_time: Refuse unless the process started at this Unix second
                (``ProcessInfo.start_time``). Coarse: a pid reused within the same second
                passes; prefer ``expected_start_ticks``.
            expected_start_ticks: Refuse unless the process started at this many clock
                ticks after boot (``ProcessInfo.start_ticks``, 1/100 s): the exact check, so
                a recycled pid is never hit. With both given, both must match.
            signal: First signal, a name (``"SIGINT"``) or number.
            timeout_seconds: Seconds before SIGKILL (daemon default 5).
            force: SIGKILL at once.

        Returns:
            ``ActionResult``: ``success``, and ``error.message``/``error.code`` when the
            kill itself failed (``permission_denied``, ``survived``...).
        """
        request = pm.KillProcessRequest(
            pid=pid,
            expected_start_time=expected_start_time,
            expected_start_ticks=expected_start_ticks,
            signal=None if signal is None else str(signal),
            timeout_seconds=timeout_seconds,
            force=force,
        )
        deadline = self.timeout
        if deadline is not None and timeout_seconds is not None:
            deadline = max(deadline, timeout_seconds + 5.0)
        return await self._stub.KillProcess(request, timeout=deadline)

    async def start_process(
        self,
        command: str,
        args: Optional[Sequence[str]] = None,
        env: Optional[Mapping[str, str]] = None,
        working_dir: Optional[str] = None,
        *,
        name: Optional[str] = None,
    ) -> pm.ProcessInfo:
        """Start ``command args...`` as a managed process whose output the daemon logs.

        Args:
            command: The program (looked up on the daemon's PATH when it has no slash).
            args: Its arguments.
            env: Extra environment variables.
            working_dir: Where it runs (default: the daemon's working directory).
            name: Managed name (default: derived from the program).
        """
        request = pm.StartProcessRequest(
            command=command,
            args=list(args or ()),
            env=dict(env or {}),
            working_dir=working_dir,
            name=name,
        )
        return await self._stub.StartProcess(request, timeout=self.timeout)

    async def get_logs(self, pid: int, max_lines: int = 100) -> List[str]:
        """The text of the last ``max_lines`` lines (1 to 100000) of a process started
        by procward, oldest first, stdout and stderr interleaved as they were written.

        ``for line in await client.get_logs(pid): print(line)`` prints the output.
        :meth:`get_log_entries` also says which stream each line came from. A pid the
        daemon never started raises ``NOT_FOUND``.
        """
        return [entry.content for entry in await self.get_log_entries(pid, max_lines)]

    async def get_log_entries(self, pid: int, max_lines: int = 100) -> List[pm.LogEntry]:
        """Like :meth:`get_logs`, as ``LogEntry`` messages: ``stream`` (``"stdout"`` or
        ``"stderr"``) and ``content``."""
        response = await self._stub.GetLogs(pm.GetLogsRequest(pid=pid, max_lines=max_lines), timeout=self.timeout)
        return list(response.lines)

    async def monitor_system(self, interval_seconds: float = 1.0) -> AsyncIterator[pm.SystemInfo]:
        """System figures every ``interval_seconds`` (0.1 to 3600), until you stop.

        Use with ``async for``. Leaving the loop cancels the call so the daemon frees
        it; the cancel runs when the generator is closed, which is at once with
        ``async with contextlib.aclosing(client.monitor_system(0.5)) as samples:``
        and otherwise when the generator is garbage collected.
        """
        call = self._stub.MonitorSystem(pm.MonitorSystemRequest(interval_seconds=interval_seconds))
        try:
            async for info in call:
                yield info
        finally:
            call.cancel()
