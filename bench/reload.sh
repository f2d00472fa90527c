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
mkdir -p "$OUT"

if [ -z "${PROCWARD:-}" ]; then
  "$ROOT/scripts/release.sh"
  PROCWARD="${CARGO_TARGET_DIR:-$ROOT/target}/release/procward"
fi

. bench/pm2.sh

{
  echo "nproc=$(nproc)"
  echo "kernel=$(uname -r)"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)"
  if [ -n "$pm2_version" ]; then echo "pm2=$pm2_version"; fi
} >"$OUT/meta.env"

python3 bench/reload/driver.py --procward "$PROCWARD" ${PM2_BIN:+--pm2 "$PM2_BIN"} --out "$OUT"
python3 bench/reload_report.py "$OUT" bench/RESULTS.md
echo "wrote bench/RESULTS.md"
