#!/usr/bin/env bash
# The whole test suite, as README.md gives it: the Rust workspace (cargo test), then the
# Python client's tests against a real daemon (pytest, in a virtualenv under target/).
# Extra arguments go to `cargo test`. Then the MCP server's tests with the official Python
# MCP SDK (tests/mcp), in the same virtualenv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo test --workspace "$@"

# The Python client (clients/python) drives the debug binary that cargo test just built.
cargo build -p procward --quiet
venv=target/pyenv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  './clients/python[test]' -r tests/mcp/requirements.txt
export PROCWARD_BIN="$PWD/target/debug/procward"
# Each suite runs with its own pytest configuration; both run even if one fails.
status=0
(cd clients/python && "../../$venv/bin/python" -m pytest tests -q -p no:cacheprovider) || status=1
(cd tests/mcp && "../../$venv/bin/python" -m pytest -q -p no:cacheprovider) || status=1
exit "$status"
