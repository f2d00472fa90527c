#!/usr/bin/env bash
# bench/fleet.sh: procward's job queue on Redis, shared by a fleet of three daemons.
#
# Starts its own redis-server (127.0.0.1, a free port, a temporary folder, AOF everysec)
# and three release daemons w1, w2, w3, each with its own PROCWARD_HOME and config
# ([queue] backend = "redis", same url and prefix, [queue.group.default] parallel = 16),
# plus one daemon `solo` on the embedded queue with the same limit, for comparison.
# bench/fleet/driver.py measures:
#   - 3 rounds of N `true` jobs (default 1,000) added by gRPC into a paused queue, then resumed:
#     jobs/s until the last ends and how they spread over hosts; the same through solo;
#   - enqueue -> start latency (attempt 1 started_ms - created_ms), p50 and p95, of 50
#     jobs added one at a time on an idle fleet (and on solo);
#   - Redis commands per idle second per worker, the three daemons idle for 20 s.
# Raw JSON goes to bench/out/fleet/, the figures to bench/RESULTS.md (fleet section).
#
# Usage: bash bench/fleet.sh
# Env:   PROCWARD=/path          use this binary instead of building one
#        BENCH_JOBS=1000 BENCH_ROUNDS=3 BENCH_PARALLEL=16 BENCH_LATENCY_JOBS=50 BENCH_IDLE_SECS=20
# Everything it starts (redis-server, the four daemons) is stopped by pid on exit;
# only the daemons' own jobs (`true`) run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="bench/out/fleet"
mkdir -p "$OUT"
rm -f "$OUT"/results.json "$OUT"/meta.env
PARALLEL="${BENCH_PARALLEL:-16}"
unset PROCWARD_CONFIG PROCWARD_HOME

# --- build, redis-server and the Python client ---------------------------------------
if [ -z "${PROCWARD:-}" ]; then
  "$ROOT/scripts/release.sh"
  PROCWARD="${CARGO_TARGET_DIR:-$ROOT/target}/release/procward"
fi
[ -x "$PROCWARD" ] || { echo "no procward binary at $PROCWARD" >&2; exit 1; }
if ! command -v redis-server >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -qq redis-server >/dev/null
fi
VENV="target/pyenv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import procward' 2>/dev/null ||
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check ./clients/python

# --- redis-server and the daemons, cleaned up on exit ----------------------------------
TMP="$(mktemp -d /tmp/procward-bench-fleet.XXXXXX)"
REDIS_PID=""
HOMES=()
cleanup() {
  local status=$?
  for h in "${HOMES[@]}"; do
    local pid=""
    pid="$(PROCWARD_HOME="$TMP/$h/home" XDG_CONFIG_HOME="$TMP/$h/config" \
      "$PROCWARD" daemon status --json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["pid"] if d.get("running") else "")' 2>/dev/null || true)"
    PROCWARD_HOME="$TMP/$h/home" XDG_CONFIG_HOME="$TMP/$h/config" "$PROCWARD" daemon stop >/dev/null 2>&1 || true
    if [ -n "$pid" ]; then
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if [ -n "$REDIS_PID" ]; then
    kill "$REDIS_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$REDIS_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ]; then
    # keep the daemons' logs of a failed run
    mkdir -p "$OUT/failed"
    for h in "${HOMES[@]}"; do cp "$TMP/$h/home/daemon.log" "$OUT/failed/$h.daemon.log" 2>/dev/null || true; done
    cp "$TMP/redis/redis.log" "$OUT/failed/redis.log" 2>/dev/null || true
    echo "failed: daemon and redis logs in $OUT/failed/" >&2
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p "$TMP/redis"
redis-server --bind 127.0.0.1 --port "$PORT" --dir "$TMP/redis" --save "" \
  --appendonly yes --appendfsync everysec --daemonize no --logfile "$TMP/redis/redis.log" &
REDIS_PID=$!
for _ in $(seq 100); do
  redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && break
  sleep 0.05
done
redis-cli -p "$PORT" ping | grep -q PONG || { echo "redis-server did not answer on $PORT" >&2; exit 1; }

start_daemon() { # NAME CONFIG_TEXT
  local name="$1"
  mkdir -p "$TMP/$name/config/procward"
  printf '%s' "$2" >"$TMP/$name/config/procward/config.toml"
  HOMES+=("$name")
  PROCWARD_HOME="$TMP/$name/home" XDG_CONFIG_HOME="$TMP/$name/config" \
    "$PROCWARD" daemon --detach --listen 127.0.0.1:0 >/dev/null
}
for w in w1 w2 w3; do
  start_daemon "$w" "[queue]
backend = \"redis\"
url = \"redis://127.0.0.1:$PORT/0\"
prefix = \"bench\"
host = \"$w\"
lease = \"30s\"
keep_completed = 100000
[queue.group.default]
parallel = $PARALLEL
"
done
start_daemon solo "[queue]
keep_completed = 100000
[queue.group.default]
parallel = $PARALLEL
"

{
  echo "nproc=$(nproc)"
  echo "kernel=$(uname -r)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)"
  echo "procward=$("$PROCWARD" --version)"
  echo "redis=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
  echo "parallel=$PARALLEL"
} >"$OUT/meta.env"
cat "$OUT/meta.env"

"$VENV/bin/python" bench/fleet/driver.py --procward "$PROCWARD" --tmp "$TMP" --redis-port "$PORT" \
  --parallel "$PARALLEL" --jobs "${BENCH_JOBS:-1000}" --rounds "${BENCH_ROUNDS:-3}" --latency-jobs "${BENCH_LATENCY_JOBS:-50}" \
  --idle "${BENCH_IDLE_SECS:-20}" --out "$OUT"
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.env"
python3 bench/fleet_report.py "$OUT" bench/RESULTS.md

echo "wrote bench/RESULTS.md"
