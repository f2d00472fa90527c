#!/usr/bin/env bash
# bench/top.sh: `procward top`'s costs (issue 16), one command.
#
#   - idle CPU of `procward top` (release build) in a 120x40 tmux pane at a 1 s refresh,
#     with 500 extra sleeping processes on the machine, over BENCH_SECONDS (20 s): the
#     process's utime + stime (every thread) from /proc, as % of one core;
#   - the same for htop at the same delay (`htop -d 10`), when htop is installed;
#   - redraw times: top writes each frame's draw time (layout, widgets, diff and write to
#     the terminal) to PROCWARD_TOP_STATS at exit; the idle frames (one per refresh), then
#     frames driven by 100 key presses (selection moves) are both counted.
# All of it BENCH_RUNS times (top, then htop, in each run: the machine may be shared, so
# the two are compared within a run); the table shows medians and each run's figures.
# No daemon runs (top never starts one): the Processes tab is what is measured.
# Raw JSON goes to bench/out/top/ (NAME-RUN.json), the table to bench/RESULTS.md
# (bench:top markers).
#
# Usage: bash bench/top.sh
# Env:   BENCH_SECONDS=20   measuring window per program
#        BENCH_SLEEPERS=500 extra sleeping processes
#        BENCH_RUNS=3       runs
#        BENCH_BIN=PATH     measure this procward binary instead of building one
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="bench/out/top"
mkdir -p "$OUT"
SECONDS_WINDOW="${BENCH_SECONDS:-20}"
SLEEPERS="${BENCH_SLEEPERS:-500}"
RUNS="${BENCH_RUNS:-3}"
command -v tmux >/dev/null || { echo "bench/top.sh needs tmux (apt-get install tmux)" >&2; exit 1; }

if [ -n "${BENCH_BIN:-}" ]; then
  BIN="$BENCH_BIN"
else
  "$ROOT/scripts/release.sh"
  BIN="$ROOT/target/release/procward"
fi
WORK="$(mktemp -d)"
SOCK="$WORK/tmux.sock"
SLEEPER_PIDS=()

cleanup() {
  tmux -S "$SOCK" kill-server 2>/dev/null || true
  # Only the sleepers this script started.
  if [ "${#SLEEPER_PIDS[@]}" -gt 0 ]; then kill "${SLEEPER_PIDS[@]}" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# One tmux server for every run, kept when a run's session ends.
tmux -S "$SOCK" -f /dev/null start-server \; set-option -g exit-empty off

for _ in $(seq "$SLEEPERS"); do
  sleep 100000 &
  SLEEPER_PIDS+=("$!")
done

{
  echo "nproc=$(nproc)"
  echo "kernel=$(uname -r)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "processes=$(ls -d /proc/[0-9]* 2>/dev/null | wc -l)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)"
  echo "htop=$(htop --version 2>/dev/null | head -1 || echo none)"
  echo "seconds=$SECONDS_WINDOW"
  echo "sleepers=$SLEEPERS"
  echo "runs=$RUNS"
  echo "bin=${BENCH_BIN:-target/release/procward}"
} >"$OUT/meta.env"
cat "$OUT/meta.env"

# CPU ticks (utime + stime of every thread) of PID.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# "NAME TICKS" per thread of PID.
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    echo "$(cat "$t/comm" 2>/dev/null) $(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null)"
  done
}

# measure NAME COMMAND: runs COMMAND in a fresh 120x40 pane, waits 3 s, then measures
# its CPU over the window; writes $OUT/NAME.json.
measure() {
  local name="$1" command="$2"
  tmux -S "$SOCK" new-session -d -x 120 -y 40 -s "$name" "exec $command"
  sleep 3
  local pid
  pid="$(tmux -S "$SOCK" display-message -p -t "$name" '#{pane_pid}')"
  local before after rss
  before="$(ticks "$pid")"
  threads_before="$(thread_ticks "$pid")"
  sleep "$SECONDS_WINDOW"
  after="$(ticks "$pid")"
  threads_after="$(thread_ticks "$pid")"
  rss="$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")"
  python3 -c "import json, os, sys
hz = os.sysconf('SC_CLK_TCK'); used = (int(sys.argv[2]) - int(sys.argv[1])) / hz
window = float(sys.argv[3])
def parse(text):
    out = {}
    for line in text.splitlines():
        name, ticks = line.rsplit(' ', 1)
        out[name] = out.get(name, 0) + int(ticks)
    return out
b, a = parse(sys.argv[5]), parse(sys.argv[6])
threads = {n: round(100 * (a[n] - b.get(n, 0)) / hz / window, 3) for n in a}
print(json.dumps({'cpu_seconds': used, 'window_s': window, 'idle_cpu_percent': 100 * used / window,
                  'rss_kib': int(sys.argv[4]), 'threads_cpu_percent': threads}))" \
    "$before" "$after" "$SECONDS_WINDOW" "$rss" "$threads_before" "$threads_after" >"$OUT/$name.json"
  echo "$name: $(cat "$OUT/$name.json")"
}

rm -f "$OUT"/*.json
mkdir -p "$WORK/home" "$WORK/config"
ENV="env PROCWARD_HOME=$WORK/home XDG_CONFIG_HOME=$WORK/config"
for run in $(seq "$RUNS"); do
  echo "run $run of $RUNS"
  STATS="$ROOT/$OUT/frames_idle-$run.json"
  measure "top-$run" "$ENV PROCWARD_TOP_STATS=$STATS $BIN top --refresh 1s"
  tmux -S "$SOCK" send-keys -t "top-$run" q
  for _ in $(seq 100); do [ -s "$STATS" ] && break; sleep 0.1; done

  # Frames driven by input: 100 selection moves, 50 ms apart, then quit.
  KEYS_STATS="$ROOT/$OUT/frames_keys-$run.json"
  tmux -S "$SOCK" new-session -d -x 120 -y 40 -s "keys-$run" \
    "exec $ENV PROCWARD_TOP_STATS=$KEYS_STATS $BIN top --refresh 1s"
  sleep 2
  for i in $(seq 100); do
    if [ $((i % 20)) -lt 10 ]; then key=Down; else key=Up; fi
    tmux -S "$SOCK" send-keys -t "keys-$run" "$key"
    sleep 0.05
  done
  tmux -S "$SOCK" send-keys -t "keys-$run" q
  for _ in $(seq 100); do [ -s "$KEYS_STATS" ] && break; sleep 0.1; done

  if command -v htop >/dev/null; then
    measure "htop-$run" "env HOME=$WORK htop -d 10"
    tmux -S "$SOCK" kill-session -t "htop-$run" 2>/dev/null || true
  else
    echo "htop not installed (apt-get install htop): no side-by-side figure"
  fi
done

python3 bench/top_report.py "$OUT" bench/RESULTS.md
echo "wrote bench/RESULTS.md"
