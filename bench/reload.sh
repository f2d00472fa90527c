#!/usr/bin/env bash
# bench/reload.sh: the one command for procward's zero-downtime reload benchmark (issue 16).
#
# Four instances of one app (a Python server that takes 0.5 s to listen, SO_REUSEPORT)
# under a steady request loop, replaced three times by each tool: `procward reload`
# (replicas with a readiness probe, one at a time) and `procward restart` (all at once),
# `pm2 reload` and `pm2 restart` of the same app in fork mode, and `pm2 reload` of a Node
# app in cluster mode (pm2's own zero-downtime path). Reported: failed requests and
# wall time of the command, median of 3.
# Raw JSON goes to bench/out/reload/, the table to bench/RESULTS.md (bench:reload markers).
#
# Usage: bash bench/reload.sh
# Env:   PROCWARD=/path        use this binary instead of building one
#        BENCH_NO_INSTALL=1    never install pm2 (skip it when missing)
# Each tool runs in its own temporary home; only the benchmark's own processes are
# signalled; servers bind 127.0.0.1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="bench/out/reload"
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

python3 bench/reload/driver.py --procward "$PROCWARD" ${PM2_BIN:+--pm2 "$PM2_BIN"} --out "$OUT"
python3 bench/reload_report.py "$OUT" bench/RESULTS.md
echo "wrote bench/RESULTS.md"
