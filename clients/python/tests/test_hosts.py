"""The fleet view (``queue_hosts``) against a real daemon on the embedded queue: exactly
this daemon, alive, with its pid, version and CPUs."""

from __future__ import annotations

import os

import procward
from conftest import Daemon


async def test_queue_hosts_lists_this_daemon_alive(daemon: Daemon, pw: procward.ProcessManagerServiceClient) -> None:
    hosts = await pw.queue_hosts()
    assert len(hosts) == 1, hosts
    host = hosts[0]
    assert host.alive, host
    assert host.pid == daemon.proc.pid, (host, daemon.proc.pid)
    assert host.host and host.version, host
    assert 1 <= host.cpus <= (os.cpu_count() or 1), host
    assert host.jobs_running == 0, host
    assert host.seen_ms > 0, host
    # the CLI's `procward hosts --json` keys, so a dict of it reads the same
    fields = [f.name for f in host.DESCRIPTOR.fields]
    assert set(fields) == {"host", "version", "pid", "seen_ms", "load", "cpus", "jobs_running", "alive", "managed"}, fields
    assert list(host.managed) == [], host
