#!/usr/bin/env bash
# bench/run.sh: the one command for procward's inspection benchmark.
#
# Compares, in one run and on one machine:
#   - `procward ps --json` (default 200ms sample, and --interval 10ms) with `ps aux`
#     and `procs` (if installed), with 300 extra `sleep` processes running;
#   - `procward ports --json` with `ss -ltnup` and `lsof -i -P -n`, with 200 extra
#     loopback listeners open (bench/listeners.py).
# Raw hyperfine JSON goes to bench/out/, medians and ratios to bench/RESULTS.md.
#
# Usage: bash bench/run.sh
# Env:   BENCH_INSTALL_PROCS=1  cargo install procs when it is missing
#        BENCH_RUNS=N           minimum hyperfine runs per command (default 30)
#        PROCWARD=/path         use this binary instead of building one
# Everything it starts (sleeps, listener helper) is killed by pid on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="bench/out"
RUNS="${BENCH_RUNS:-30}"
EXTRA_PROCS=300
PW_INTERVAL_MS=200 # procward ps's default --interval
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/meta.env

# --- tools: install only what is missing ---------------------------------------
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
for pair in hyperfine:hyperfine lsof:lsof ss:iproute2 ps:procps; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y "${missing[@]}"
fi
if ! command -v procs >/dev/null; then
  if [ "${BENCH_INSTALL_PROCS:-0}" = 1 ]; then
    cargo install procs --locked
  else
    echo "procs not installed: skipping it (BENCH_INSTALL_PROCS=1 installs it)"
  fi
fi
HAVE_PROCS=0
command -v procs >/dev/null && HAVE_PROCS=1

# --- build --------------------------------------------------------------------
if [ -z "${PROCWARD:-}" ]; then
  "$ROOT/scripts/release.sh"
  PROCWARD="${CARGO_TARGET_DIR:-$ROOT/target}/release/procward"
fi
[ -x "$PROCWARD" ] || { echo "no procward binary at $PROCWARD" >&2; exit 1; }

# --- load: extra processes and listeners, cleaned up on exit --------------------
PIDS=()
READY="$(mktemp -u /tmp/procward-bench-ready.XXXXXX)"
cleanup() {
  if [ "${#PIDS[@]}" -gt 0 ]; then
    kill "${PIDS[@]}" 2>/dev/null || true
    { wait "${PIDS[@]}"; } 2>/dev/null || true
  fi
  rm -f "$READY"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq "$EXTRA_PROCS"); do
  sleep 900 &
  PIDS+=("$!")
done
python3 bench/listeners.py --tcp 150 --tcp6 30 --udp 50 --udp6 10 --ready-file "$READY" &
PIDS+=("$!")
for _ in $(seq 100); do [ -s "$READY" ] && break; sleep 0.1; done
[ -s "$READY" ] || { echo "listener helper did not start" >&2; exit 1; }

count_procs() { find /proc -maxdepth 1 -name '[0-9]*' | wc -l; }
# rows in a JSON array, or in the first list inside a JSON object ({"processes": [...]})
json_len() {
  python3 -c 'import json,sys; d=json.load(sys.stdin)
print(len(d) if isinstance(d, list) else next(len(v) for v in d.values() if isinstance(v, list)))'
}

# --- metadata: machine, load, and what each tool reports -------------------------
{
  echo "nproc=$(nproc)"
  echo "kernel=$(uname -r)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)"
  echo "hyperfine=$(hyperfine --version | cut -d' ' -f2)"
  echo "runs=$RUNS"
  echo "pw_interval_ms=$PW_INTERVAL_MS"
  echo "have_procs=$HAVE_PROCS"
  echo "extra_procs=$EXTRA_PROCS"
  echo "listeners_helper=$(cat "$READY")"
  echo "procs_at_start=$(count_procs)"
  echo "listeners_ss=$(ss -ltnuH | wc -l)"
  echo "rows_procward_ps=$("$PROCWARD" ps --json --interval 10ms | json_len)"
  echo "rows_ps_aux=$(($(ps aux | wc -l) - 1))"
  echo "rows_procward_ports=$("$PROCWARD" ports --json | json_len)"
  echo "rows_ss=$(ss -ltnupH | wc -l)"
  echo "rows_lsof=$(($(lsof -i -P -n | wc -l) - 1))"
} >"$OUT/meta.env"
cat "$OUT/meta.env"

# --- benchmarks -----------------------------------------------------------------
hf() { # hf NAME hyperfine-args...
  local name="$1"
  shift
  # in the background so that Ctrl-C or SIGTERM reaches the trap at once
  hyperfine -N --warmup 3 --min-runs "$RUNS" --output=null --style basic \
    --export-json "$OUT/$name.json" "$@" &
  PIDS+=("$!")
  wait "$!"
}

ps_args=(
  -n "procward ps --json" "$PROCWARD ps --json"
  -n "procward ps --json --interval 10ms" "$PROCWARD ps --json --interval 10ms"
  -n "ps aux" "ps aux"
)
[ "$HAVE_PROCS" = 1 ] && ps_args+=(-n "procs" "procs")
hf ps "${ps_args[@]}"
echo "procs_at_ps_end=$(count_procs)" >>"$OUT/meta.env"

hf ports \
  -n "procward ports --json" "$PROCWARD ports --json" \
  -n "ss -ltnup" "ss -ltnup" \
  -n "lsof -i -P -n" "lsof -i -P -n"
echo "listeners_ss_at_end=$(ss -ltnuH | wc -l)" >>"$OUT/meta.env"

python3 bench/report.py --out-dir "$OUT" --results bench/RESULTS.md
echo "wrote bench/RESULTS.md"
