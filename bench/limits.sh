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

python3 bench/limits/driver.py --procward "$PROCWARD" ${PM2_BIN:+--pm2 "$PM2_BIN"} --out "$OUT"
python3 bench/limits_report.py "$OUT" bench/RESULTS.md
echo "wrote bench/RESULTS.md"
