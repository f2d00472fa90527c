#!/usr/bin/env bash
# bench/queue.sh: the one command for procward's job-queue benchmark (issue 12).
#
# procward (release build) side by side with pueue, one after the other on one machine
# (bench/queue/driver.py says what is measured):
#   - 5 batches of 500 adds by one CLI call each into a paused queue (the 5th into a
#     queue of 2,000): seconds per batch, and the 5th ÷ the 1st;
#   - `list --json` at 2,500 queued jobs (both) and 10,000 (procward), daemon RSS there;
#   - queued -> running latency with a free slot (p50, p90) from each tool's timestamps;
#   - 1,000 `true` jobs with 8 in parallel, against `xargs -P 8` running the same.
# Raw JSON goes to bench/out/queue/, the table and targets to bench/RESULTS.md (between
# the bench:queue markers only).
#
# Usage: bash bench/queue.sh
# Env:   PROCWARD=/path        use this binary instead of building one
#        BENCH_NO_INSTALL=1    never install pueue (skip it when missing)
#        BENCH_ONLY=procward or pueue   measure one tool again, keeping the other's figures
# Each tool gets its own temporary home with a Unix socket; nothing listens on TCP.
# Only the tools' own jobs (`true`) run; the daemons are stopped at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="bench/out/queue"
mkdir -p "$OUT"

PUEUE="$(command -v pueue || echo "$HOME/.cargo/bin/pueue")"
PUEUED="$(command -v pueued || echo "$HOME/.cargo/bin/pueued")"
if [ ! -x "$PUEUE" ] || [ ! -x "$PUEUED" ]; then
  if [ "${BENCH_NO_INSTALL:-0}" != 1 ]; then
    echo "installing pueue (cargo install pueue --locked)"
    cargo install pueue --locked
  fi
fi
peer=()
[ -x "$PUEUE" ] && [ -x "$PUEUED" ] && peer=(--pueue "$PUEUE" --pueued "$PUEUED")

if [ -z "${PROCWARD:-}" ]; then
  # (installing musl-tools when missing, for the musl client: see scripts/release.sh)
  PROCWARD_APT_MUSL="$([ "${BENCH_NO_INSTALL:-0}" = 1 ] || echo 1)" "$ROOT/scripts/release.sh"
  PROCWARD="${CARGO_TARGET_DIR:-$ROOT/target}/release/procward"
fi
[ -x "$PROCWARD" ] || { echo "no procward binary at $PROCWARD" >&2; exit 1; }

{
  echo "nproc=$(nproc)"
  echo "kernel=$(uname -r)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)"
  echo "procward=$("$PROCWARD" --version)"
  [ "${#peer[@]}" -gt 0 ] && echo "pueue=$("$PUEUE" --version)"
} >"$OUT/meta.env"
cat "$OUT/meta.env"

python3 bench/queue/driver.py --procward "$PROCWARD" "${peer[@]}" --out "$OUT" ${BENCH_ONLY:+--only "$BENCH_ONLY"}
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.env"
python3 bench/queue_report.py "$OUT" bench/RESULTS.md
echo "wrote bench/RESULTS.md"
