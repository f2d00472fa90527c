"""Fixtures for the MCP tests (see README.md).

- `home`: a private PROCWARD_HOME with an empty config file (`make_home(config)` for
  more, or another config); at teardown its managed processes are deleted, its daemon is
  stopped (whether `procward mcp` started it detached or `http_daemon` started it in the
  foreground), and the test fails if any process of that home is still alive.
- `children`: processes the test starts itself, killed by pid at teardown.
- `http_daemon`: `procward daemon --listen 127.0.0.1:0` for `home`; yields (url, token).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mcp_support import Children, Home, processes_of_home  # noqa: E402


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_home():
    """`make_home(config="...")` -> a Home; all are cleaned up and checked at teardown."""
    homes: list[Home] = []

    def make(config: str = "") -> Home:
        homes.append(Home(config))
        return homes[-1]

    yield make
    for h in homes:
        h.cleanup()
    for h in homes:
        left = processes_of_home(h.path)
        assert not left, f"processes of {h.path} left behind: {left}"


@pytest.fixture
def home(make_home) -> Home:
    return make_home()


@pytest.fixture
def children():
    c = Children()
    try:
        yield c
    finally:
        c.cleanup()


@pytest.fixture
def http_daemon(home: Home) -> tuple[str, str]:
    return home.start_tcp_daemon()
