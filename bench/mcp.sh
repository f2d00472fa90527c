#!/usr/bin/env bash
# bench/mcp.sh: the MCP server benchmark (issue 5), one command.
#
# With about 100 processes on the machine (extra `sleep`s started to reach it), against
# one release daemon serving /mcp on 127.0.0.1 (bearer token, as a real client meets it)
# and `procward mcp` on stdio:
#   - round trips of list_system_processes and get_process_logs, p50 and p99, over stdio
#     and HTTP, from the Python MCP SDK (bench/mcp/sdk_latency.py) and from minimal
#     JSON-RPC clients without the SDK (bench/mcp/raw_latency.py);
#   - the size of a list_system_processes result (default arguments) as JSON;
#   - VmRSS of the stdio server (`procward mcp`, the SDK client's child) and the daemon;
#   - kill_process with pid -1, 0, 1, 4294967295: refused as tool errors, nothing signalled.
# Raw JSON goes to bench/out/mcp/, the figures to bench/RESULTS.md (mcp section).
#
# Usage: bash bench/mcp.sh
# Env:   BENCH_CALLS=300 BENCH_WARMUP=30 BENCH_TARGET_PROCS=100
# Everything it starts (sleeps, the daemon, the managed log writer) is stopped by pid on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="bench/out/mcp"
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/meta.env
CALLS="${BENCH_CALLS:-300}"
WARMUP="${BENCH_WARMUP:-30}"
TARGET="${BENCH_TARGET_PROCS:-100}"

# --- build and the Python SDK -----------------------------------------------------
"$ROOT/scripts/release.sh"
PW="$ROOT/target/release/procward"
VENV="target/pyenv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/mcp/requirements.txt

# --- load and the daemon, cleaned up on exit -------------------------------------
HOME_DIR="$(mktemp -d /tmp/procward-bench-mcp.XXXXXX)"
: >"$HOME_DIR/config.toml"
export PROCWARD_CONFIG="$HOME_DIR/config.toml"
PIDS=()
DAEMON=""
LOGGER=""
cleanup() {
  if [ -n "$DAEMON" ]; then
    PROCWARD_HOME="$HOME_DIR" "$PW" delete bench-log >/dev/null 2>&1 || true
    [ -n "$LOGGER" ] && kill "$LOGGER" 2>/dev/null || true
    kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null || true
  fi
  [ "${#PIDS[@]}" -gt 0 ] && kill "${PIDS[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$HOME_DIR"
}
trap cleanup EXIT

count_procs() { find /proc -maxdepth 1 -name "[0-9]*" 2>/dev/null | wc -l; }
BEFORE=$(count_procs)
# Room for the daemon, `procward mcp`, the log writer and the Python clients.
EXTRA=$((TARGET - BEFORE - 5))
[ "$EXTRA" -lt 0 ] && EXTRA=0
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

# A managed process with 100 lines of output, for get_process_logs (50 lines by default).
PROCWARD_HOME="$HOME_DIR" "$PW" start bench-log --restart never -- python3 -c \
  "import time
for i in range(100): print(f'request {i:03d} served in {i % 7} ms from 127.0.0.1', flush=True)
time.sleep(3600)" >/dev/null
LOGGER=$(PROCWARD_HOME="$HOME_DIR" "$PW" list --json | python3 -c \
  'import json,sys; print(next(p["pid"] for p in json.load(sys.stdin) if p["spec"]["name"] == "bench-log"))')
for _ in $(seq 100); do
  [ "$(wc -l <"$HOME_DIR/logs/bench-log/stdout.log" 2>/dev/null || echo 0)" -ge 100 ] && break
  sleep 0.05
done

{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpus=$(nproc)"
  echo "cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "mem_mb=$(($(grep MemTotal /proc/meminfo | awk '{print $2}') / 1024))"
  echo "kernel=$(uname -r)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "dirty=$(git status --porcelain -- crates proto Cargo.toml 2>/dev/null | wc -l)"
  echo "processes_before=$BEFORE"
  echo "extra_sleeps=$EXTRA"
  echo "processes=$(count_procs)"
  echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "calls=$CALLS"
  echo "warmup=$WARMUP"
} >"$OUT/meta.env"

# Busy share of all CPUs (user+nice+system+irq+softirq+steal of the total) between two
# /proc/stat reads: anything else running on the machine shows up here and in the p99s.
cpu_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
read -r BUSY0 TOTAL0 < <(cpu_ticks)

echo "== MCP round trips through the Python SDK (stdio and HTTP), RSS, pid checks"
"$VENV/bin/python" bench/mcp/sdk_latency.py --bin "$PW" --home "$HOME_DIR" --log-name bench-log \
  --calls "$CALLS" --warmup "$WARMUP" | tee "$OUT/sdk.json"
echo "== MCP round trips through minimal JSON-RPC clients (stdio and HTTP)"
python3 bench/mcp/raw_latency.py --bin "$PW" --home "$HOME_DIR" --log-name bench-log \
  --calls "$CALLS" --warmup "$WARMUP" | tee "$OUT/raw.json"
read -r BUSY1 TOTAL1 < <(cpu_ticks)
echo "cpu_busy_percent=$(( (BUSY1 - BUSY0) * 100 / (TOTAL1 - TOTAL0 > 0 ? TOTAL1 - TOTAL0 : 1) ))" >>"$OUT/meta.env"
echo "processes_end=$(count_procs)" >>"$OUT/meta.env"
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.env"

python3 bench/mcp_report.py "$OUT" bench/RESULTS.md
echo "figures written to bench/RESULTS.md"
