"""PID reuse forced in a fresh PID namespace: every door that kills by pid must refuse
the successor that got the victim's pid, even within the same second. Needs root (to
create the namespace and write /proc/sys/kernel/ns_last_pid); prints `skipped: ...`
otherwise. The work is done by reuse_driver.py as PID 1 of the namespace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# At least 100 reuses in all (4 doors), most of them within the victim's start second.
PER_DOOR = 30


def procward_bin() -> str:
    path = os.environ.get("PROCWARD_BIN") or str(REPO / "target" / "debug" / "procward")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"procward binary not found at {path}: run `cargo build -p procward` or set PROCWARD_BIN")
    return path


def test_no_door_signals_a_recycled_pid() -> None:
    if os.geteuid() != 0:
        print("skipped: the PID-reuse torture needs root (a new PID namespace, ns_last_pid)")
        return
    unshare = shutil.which("unshare")
    if unshare is None:
        print("skipped: unshare (util-linux) is not installed")
        return
    probe = subprocess.run([unshare, "--pid", "--fork", "--mount-proc", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"skipped: cannot create a PID namespace here: {probe.stderr.strip()}")
        return
    env = {**os.environ, "PROCWARD_BIN": procward_bin(), "PW_REUSES_PER_DOOR": str(PER_DOOR)}
    run = subprocess.run(
        [unshare, "--pid", "--fork", "--mount-proc", sys.executable, str(HERE / "reuse_driver.py")],
        env=env, capture_output=True, text=True, timeout=840)
    print(run.stdout)
    assert run.returncode == 0, f"driver failed ({run.returncode}):\n{run.stdout}\n{run.stderr[-4000:]}"
    total = json.loads(run.stdout.split("TOTAL ", 1)[1].splitlines()[0])
    print(f"PID reuses tried: {total['reuses']} ({total['same_second']} within the same second), "
          f"wrong kills: {total['wrong_kills']}, refused: {total['refused']}")
    assert total["wrong_kills"] == 0, total
    assert total["reuses"] >= 100, total
    assert all(n >= PER_DOOR for n in total["doors"].values()), total
    assert total["same_second"] >= 4 * (PER_DOOR * 3 // 4), total
    # Every attempt was refused, saying which identity differed.
    assert total["refused"] == total["reuses"] and not total["unclear"], total
    assert total["seen_wrong"] == 0, total
