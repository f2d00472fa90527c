#!/usr/bin/env bash
# Runs a command with a redis-server of its own: loopback, a free port, a temp dir, AOF
# on; PROCWARD_TEST_REDIS_URL tells the tests where it is. The server is stopped (its
# pid only) however the command ends.
#   scripts/with-redis.sh cargo test -p procward-daemon --test queue
set -uo pipefail
command -v redis-server >/dev/null || { echo "with-redis: redis-server is not installed" >&2; exit 1; }
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly yes \
  --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" || exit 1
stop() {
  [ -s "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null
  for _ in $(seq 50); do [ -e "$dir/redis.pid" ] || break; sleep 0.1; done
  rm -rf "$dir"
}
trap stop EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
PROCWARD_TEST_REDIS_URL="redis://127.0.0.1:$port/0" "$@"
