#!/usr/bin/env bash
# scripts/symbol-order.sh: regenerates crates/cli/link-order/{procwardd,procward-shim}.order,
# the link orders scripts/release.sh gives the daemon and the shim (each one's hot
# functions first and together).
#
# Why: a process's RSS is mostly its binary's code, mapped by the kernel 64 KiB at a time
# around every function it has run. With the functions of start-up, the idle loop and
# common requests linked side by side, the idle daemon measured 5.9 MB instead of
# 12.5 MB, and a shim 1.2 MB instead of 1.5 MB (bench/RESULTS.md). The CLI is left as it
# is: with an order its calls took fewer page faults, but no less time. The names are
# mangled symbols, which change with the Rust toolchain and with dependency versions:
# release.sh warns when most of them are gone.
#
# How: unstripped static builds run under valgrind's callgrind (every function run,
# exhaustively): the daemon through start-up and idle, and every shim of a workload
# (starts, logs, restarts, stops, queued jobs). The daemon's part of that workload runs
# natively under `perf record` (sampled), because valgrind 3.19 lacks pidfd_open, which
# the daemon's supervision needs. Needs valgrind and perf (apt-get install valgrind
# linux-perf); takes three to seven minutes.
#
# Usage: scripts/symbol-order.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
ORDERS="$ROOT/crates/cli/link-order"
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

# The client as released; the daemon and the shim unstripped, so that profiles name
# functions, and otherwise built as release.sh builds them.
scripts/release.sh >/dev/null
cp "$TARGET_DIR/release/procward" "$work/procward"
for bin in procward-shim procwardd; do
  cargo rustc --release --locked -p procward --bin "$bin" -- \
    -C target-feature=+crt-static -C relocation-model=static -C strip=none
  cp "$TARGET_DIR/release/$bin" "$work/$bin.bin"
done
mv "$work/procwardd.bin" "$work/procwardd"
# The daemon runs `procward-shim` from beside itself: here, each shim under callgrind.
cat >"$work/procward-shim" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --demangle=no --callgrind-out-file=$work/shim.%p.cg \
  $work/procward-shim.bin "\$@" 2>>$work/shim-valgrind.log
EOF
chmod +x "$work/procward-shim"
export NO_COLOR=1
cli() { "$work/procward" "$@"; }

answering() {
  for _ in $(seq 300); do
    cli daemon status --json >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "symbol-order: the daemon did not answer" >&2
  return 1
}

# 1. The daemon's start-up and idle loop, exhaustively.
export PROCWARD_HOME="$work/home-idle"
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/idle.cg" \
  "$work/procwardd" daemon >"$work/idle.log" 2>&1 &
daemons+=($!)
answering
cli daemon status --json >/dev/null
cli list --json >/dev/null
cli queue list --json >/dev/null
sleep 3
cli daemon status --json >/dev/null
kill -TERM "${daemons[0]}"
wait "${daemons[0]}" || true

# 2. Common work: every shim exhaustively, the daemon sampled.
export PROCWARD_HOME="$work/home-work"
"$work/procwardd" daemon >"$work/work.log" 2>&1 &
daemons+=($!)
answering
perf record -q -F 20000 -e cpu-clock -p "${daemons[1]}" -o "$work/work.data" 2>/dev/null &
perf_pid=$!
sleep 0.5
for i in $(seq 10); do
  cli start --name "w$i" -- sh -c 'while :; do echo tick; sleep 0.2; done' >/dev/null
  cli list >/dev/null
  cli list --json >/dev/null
  cli status "w$i" >/dev/null
  cli logs "w$i" --lines 5 >/dev/null
  cli restart "w$i" >/dev/null
done
for i in $(seq 10); do cli delete "w$i" >/dev/null; done
ids=()
for i in $(seq 10); do ids+=("$(cli queue add -- echo "$i")"); done
cli queue wait "${ids[@]}" >/dev/null
cli queue list >/dev/null
cli queue logs "${ids[0]}" >/dev/null
cli run -- true >/dev/null
kill -INT "$perf_pid"
wait "$perf_pid" || true
perf script -i "$work/work.data" --no-demangle -F ip,sym 2>/dev/null \
  | awk '{ print $2 }' >"$work/work.syms"
cli daemon stop >/dev/null
wait "${daemons[1]}" || true

mkdir -p "$ORDERS"
python3 scripts/symbol_order.py "$work/procwardd" "$ORDERS/procwardd.order" \
  --callgrind "$work/idle.cg" --perf-script "$work/work.syms"
python3 scripts/symbol_order.py "$work/procward-shim.bin" "$ORDERS/procward-shim.order" \
  --callgrind "$work"/shim.*.cg
# Leave the released (stripped, ordered) binaries in place again.
scripts/release.sh >/dev/null
