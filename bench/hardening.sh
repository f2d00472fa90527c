#!/usr/bin/env bash
# bench/hardening.sh: the hardening figures of issue 10, one command.
#
#   - PID reuse forced in a fresh PID namespace (root only): the CLI, gRPC, MCP and
#     socket.io doors each asked to kill a victim whose pid a successor now holds, with
#     the victim's start_ticks (tests/torture/reuse_driver.py): reuses tried, how many
#     within the victim's start second, wrong kills. For scale, the same reuses checked by
#     seconds only (what every door did before start_ticks) would let the same-second ones
#     through.
#   - The TCP listener under abuse (bench/hardening/listener.py), one release daemon on
#     127.0.0.1 with a small limit: an idle flood of 2,000 connections, 100 slow-loris
#     clients, 100 partial request lines: how many were held, how fast each was closed,
#     the daemon's RSS and descriptors, and `procward list` over the Unix socket meanwhile.
#     (Before issue 10 the listener kept 3,000 idle connections, slow-loris clients for
#     40 s and more, and a partial request line for 70 s and more.)
# Raw JSON goes to bench/out/hardening/, the figures to bench/RESULTS.md (hardening section).
#
# Usage: bash bench/hardening.sh
# Env:   BENCH_REUSES_PER_DOOR=50 BENCH_FLOOD=2000 BENCH_LORIS=100
#        BENCH_MAX_CONNECTIONS=256 BENCH_TIMEOUT=5s (long enough to open the whole flood)
# The daemon it starts is stopped by pid on exit; the torture's processes live in their
# own PID namespace and end with it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="bench/out/hardening"
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/meta.env

"$ROOT/scripts/release.sh"
PW="$ROOT/target/release/procward"
VENV="bench/.peers/pyenv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  ./clients/python -r tests/mcp/requirements.txt -r tests/socketio/requirements.txt

{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpus=$(nproc)"
  echo "cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "kernel=$(uname -r)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "nofile=$(ulimit -Sn)/$(ulimit -Hn)"
} >"$OUT/meta.env"

# --- PID reuse ---------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ] && unshare --pid --fork --mount-proc true 2>/dev/null; then
  echo "== PID reuse through every door"
  PROCWARD_BIN="$PW" PW_REUSES_PER_DOOR="${BENCH_REUSES_PER_DOOR:-50}" \
    unshare --pid --fork --mount-proc "$VENV/bin/python" tests/torture/reuse_driver.py |
    tee "$OUT/reuse.log"
  grep '^TOTAL ' "$OUT/reuse.log" | cut -d' ' -f2- >"$OUT/reuse.json"
else
  echo "== PID reuse skipped: needs root and a new PID namespace"
fi

# --- the TCP listener ----------------------------------------------------------------
HOME_DIR="$(mktemp -d /tmp/procward-bench-hardening.XXXXXX)"
DAEMON=""
cleanup() {
  [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null || true
  rm -rf "$HOME_DIR"
}
trap cleanup EXIT
LIMIT="${BENCH_MAX_CONNECTIONS:-256}"
TIMEOUT="${BENCH_TIMEOUT:-5s}"
PROCWARD_HOME="$HOME_DIR" "$PW" daemon --listen 127.0.0.1:0 --max-connections "$LIMIT" \
  --handshake-timeout "$TIMEOUT" --header-read-timeout "$TIMEOUT" 2>/dev/null &
DAEMON=$!
for _ in $(seq 200); do
  [ -s "$HOME_DIR/tcp.json" ] && break
  sleep 0.05
done
[ -s "$HOME_DIR/tcp.json" ] || { echo "the daemon did not open its TCP listener" >&2; exit 1; }
PORT="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["address"].rsplit(":",1)[1])' "$HOME_DIR/tcp.json")"
echo "== the TCP listener under abuse (limit $LIMIT, timeouts $TIMEOUT)"
python3 bench/hardening/listener.py --procward "$PW" --home "$HOME_DIR" --daemon-pid "$DAEMON" \
  --port "$PORT" --max-connections "$LIMIT" --timeout-s "${TIMEOUT%s}" \
  --flood "${BENCH_FLOOD:-2000}" --loris "${BENCH_LORIS:-100}" | tee "$OUT/listener.json"

python3 bench/hardening_report.py "$OUT" bench/RESULTS.md
echo "figures written to bench/RESULTS.md (hardening section)"
