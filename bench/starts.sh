#!/usr/bin/env bash
# bench/starts.sh: 50 starts by 50 CLI calls, procward against pueue, interleaved.
#
# Issue 11's target is "50 starts: at most pueue's time in the same run". On a small VM
# the machine's speed drifts by half within minutes (the same loop takes 0.115 s and
# 0.167 s a few minutes apart), so two tools measured one after the other, as
# bench/supervise.sh does, compare two moments as much as two tools. Here each round
# runs both, back to back (which goes first alternates), and the report gives each
# tool's median, the ratio of the medians and the median of the per-round ratios.
#
# A round: 50 `procward start NAME -- sleep 3600` calls, one per line of a `sh -e`
# script, timed as a whole; then 50 `pueue add --label NAME -- 'sleep 3600'` the same way
# (pueue at `parallel 0`, so every task starts at once, as procward's do). Between
# rounds each tool deletes its 50 and the machine rests a second.
#
# Usage: bash bench/starts.sh
# Env:   PROCWARD=/path/procward    use this client (its procwardd beside it) instead of
#                                   building with scripts/release.sh
#        BENCH_AB_ROUNDS=9          rounds (each tool runs once per round)
#        BENCH_NO_INSTALL=1         never install pueue (stop with a note when it is missing)
# pueue and pueued are taken from PATH, installed with cargo when missing. Everything runs in a temp folder with its own
# PROCWARD_HOME and pueue config, carries PROCWARD_BENCH_RUN=<id>, and is stopped on
# exit (procward's processes deleted, pueue's tasks killed, both daemons shut down).
# Raw results go to bench/out/starts/, the table to bench/RESULTS.md (bench:starts).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="bench/out/starts"
ROUNDS="${BENCH_AB_ROUNDS:-9}"
mkdir -p "$OUT"

if { ! command -v pueue || ! command -v pueued; } >/dev/null && [ "${BENCH_NO_INSTALL:-0}" != 1 ]; then
  echo "installing pueue (cargo install pueue --locked)"
  cargo install pueue --locked >"$OUT/pueue-install.log" 2>&1 || true
  PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"
fi
PUEUE_BIN="$(command -v pueue || true)"
PUEUED_BIN="$(command -v pueued || true)"
if [ -z "$PUEUE_BIN" ] || [ -z "$PUEUED_BIN" ]; then
  echo "starts: pueue could not be found or installed; nothing measured" >&2
  exit 1
fi
if [ -z "${PROCWARD:-}" ]; then
  "$ROOT/scripts/release.sh"
  PROCWARD="${CARGO_TARGET_DIR:-$ROOT/target}/release/procward"
fi

TMP="$(mktemp -d /tmp/procward-starts.XXXXXX)"
export PROCWARD_BENCH_RUN="starts-$$-$(date +%s%N)"
export PROCWARD_HOME="$TMP/procward" PROCWARD_CONFIG="$TMP/procward.toml" NO_COLOR=1
: >"$PROCWARD_CONFIG"
PQ_CONF="$TMP/pueue.yml"
mkdir -p "$TMP/pueue/data" "$TMP/pueue/run"
cat >"$PQ_CONF" <<YAML
shared:
  pueue_directory: $TMP/pueue/data
  runtime_directory: $TMP/pueue/run
  use_unix_socket: true
  unix_socket_path: $TMP/pueue/run/pueue.sock
client: {}
daemon: {}
YAML
PUEUED_PID=""
PW_NAMES=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "${#PW_NAMES[@]}" -gt 0 ]; then
    "$PROCWARD" delete "${PW_NAMES[@]}" >/dev/null 2>&1 || true
  fi
  timeout 10 "$PROCWARD" daemon stop >/dev/null 2>&1 || true
  if [ -n "$PUEUED_PID" ]; then
    "$PUEUE_BIN" -c "$PQ_CONF" reset -f >/dev/null 2>&1 || true
    "$PUEUE_BIN" -c "$PQ_CONF" shutdown >/dev/null 2>&1 || true
    wait "$PUEUED_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$PUEUED_BIN" -c "$PQ_CONF" >"$TMP/pueued.log" 2>&1 &
PUEUED_PID=$!
for _ in $(seq 1 50); do
  "$PUEUE_BIN" -c "$PQ_CONF" status >/dev/null 2>&1 && break
  sleep 0.1
done
"$PUEUE_BIN" -c "$PQ_CONF" parallel 0 >/dev/null
"$PROCWARD" daemon --detach >/dev/null

# Seconds (with nanoseconds) that `sh -e SCRIPT` takes.
timed() {
  local t0 t1
  t0=$(date +%s%N)
  sh -e "$1"
  t1=$(date +%s%N)
  echo "$(((t1 - t0) / 1000))"
}

procward_round() { # round
  local script="$TMP/pw-$1.sh" us
  PW_NAMES=()
  for i in $(seq 1 50); do PW_NAMES+=("s$1-$i"); done
  for n in "${PW_NAMES[@]}"; do echo "'$PROCWARD' start $n -- sleep 3600 >/dev/null"; done >"$script"
  us=$(timed "$script")
  "$PROCWARD" delete "${PW_NAMES[@]}" >/dev/null
  PW_NAMES=()
  echo "$us"
}

pueue_round() { # round
  local script="$TMP/pq-$1.sh" us
  for i in $(seq 1 50); do
    echo "'$PUEUE_BIN' -c '$PQ_CONF' add --label s$1-$i -- 'sleep 3600' >/dev/null"
  done >"$script"
  us=$(timed "$script")
  "$PUEUE_BIN" -c "$PQ_CONF" kill -a >/dev/null 2>&1 || true
  "$PUEUE_BIN" -c "$PQ_CONF" clean >/dev/null 2>&1 || true
  echo "$us"
}

# One round of each, unrecorded: the daemons' first starts (procward's shim spawner is
# started by its first start) are not what the target is about.
procward_round warm >/dev/null
pueue_round warm >/dev/null
sleep 1

: >"$OUT/rounds.tsv"
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then
    pw=$(procward_round "$r"); sleep 1; pq=$(pueue_round "$r")
  else
    pq=$(pueue_round "$r"); sleep 1; pw=$(procward_round "$r")
  fi
  printf '%s\t%s\t%s\n' "$r" "$pw" "$pq" | tee -a "$OUT/rounds.tsv"
  sleep 1
done

{
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc=$(nproc)"
  echo "kernel=$(uname -r)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "pueue=$("$PUEUE_BIN" --version | head -1)"
  echo "client_libc=$(cat "$(dirname "$PROCWARD")/procward.libc" 2>/dev/null || echo unknown)"
  echo "rounds=$ROUNDS"
} >"$OUT/meta.env"
python3 bench/starts_report.py "$OUT" bench/RESULTS.md
echo "wrote bench/RESULTS.md"
