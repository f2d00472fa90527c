# bench/pm2.sh: sourced by the benchmarks that compare with pm2 (limits, reload).
# Sets PM2_BIN to a pm2 on this machine, installing it under bench/.peers with npm when
# missing (unless BENCH_NO_INSTALL=1; then PM2_BIN stays empty and pm2 is skipped), and
# pm2_version to its version, read from its package: `pm2 --version` starts a daemon in
# ~/.pm2. Needs ROOT and OUT set by the caller.
PEERS="$ROOT/bench/.peers"
PM2_BIN=""
if [ -x "$PEERS/node_modules/.bin/pm2" ]; then
  PM2_BIN="$PEERS/node_modules/.bin/pm2"
elif command -v pm2 >/dev/null; then
  PM2_BIN="$(command -v pm2)"
elif [ "${BENCH_NO_INSTALL:-0}" != 1 ] && command -v npm >/dev/null; then
  mkdir -p "$PEERS"
  printf '*\n' >"$PEERS/.gitignore"
  npm install --prefix "$PEERS" --no-audit --no-fund pm2 >"$OUT/pm2-install.log" 2>&1 &&
    PM2_BIN="$PEERS/node_modules/.bin/pm2" || true
fi
pm2_version=""
if [ -n "$PM2_BIN" ]; then
  pm2_version="$(node -p "require('$(dirname "$(readlink -f "$PM2_BIN")")/../package.json').version" 2>/dev/null || true)"
fi
