#!/usr/bin/env bash
# The whole test suite, as README.md gives it:
#   1. the Rust workspace (cargo test; extra arguments go to it), then the queue's
#      contract suite again with the queue on Redis (a redis-server of its own);
#   2. Python suites against real daemons, in a virtualenv under target/pyenv: the
#      Python client (clients/python), MCP with the official SDK (tests/mcp), socket.io
#      with python-socketio (tests/socketio);
#   3. Node suites: socket.io with the npm client (tests/socketio) and the dashboard end
#      to end in headless Chromium with playwright-core (tests/web);
#   4. the desktop app (desktop/, a workspace of its own): its unit tests, then its tray
#      and window under Xvfb with a private D-Bus session (tests/desktop).
# Every suite runs even when an earlier one fails; the exit status says whether all passed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
run() {
  echo "== $*"
  "$@" || status=1
}

run cargo test --workspace --no-fail-fast "$@"
run scripts/with-redis.sh cargo test -p procward-daemon --test queue --test queue_schedules --no-fail-fast
run cargo test --manifest-path desktop/Cargo.toml --no-fail-fast

cargo build -p procward --quiet || exit 1
cargo build --manifest-path desktop/Cargo.toml --quiet || exit 1
export PROCWARD_BIN="$PWD/target/debug/procward"

venv="$PWD/target/pyenv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" || exit 1
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  './clients/python[test]' -r tests/mcp/requirements.txt -r tests/socketio/requirements.txt \
  -r tests/desktop/requirements.txt || exit 1
# Each Python suite runs with its own pytest configuration.
run bash -c "cd clients/python && '$venv/bin/python' -m pytest tests -q -p no:cacheprovider"
run bash -c "cd tests/mcp && '$venv/bin/python' -m pytest -q -p no:cacheprovider"
run bash -c "cd tests/socketio && '$venv/bin/python' -m pytest -q -p no:cacheprovider"
run bash -c "cd tests/torture && '$venv/bin/python' -m pytest -q -p no:cacheprovider"
run bash -c "cd tests/desktop && '$venv/bin/python' -m pytest -q -p no:cacheprovider"

for suite in tests/socketio tests/web; do
  npm ci --prefix "$suite" --no-audit --no-fund --silent || exit 1
done
run bash -c "cd tests/socketio && node --test --test-timeout=60000 socketio.test.mjs replicas.test.mjs"
run node tests/web/dashboard.test.mjs

exit "$status"
