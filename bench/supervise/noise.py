"""How busy the machine is besides the benchmark: CPU of foreign processes, steal, PSI,
and waiting for a quiet machine before a figure is taken."""

from __future__ import annotations

import os
import time
from pathlib import Path

from procs import CLK, ancestors, cpu_busy, has_marker, log, pids


class Foreign:
    """CPU used by everything that is not this benchmark, phase by phase.

    Sums utime+stime+cutime+cstime over every process without the run's marker (and not
    an ancestor of this driver): a process that ends inside a phase shows up in its
    parent's cutime, so short compiler runs of someone else are counted too (except in
    init's, which also reaps this benchmark's own detached daemons). Reported as
    % of the whole machine (all CPUs), so a figure can be read knowing what else ran.
    """

    def __init__(self, marker: bytes):
        self.marker = marker
        self.mine = ancestors(os.getpid())
        self.ncpu = os.cpu_count() or 1
        self.start()

    @staticmethod
    def _steal() -> int:
        """Ticks the hypervisor gave to others while this VM wanted to run."""
        f = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(f[8]) if len(f) > 8 else 0

    def _ticks(self) -> int:
        total = 0
        for p in pids():
            if p in self.mine or has_marker(p, self.marker):
                continue
            try:
                raw = Path(f"/proc/{p}/stat").read_text()
            except OSError:
                continue
            f = raw[raw.rindex(")") + 2 :].split()
            if f[0] in ("Z", "X"):  # a zombie's environ is gone: it may be one of ours
                continue
            total += int(f[11]) + int(f[12])
            if p != 1:  # init reaps the detached daemons of this benchmark (pm2, procward)
                total += int(f[13]) + int(f[14])
        return total

    def start(self) -> None:
        self.t, self.ticks, self.st = time.monotonic(), self._ticks(), self._steal()

    def stop(self) -> tuple[float, float]:
        """(others' CPU, hypervisor steal) since start(), each in % of the whole machine."""
        t, ticks, st = time.monotonic(), self._ticks(), self._steal()
        el = max(1e-3, t - self.t)
        return (round(max(0, ticks - self.ticks) / CLK / el / self.ncpu * 100, 1),
                round(max(0, st - self.st) / CLK / el / self.ncpu * 100, 1))


def psi_cpu_some_us() -> int | None:
    try:
        for line in Path("/proc/pressure/cpu").read_text().splitlines():
            if line.startswith("some"):
                return int(line.rsplit("total=", 1)[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def wait_quiet(limit_pct: float, max_wait: float) -> dict:
    """Waits (up to max_wait s) until the machine is mostly idle before a tool's run:
    other work on a 2-core machine skews every figure."""
    t0 = time.monotonic()
    busy = cpu_busy()
    while busy > limit_pct and time.monotonic() - t0 < max_wait:
        log(f"machine {busy:.0f} % busy (others' work): waiting for under {limit_pct:.0f} %")
        time.sleep(4)
        busy = cpu_busy()
    return {"busy_pct": round(busy, 1), "waited_s": round(time.monotonic() - t0, 1),
            "loadavg": Path("/proc/loadavg").read_text().split()[:3]}
