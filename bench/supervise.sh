#!/usr/bin/env bash
# bench/supervise.sh: the one command for procward's supervisor benchmark (issue 3).
#
# Measures, in one run on one machine and one tool at a time, procward (release build)
# against pm2, supervisord and pueue:
#   - daemon cold start (launch until it answers its first request), median of 10;
#   - daemon RSS idle, with 50 managed `sleep 3600` and (procward; peers optional) 1,000;
#     for procward also the sum of its per-process shims' RSS and PSS;
#   - 50 starts by one CLI call each (wall time of the loop), `list` latency (hyperfine)
#     with 50 and 1,000 managed;
#   - daemon CPU over a window with 50 (and 1,000) idle processes and while one process
#     crash-loops with restart "always";
#   - a TERM-ignoring process tree stopped with a 1 s stop timeout: time, survivors;
#   - 2,000,000 lines from `seq` until they are all in the log, against `seq > file`,
#     with every line checked.
# Raw JSON goes to bench/out/supervise/, the table and targets to bench/RESULTS.md
# (between the bench:supervise markers only).
#
# Usage: bash bench/supervise.sh
# Env:   PROCWARD=/path            use this binary instead of building one
#        BENCH_TOOLS="procward pm2 supervisord pueue"   which ones, in this order
#        BENCH_PEERS_1000=1        also load the peers with 1,000 processes (bulk
#                                  registration; pm2 and supervisord take minutes)
#        BENCH_COLD_RUNS=10 BENCH_START_RUNS=3 BENCH_TREE_RUNS=3 BENCH_FLOOD_RUNS=3
#        BENCH_CPU_SECS=10 BENCH_LINES=2000000
#        BENCH_NO_INSTALL=1        never install a missing peer (skip it instead)
#        BENCH_QUIET_PCT=15 BENCH_QUIET_WAIT=60   before each tool, wait up to 60 s
#                                  for the machine to be under 15 % busy (other work on
#                                  2 cores skews every figure; the report shows the load)
#        BENCH_NOISE_PCT=10 BENCH_RETRIES=2   measure a figure again (up to twice) when
#                                  other processes used more than 10 % of the machine
#                                  while it was taken; the quietest attempt is kept;
#                                  BENCH_RETRY_BUDGET=30 seconds of that per tool at most
# Each tool gets its own temp home (PROCWARD_HOME, PM2_HOME, a supervisord config with
# a unix_http_server socket, a pueue config with a Unix socket): nothing listens on
# TCP. Everything the benchmark starts carries PROCWARD_BENCH_RUN=<id> in its
# environment; on exit the daemons are stopped and whatever still carries that marker
# is killed by pid (through a pidfd). Nothing is killed by name.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="bench/out/supervise"
PEERS="$ROOT/bench/.peers"
TOOLS="${BENCH_TOOLS:-procward pm2 supervisord pueue}"
TMP="$(mktemp -d /tmp/procward-supervise.XXXXXX)"
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/meta.env "$OUT"/*.log
BG=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "${PROCWARD_BENCH_RUN:-}" ]; then
    # graceful first, for whichever daemon is still up, then the marker sweep
    if [ -n "${PW_BIN:-}" ] && [ -d "$TMP/procward/home" ]; then
      PROCWARD_HOME="$TMP/procward/home" PROCWARD_CONFIG="$TMP/procward/config.toml" \
        timeout 10 "$PW_BIN" daemon stop >/dev/null 2>&1 || true
    fi
    if [ -n "${PM2_BIN:-}" ] && [ -f "$TMP/pm2/home/pm2.pid" ]; then
      PM2_HOME="$TMP/pm2/home" timeout 20 "$PM2_BIN" kill >/dev/null 2>&1 || true
    fi
    python3 bench/supervise/driver.py sweep --quiet || true
  fi
  if [ "${#BG[@]}" -gt 0 ]; then
    kill "${BG[@]}" 2>/dev/null || true
    { wait "${BG[@]}"; } 2>/dev/null || true
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

want() { case " $TOOLS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
note() { echo "$1" >>"$OUT/meta.env"; }
: >"$OUT/meta.env"

# --- peers: install only what is missing (pueue compiles for minutes: start it first)
NO_INSTALL="${BENCH_NO_INSTALL:-0}"
PUEUE_BIN="$(command -v pueue || true)"
PUEUED_BIN="$(command -v pueued || true)"
if want pueue && { [ -z "$PUEUE_BIN" ] || [ -z "$PUEUED_BIN" ]; } && [ "$NO_INSTALL" != 1 ]; then
  echo "installing pueue in the background (cargo install pueue --locked)"
  cargo install pueue --locked >"$OUT/pueue-install.log" 2>&1 &
  BG+=("$!")
  PUEUE_INSTALL_PID=$!
fi

if ! command -v hyperfine >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y hyperfine
fi

PM2_BIN=""
if want pm2; then
  if [ -x "$PEERS/node_modules/.bin/pm2" ]; then
    PM2_BIN="$PEERS/node_modules/.bin/pm2"
  elif command -v pm2 >/dev/null; then
    PM2_BIN="$(command -v pm2)"
  elif [ "$NO_INSTALL" != 1 ] && command -v npm >/dev/null; then
    mkdir -p "$PEERS"
    printf '*\n' >"$PEERS/.gitignore" # installed peers stay out of git
    npm install --prefix "$PEERS" --no-audit --no-fund pm2 >"$OUT/pm2-install.log" 2>&1 &&
      PM2_BIN="$PEERS/node_modules/.bin/pm2" || true
  fi
  [ -n "$PM2_BIN" ] || note "skipped_pm2=pm2 is not installed and could not be installed"
fi

# supervisord and supervisorctl from python3's own scripts folder when they are there:
# a pyenv shim in front of them adds ~100 ms to every supervisorctl call
find_supervisor() {
  local dir
  dir="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
  if [ -x "$dir/supervisord" ] && [ -x "$dir/supervisorctl" ]; then
    SV_BIN="$dir/supervisord"
    SVCTL_BIN="$dir/supervisorctl"
  else
    SV_BIN="$(command -v supervisord || true)"
    SVCTL_BIN="$(command -v supervisorctl || true)"
  fi
}
find_supervisor
if want supervisord && [ -z "$SV_BIN" ] && [ "$NO_INSTALL" != 1 ]; then
  python3 -m pip install --quiet supervisor >"$OUT/supervisor-install.log" 2>&1 || true
  hash -r
  find_supervisor
fi
want supervisord && [ -z "$SV_BIN" ] && note "skipped_supervisord=supervisor is not installed and could not be installed"

# --- build procward -------------------------------------------------------------
if [ -z "${PROCWARD:-}" ]; then
  # (installing musl-tools when missing, for the musl client: see scripts/release.sh)
  PROCWARD_APT_MUSL="$([ "${BENCH_NO_INSTALL:-0}" = 1 ] || echo 1)" "$ROOT/scripts/release.sh"
  PROCWARD="${CARGO_TARGET_DIR:-$ROOT/target}/release/procward"
fi
[ -x "$PROCWARD" ] || { echo "no procward binary at $PROCWARD" >&2; exit 1; }
# a private copy, so that a concurrent rebuild cannot change it during the run; the
# client execs `procwardd` (the daemon) from beside itself, and the daemon runs
# `procward-shim` from beside its own executable when it is there (else `procwardd
# shim`), so both are copied with it
mkdir -p "$TMP/bin"
cp "$PROCWARD" "$TMP/bin/procward"
cp "$(dirname "$PROCWARD")/procwardd" "$TMP/bin/procwardd"
SHIM_BIN="$(dirname "$PROCWARD")/procward-shim"
if [ -x "$SHIM_BIN" ]; then
  cp "$SHIM_BIN" "$TMP/bin/procward-shim"
else
  note "shim=procward shim (no procward-shim beside $PROCWARD)"
fi
PW_BIN="$TMP/bin/procward"

if [ -n "${PUEUE_INSTALL_PID:-}" ]; then
  echo "waiting for the pueue install to finish (nothing is measured while it compiles)"
  if wait "$PUEUE_INSTALL_PID"; then
    hash -r
    PUEUE_BIN="$(command -v pueue || echo "$HOME/.cargo/bin/pueue")"
    PUEUED_BIN="$(command -v pueued || echo "$HOME/.cargo/bin/pueued")"
  else
    echo "pueue could not be installed; see $OUT/pueue-install.log"
  fi
  BG=()
fi
if want pueue && { [ -z "$PUEUE_BIN" ] || [ ! -x "$PUEUE_BIN" ] || [ ! -x "$PUEUED_BIN" ]; }; then
  note "skipped_pueue=pueue is not installed and could not be installed (cargo install pueue --locked failed or was not tried)"
  PUEUE_BIN=""
fi

# --- from here on, everything started carries the marker --------------------------
export PROCWARD_BENCH_RUN="supervise-$$-$(date +%s%N)"
export NO_COLOR=1

LINES="${BENCH_LINES:-2000000}"
REF="$TMP/seq-reference.txt"
{
  echo "nproc=$(nproc)"
  echo "kernel=$(uname -r)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "mem_total_mb=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024))"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)"
  echo "dirty=$(git status --porcelain -- crates proto Cargo.toml Cargo.lock 2>/dev/null | wc -l)"
  echo "hyperfine=$(hyperfine --version | cut -d' ' -f2)"
  echo "node=$(node --version 2>/dev/null || echo none)"
  echo "python=$(python3 --version | cut -d' ' -f2)"
  echo "lines=$LINES"
  echo "cold_runs=${BENCH_COLD_RUNS:-10}"
  echo "start_runs=${BENCH_START_RUNS:-3}"
  echo "tree_runs=${BENCH_TREE_RUNS:-3}"
  echo "flood_runs=${BENCH_FLOOD_RUNS:-3}"
  echo "cpu_secs=${BENCH_CPU_SECS:-10}"
  echo "peers_1000=${BENCH_PEERS_1000:-0}"
  echo "tools=$TOOLS"
  # musl or gnu, as scripts/release.sh built the client (unknown for a binary given)
  echo "client_libc=$(cat "$(dirname "$PROCWARD")/procward.libc" 2>/dev/null || echo unknown)"
} >>"$OUT/meta.env"
cat "$OUT/meta.env"

python3 bench/supervise/driver.py reference --out "$OUT" --ref-file "$REF" --lines "$LINES"

T_START=$(date +%s)
for tool in $TOOLS; do
  case "$tool" in
    procward) bins=(--procward "$PW_BIN") ;;
    pm2) [ -n "$PM2_BIN" ] || continue; bins=(--pm2 "$PM2_BIN") ;;
    supervisord) [ -n "$SV_BIN" ] || continue; bins=(--supervisord "$SV_BIN" --supervisorctl "$SVCTL_BIN") ;;
    pueue) [ -n "$PUEUE_BIN" ] || continue; bins=(--pueue "$PUEUE_BIN" --pueued "$PUEUED_BIN") ;;
    *) echo "unknown tool $tool" >&2; exit 2 ;;
  esac
  peers_1000=()
  [ "${BENCH_PEERS_1000:-0}" = 1 ] && peers_1000=(--peers-1000)
  # a tool that fails is reported as such; the others still run
  python3 bench/supervise/driver.py run "$tool" "${bins[@]}" "${peers_1000[@]}" \
    --tmp "$TMP" --out "$OUT" --ref-file "$REF" --lines "$LINES" \
    --cold-runs "${BENCH_COLD_RUNS:-10}" --start-runs "${BENCH_START_RUNS:-3}" \
    --tree-runs "${BENCH_TREE_RUNS:-3}" --flood-runs "${BENCH_FLOOD_RUNS:-3}" \
    --cpu-secs "${BENCH_CPU_SECS:-10}" --quiet-pct "${BENCH_QUIET_PCT:-15}" \
    --quiet-wait "${BENCH_QUIET_WAIT:-60}" --noise-pct "${BENCH_NOISE_PCT:-10}" \
    --retries "${BENCH_RETRIES:-2}" --retry-budget "${BENCH_RETRY_BUDGET:-30}" ||
    echo "$tool: the driver failed (see above)"
done
note "bench_seconds=$(($(date +%s) - T_START))"
note "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"

python3 bench/supervise_report.py --out-dir "$OUT" --results bench/RESULTS.md
echo "wrote bench/RESULTS.md"
