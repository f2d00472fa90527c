"""A procward daemon with a TCP listener in a private home, per test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Daemon:
    url: str
    token: str
    home: Path


@pytest.fixture
def daemon():
    yield from run_daemon()


@pytest.fixture
def quick_idle_daemon():
    """A daemon whose TCP idle timeout is 1 s."""
    yield from run_daemon("--idle-timeout", "1s")


@pytest.fixture
def quick_auth_daemon():
    """A daemon whose clients must authenticate within 1 s (the handshake timeout)."""
    yield from run_daemon("--handshake-timeout", "1s")


def run_daemon(*extra):
    binary = os.environ.get("PROCWARD_BIN") or str(REPO / "target" / "debug" / "procward")
    with tempfile.TemporaryDirectory(prefix="procward-sio-") as tmp:
        home = Path(tmp)
        env = {**os.environ, "PROCWARD_HOME": str(home), "XDG_CONFIG_HOME": str(home / "config")}
        proc = subprocess.Popen([binary, "daemon", "--listen", "127.0.0.1:0", *extra], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 10
            while not (home / "tcp.json").exists():
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"daemon did not listen: {proc.stderr.read().decode() if proc.poll() is not None else ''}")
                time.sleep(0.02)
            address = json.loads((home / "tcp.json").read_text())["address"]
            yield Daemon(f"http://{address}", (home / "token").read_text().strip(), home)
        finally:
            subprocess.run([binary, "daemon", "stop"], env=env, capture_output=True, timeout=15)
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
