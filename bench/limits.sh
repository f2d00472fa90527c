#!/usr/bin/env bash
# bench/limits.sh: the one command for procward's resource-limits benchmark (issue 13).
#
#   - overshoot: a memory hog growing about 100 MiB/s under a 64 MiB limit; the peak RSS
#     a 2 ms sampler saw before it was ended, and the time from crossing the limit to its
#     end: procward with cgroups (the kernel), procward polling (PROCWARD_CGROUPS=off,
#     --best-effort) and pm2's --max-memory-restart, median of 3 runs;
#   - the price of a cgroup unit per process: 50 starts by one CLI call each, cgroups on
#     and off;
#   - the poll enforcer's cost: daemon CPU over 10 s with 50 idle processes, each with a
#     polled memory limit, and without limits.
# Raw JSON goes to bench/out/limits/, the table to bench/RESULTS.md (bench:limits markers).
#
# Usage: bash bench/limits.sh
# Env:   PROCWARD=/path   use this binary instead of building one
#        BENCH_NO_INSTALL=1   never install pm2 (skip it when missing)
# Each tool runs in its own temporary home; only the benchmark's own processes are
# signalled, by pid; nothing listens on TCP.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="bench/out/limits"
PEERS="$ROOT/bench/.peers"
mkdir -p "$OUT"

if [ -z "${PROCWARD:-}" ]; then
  cargo build --release -p procward
  PROCWARD="${CARGO_TARGET_DIR:-$ROOT/target}/release/procward"
fi

PM2_BIN=""
if [ -x "$PEERS/node_modules/.bin/pm2" ]; then
  PM2_BIN="$PEERS/node_modules/.bin/pm2"
elif command -v pm2 >/dev/null; then
  PM2_BIN="$(command -v pm2)"
elif [ "${BENCH_NO_INSTALL:-0}" != 1 ] && command -v npm >/dev/null; then
  mkdir -p "$PEERS"
  printf '*\n' >"$PEERS/.gitignore"
  npm install --prefix "$PEERS" --no-audit --no-fund pm2 >"$OUT/pm2-install.log" 2>&1 &&
    PM2_BIN="$PEERS/node_modules/.bin/pm2" || true
fi

{
  echo "nproc=$(nproc)"
  echo "kernel=$(uname -r)"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)"
  # Read from its package, not `pm2 --version`, which starts a daemon in ~/.pm2.
  [ -n "$PM2_BIN" ] && echo "pm2=$(node -p "require('$(dirname "$(readlink -f "$PM2_BIN")")/../package.json').version" 2>/dev/null)"
} >"$OUT/meta.env"

python3 bench/limits/driver.py --procward "$PROCWARD" ${PM2_BIN:+--pm2 "$PM2_BIN"} --out "$OUT"
python3 bench/limits_report.py "$OUT" bench/RESULTS.md
echo "wrote bench/RESULTS.md"
