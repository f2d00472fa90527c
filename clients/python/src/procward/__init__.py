"""Async Python client for the procward daemon's gRPC API.

>>> import asyncio, procward
>>> async def main():
...     async with procward.ProcessManagerServiceClient(procward.connect_from_home()) as pw:
...         for p in await pw.list_processes(sort="cpu", limit=5):
...             print(p.pid, p.name, p.cpu_percent)
>>> asyncio.run(main())  # doctest: +SKIP

The same client runs jobs from the daemon's queue (``queue_add``, ``queue_wait``,
``queue_logs``, ``queue_watch``, ...; see ``procward.queue``).

Errors from the daemon are raised as ``grpc.aio.AioRpcError`` (``procward.RpcError``);
``procward.status_code(err)`` gives its ``grpc.StatusCode``.
"""

from __future__ import annotations

from typing import Optional

import grpc
import grpc.aio

from procward._auth import connect, connect_from_home, default_home, read_home
from procward.client import ProcessManagerServiceClient
from procward.queue import FINAL_JOB_STATES, JOB_STATES, JobWatch, job_state

__version__ = "0.1.0"

#: The exception every failed call raises (``err.code()``, ``err.details()``).
RpcError = grpc.aio.AioRpcError
#: ``StatusCode.NOT_FOUND``, ``StatusCode.INVALID_ARGUMENT``, ...
StatusCode = grpc.StatusCode


def status_code(error: BaseException) -> Optional[grpc.StatusCode]:
    """The gRPC status of a failed call, or ``None`` for any other exception."""
    if isinstance(error, grpc.RpcError) and hasattr(error, "code"):
        return error.code()
    return None


__all__ = [
    "FINAL_JOB_STATES",
    "JOB_STATES",
    "JobWatch",
    "ProcessManagerServiceClient",
    "RpcError",
    "StatusCode",
    "connect",
    "connect_from_home",
    "default_home",
    "job_state",
    "read_home",
    "status_code",
]
