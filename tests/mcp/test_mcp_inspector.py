"""A second, independent client: the npm MCP inspector's CLI mode drives `procward mcp`.

The inspector lives in target/npm (`npm install --prefix target/npm
@modelcontextprotocol/inspector`); the test installs it there on first use. Without npm,
or offline, or with PROCWARD_TEST_NO_NPM=1, it is skipped, never failed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from mcp_support import ALL_TOOLS, READ_TOOLS, REPO, Home

pytestmark = pytest.mark.timeout(400)

PREFIX = REPO / "target" / "npm"
INSPECTOR = PREFIX / "node_modules" / ".bin" / "mcp-inspector"


def inspector() -> str:
    if INSPECTOR.exists():
        return str(INSPECTOR)
    if os.environ.get("PROCWARD_TEST_NO_NPM"):
        pytest.skip("PROCWARD_TEST_NO_NPM is set and the inspector is not installed in target/npm")
    if not shutil.which("npm") or not shutil.which("node"):
        pytest.skip("npm/node not available: cannot install @modelcontextprotocol/inspector")
    PREFIX.mkdir(parents=True, exist_ok=True)
    try:
        out = subprocess.run(
            ["npm", "install", "--prefix", str(PREFIX), "--no-audit", "--no-fund", "@modelcontextprotocol/inspector"],
            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm install of @modelcontextprotocol/inspector timed out (offline?)")
    if out.returncode != 0 or not INSPECTOR.exists():
        pytest.skip(f"npm install of @modelcontextprotocol/inspector failed: {out.stderr.strip()[-500:]}")
    return str(INSPECTOR)


def run_cli(home: Home, *args: str) -> dict:
    npm_home = home.path / "npm-home"
    npm_home.mkdir(exist_ok=True)
    env = {**os.environ, **home.env, "HOME": str(npm_home)}
    out = subprocess.run(
        [inspector(), "--cli", home.bin, "mcp", *args], capture_output=True, text=True, timeout=120,
        env=env, stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, f"inspector failed ({out.returncode}): {out.stderr[-2000:]}"
    return json.loads(out.stdout)


def test_inspector_lists_every_tool(home):
    listing = run_cli(home, "--method", "tools/list")
    names = {tool["name"] for tool in listing["tools"]}
    assert names == ALL_TOOLS
    for tool in listing["tools"]:
        assert tool["inputSchema"]["type"] == "object"
        assert tool["annotations"]["readOnlyHint"] in (True, False)


def test_inspector_calls_tools(home):
    answer = run_cli(home, "--method", "tools/call", "--tool-name", "get_process_info", "--tool-arg", f"pid={os.getpid()}")
    assert answer.get("isError") is not True
    assert answer["structuredContent"]["pid"] == os.getpid()

    missing = run_cli(home, "--method", "tools/call", "--tool-name", "get_process_status", "--tool-arg", "name=nobody")
    assert missing["isError"] is True and "nobody" in missing["content"][0]["text"]


def test_inspector_passes_optional_integers_as_numbers(home):
    """The inspector converts `--tool-arg k=v` to a number only when the property's schema
    says `"type": "integer"`; optional fields typed `["integer", "null"]` arrive as strings."""
    refused = run_cli(home, "--method", "tools/call", "--tool-name", "kill_process", "--tool-arg", "pid=1")
    text = refused["content"][0]["text"]
    assert refused["isError"] is True
    assert "refused pid 1" in text, f"kill_process pid=1 from the inspector was not understood: {text}"

    listing = run_cli(home, "--method", "tools/call", "--tool-name", "list_system_processes", "--tool-arg", "limit=3")
    text = listing["content"][0]["text"]
    assert listing.get("isError") is not True, f"list_system_processes limit=3 from the inspector failed: {text}"
    assert len(listing["structuredContent"]["processes"]) == 3


def test_inspector_read_only(home):
    listing = run_cli(home, "--read-only", "--method", "tools/list")
    assert {tool["name"] for tool in listing["tools"]} == READ_TOOLS
