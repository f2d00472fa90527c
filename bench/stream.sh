#!/usr/bin/env bash
# bench/stream.sh: throughput and latency of the socket.io output stream (issue 6).
#
# One release daemon listening on 127.0.0.1; the npm socket.io-client (bench/stream/) as
# the clients:
#   - one process writes BENCH_MB MiB (default 200) of text flat out: MB/s received by 1
#     client, and by each of BENCH_CLIENTS (default 50) clients watching the same session;
#   - a process prints its clock every 10 ms: write-to-client delay, p50 and p99, with 1
#     and with BENCH_CLIENTS clients.
# Raw JSON goes to bench/out/stream/, the figures to bench/RESULTS.md (stream section).
# Usage: bash bench/stream.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="bench/out/stream"
mkdir -p "$OUT"
"$ROOT/scripts/release.sh"
npm ci --prefix bench/stream --no-audit --no-fund --silent
PW="$ROOT/target/release/procward"
HOME_DIR="$(mktemp -d /tmp/procward-bench-stream.XXXXXX)"
DAEMON=""
cleanup() {
  [ -n "$DAEMON" ] && PROCWARD_HOME="$HOME_DIR" "$PW" daemon stop >/dev/null 2>&1
  [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$HOME_DIR"
}
trap cleanup EXIT
PROCWARD_HOME="$HOME_DIR" "$PW" daemon --listen 127.0.0.1:0 2>/dev/null &
DAEMON=$!
for _ in $(seq 200); do [ -s "$HOME_DIR/tcp.json" ] && break; sleep 0.05; done
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpus=$(nproc)"
  echo "cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "node=$(node --version)"
  echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/meta.env"
node bench/stream/stream.mjs --home "$HOME_DIR" --mb "${BENCH_MB:-200}" \
  --clients "${BENCH_CLIENTS:-50}" --latency-seconds "${BENCH_LATENCY_SECS:-10}" | tee "$OUT/stream.json"
python3 bench/stream_report.py "$OUT" bench/RESULTS.md
echo "figures written to bench/RESULTS.md"
