#!/usr/bin/env bash
# scripts/symbol-order.sh: regenerates crates/cli/procwardd.order, the link order that
# scripts/release.sh gives procwardd (its hot functions first and together).
#
# Why: an idle daemon's RSS is mostly its own code, mapped by the kernel 64 KiB at a
# time around every function it has run. With the functions of start-up, the idle loop
# and common requests linked side by side, the idle daemon measured 5.6 MB instead of
# 12.5 MB (bench/RESULTS.md). The names are mangled symbols, which change with the Rust
# toolchain and with dependency versions: release.sh warns when most of them are gone.
#
# How: an unstripped static procwardd runs its start-up and idle loop under valgrind's
# callgrind (every function run, exhaustively), then, natively, starts, lists, restarts
# and stops processes and runs queued jobs under `perf record` (sampled: valgrind 3.19
# lacks pidfd_open, which supervision needs). Needs valgrind and perf
# (apt-get install valgrind linux-perf); takes about five minutes.
#
# Usage: scripts/symbol-order.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
ORDER="$ROOT/crates/cli/procwardd.order"
for tool in valgrind perf nm python3; do
  command -v "$tool" >/dev/null || { echo "symbol-order: $tool is needed" >&2; exit 1; }
done

work="$(mktemp -d)"
daemons=()
cleanup() {
  for pid in "${daemons[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The client and shim as released; the daemon unstripped, so profiles name functions.
scripts/release.sh >/dev/null
cp "$TARGET_DIR/release/procward" "$TARGET_DIR/release/procward-shim" "$work/"
cargo rustc --release --locked -p procward --bin procwardd -- \
  -C target-feature=+crt-static -C relocation-model=static -C strip=none
cp "$TARGET_DIR/release/procwardd" "$work/"
cli="$work/procward"
export NO_COLOR=1

answering() {
  for _ in $(seq 300); do
    "$cli" daemon status --json >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "symbol-order: the daemon did not answer" >&2
  return 1
}

# 1. Start-up and idle, exhaustively.
export PROCWARD_HOME="$work/home-idle"
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/idle.cg" \
  "$work/procwardd" daemon >"$work/idle.log" 2>&1 &
daemons+=($!)
answering
"$cli" list --json >/dev/null
"$cli" queue list --json >/dev/null
sleep 3
"$cli" daemon status --json >/dev/null
kill -TERM "${daemons[0]}"
wait "${daemons[0]}" || true

# 2. Common requests, sampled.
export PROCWARD_HOME="$work/home-work"
"$work/procwardd" daemon >"$work/work.log" 2>&1 &
daemons+=($!)
daemon="${daemons[1]}"
answering
perf record -q -F 20000 -e cpu-clock -p "$daemon" -o "$work/work.data" 2>/dev/null &
perf_pid=$!
sleep 0.5
for i in $(seq 20); do
  "$cli" start --name "w$i" -- sleep 600 >/dev/null
  "$cli" list >/dev/null
  "$cli" list --json >/dev/null
  "$cli" status "w$i" >/dev/null
  "$cli" logs "w$i" --lines 5 >/dev/null
  "$cli" restart "w$i" >/dev/null
done
for i in $(seq 20); do "$cli" delete "w$i" >/dev/null; done
ids=()
for i in $(seq 20); do ids+=("$("$cli" queue add -- echo "$i")"); done
"$cli" queue wait "${ids[@]}" >/dev/null
"$cli" queue list >/dev/null
"$cli" queue logs "${ids[0]}" >/dev/null
kill -INT "$perf_pid"
wait "$perf_pid" || true
perf script -i "$work/work.data" --no-demangle -F ip,sym 2>/dev/null \
  | awk '{ print $2 }' >"$work/work.syms"

python3 scripts/symbol_order.py "$work/procwardd" "$ORDER" \
  --callgrind "$work/idle.cg" --perf-script "$work/work.syms"
# Leave the released (stripped, ordered) daemon in place again.
scripts/release.sh >/dev/null
