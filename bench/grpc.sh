#!/usr/bin/env bash
# bench/grpc.sh: the gRPC API benchmark (issue 4), one command.
#
# With 300 extra `sleep` processes on the machine, against one release daemon serving
# gRPC on 127.0.0.1 (token required, as a real client would meet it):
#   - ListProcesses latency, p50 and p99, from a Rust client (crates/cli/examples/
#     grpc_latency.rs, tonic) and from the Python client (bench/grpc/py_latency.py);
#     `ps aux` (what a script would run instead) timed by hyperfine for scale;
#   - 100 concurrent MonitorSystem subscribers at 0.5 s (bench/grpc/monitor_load.py):
#     the daemon's CPU (% of one core) and RSS, idle, loaded and after they leave.
# Raw JSON goes to bench/out/grpc/, the figures to bench/RESULTS.md (grpc section).
#
# Usage: bash bench/grpc.sh
# Env:   BENCH_RUST_CALLS=5000 BENCH_PY_CALLS=1000 BENCH_SUBSCRIBERS=100
#        BENCH_MONITOR_SECS=20 BENCH_EXTRA_PROCS=300
# Everything it starts (sleeps, the daemon) is stopped by pid on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="bench/out/grpc"
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/meta.env
EXTRA="${BENCH_EXTRA_PROCS:-300}"

# --- build and the Python client ------------------------------------------------
cargo build --release -p procward --example grpc_latency
PW="$ROOT/target/release/procward"
LATENCY="$ROOT/target/release/examples/grpc_latency"
VENV="bench/.peers/pyenv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check ./clients/python
if ! command -v hyperfine >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -qq hyperfine >/dev/null 2>&1 || echo "hyperfine unavailable: no ps aux reference"
fi
HAVE_HYPERFINE=0
command -v hyperfine >/dev/null && HAVE_HYPERFINE=1

# --- load and the daemon, cleaned up on exit -------------------------------------
HOME_DIR="$(mktemp -d /tmp/procward-bench-grpc.XXXXXX)"
PIDS=()
DAEMON=""
cleanup() {
  [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null || true
  [ "${#PIDS[@]}" -gt 0 ] && kill "${PIDS[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$HOME_DIR"
}
trap cleanup EXIT
for _ in $(seq "$EXTRA"); do
  sleep 3600 &
  PIDS+=("$!")
done
PROCWARD_HOME="$HOME_DIR" "$PW" daemon --listen 127.0.0.1:0 2>/dev/null &
DAEMON=$!
for _ in $(seq 200); do
  [ -s "$HOME_DIR/tcp.json" ] && break
  sleep 0.05
done
[ -s "$HOME_DIR/tcp.json" ] || { echo "the daemon did not open its TCP listener" >&2; exit 1; }

{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpus=$(nproc)"
  echo "cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "kernel=$(uname -r)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "processes=$(ls -d /proc/[0-9]* | wc -l)"
  echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "python=$("$VENV/bin/python" -c 'import sys, grpc; print(sys.version.split()[0], "grpcio", grpc.__version__)')"
} >"$OUT/meta.env"

# The monitor first: its idle window must not include the process sampler that the
# latency calls keep busy (it ticks for 30 s after the last read).
echo "== ${BENCH_SUBSCRIBERS:-100} MonitorSystem subscribers at 0.5 s"
"$VENV/bin/python" bench/grpc/monitor_load.py --home "$HOME_DIR" --daemon-pid "$DAEMON" \
  --subscribers "${BENCH_SUBSCRIBERS:-100}" --interval 0.5 --seconds "${BENCH_MONITOR_SECS:-20}" |
  tee "$OUT/monitor.json"
echo "== ListProcesses latency (Rust client)"
PROCWARD_HOME="$HOME_DIR" "$LATENCY" "${BENCH_RUST_CALLS:-5000}" | tee "$OUT/rust.json"
echo "== ListProcesses latency (Python client)"
"$VENV/bin/python" bench/grpc/py_latency.py --home "$HOME_DIR" --calls "${BENCH_PY_CALLS:-1000}" |
  tee "$OUT/python.json"
if [ "$HAVE_HYPERFINE" = 1 ]; then
  echo "== ps aux, for scale"
  hyperfine --warmup 3 --runs 30 --export-json "$OUT/ps.json" --output null 'ps aux' >/dev/null
fi
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.env"

python3 bench/grpc_report.py "$OUT" bench/RESULTS.md
echo "figures written to bench/RESULTS.md"
