"""Fixtures for the desktop app's tests (see desktop_support.py).

- `home`: a private PROCWARD_HOME; at teardown its managed processes are deleted, its
  daemon (if a test started one) is stopped, and the test fails if any process of that
  home is still alive.
- `desktop`: Xvfb + a private session bus + a StatusNotifierWatcher stand-in +
  procward-desktop for `home`, all ended at teardown.
- `children`: processes the test starts itself, ended by pid at teardown.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from desktop_support import APP, PROCWARD, Desktop, end, procward, tools_missing  # noqa: E402


def pytest_sessionstart(session):
    missing = tools_missing()
    assert not missing, f"missing {missing}: .ci/run installs xvfb, dbus, xdotool and imagemagick"
    assert APP.is_file(), f"{APP} is not built: cargo build --manifest-path desktop/Cargo.toml"
    assert PROCWARD.is_file(), f"{PROCWARD} is not built: cargo build -p procward"


def processes_of_home(home: Path) -> list[int]:
    """Live processes whose environment names this PROCWARD_HOME."""
    needle = f"PROCWARD_HOME={home}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ.split(b"\0") and state != "Z":
            found.append(int(entry))
    return found


@pytest.fixture
def home():
    # Short: the daemon's Unix socket lives in it.
    path = Path(tempfile.mkdtemp(prefix="pw-desk-"))
    yield path
    status = procward(path, "daemon", "status", "--json", check=False)
    if status.returncode == 0 and json.loads(status.stdout or "{}").get("pid"):
        listed = procward(path, "list", "--json", check=False)
        names = [p["spec"]["name"] for p in json.loads(listed.stdout or "[]")]
        if names:
            procward(path, "delete", *names, check=False)
        procward(path, "daemon", "stop", check=False)
    left = processes_of_home(path)
    shutil.rmtree(path, ignore_errors=True)
    assert not left, f"processes of {path} left behind: {left}"


@pytest.fixture
def desktop(home):
    d = Desktop(home)
    try:
        yield d
    finally:
        d.close()


@pytest.fixture
def children():
    started = []
    yield started
    for process in started:
        end(process)
