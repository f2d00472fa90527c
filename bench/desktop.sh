#!/usr/bin/env bash
# bench/desktop.sh: the desktop tray app's costs (issue 14), one command.
#
#   - a cold release build (its own target folder, so nothing cached is reused) and the
#     stripped binary's size;
#   - memory of the app's whole tree (the app and WebKit's processes): RSS and PSS with
#     only the tray, then with the window shown;
#   - CPU of that tree while idle for 30 s (tray only, then window shown);
#   - a new listener's delay until the tray lists it, and a Kill clicked in the tray
#     until the listener has exited.
# The app runs headless: Xvfb, a private D-Bus session and a StatusNotifierWatcher
# stand-in (tests/desktop/desktop_support.py), as in the tests. Raw JSON goes to
# bench/out/desktop/, the table to bench/RESULTS.md (between the bench:desktop markers).
# There is no peer tray app to run beside it: the figures are set against the issue's
# reference (a minimal Tauri tray app: ~6 MiB stripped, ~150 MB resident with WebKit).
#
# Usage: bash bench/desktop.sh
# Env:   BENCH_COLD_BUILD=0   build incrementally in bench/out/desktop/target (the last
#                             cold build's time is kept)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="bench/out/desktop"
mkdir -p "$OUT"

if [ "${BENCH_COLD_BUILD:-1}" = 1 ]; then
  rm -rf "$OUT/target"
  start=$(date +%s.%N)
  CARGO_TARGET_DIR="$ROOT/$OUT/target" cargo build --release --manifest-path desktop/Cargo.toml
  end=$(date +%s.%N)
  APP="$ROOT/$OUT/target/release/procward-desktop"
  python3 -c "import json,sys; print(json.dumps({'cold_build_s': float(sys.argv[2]) - float(sys.argv[1])}))" \
    "$start" "$end" >"$OUT/build.json"
else
  CARGO_TARGET_DIR="$ROOT/$OUT/target" cargo build --release --manifest-path desktop/Cargo.toml
  APP="$ROOT/$OUT/target/release/procward-desktop"
  # Keep the figure of the last cold build, if there is one.
  [ -f "$OUT/build.json" ] || echo '{"cold_build_s": null}' >"$OUT/build.json"
fi

{
  echo "nproc=$(nproc)"
  echo "kernel=$(uname -r)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)"
  echo "webkit=$(dpkg-query -W -f='${Version}' libwebkit2gtk-4.1-0 2>/dev/null || echo unknown)"
} >"$OUT/meta.env"
cat "$OUT/meta.env"

python="$ROOT/target/pyenv/bin/python"
if ! "$python" -c 'import dbus_fast' 2>/dev/null; then
  python3 -m venv "$OUT/venv"
  "$OUT/venv/bin/python" -m pip install --quiet --disable-pip-version-check dbus-fast
  python="$OUT/venv/bin/python"
fi
PROCWARD_DESKTOP_BIN="$APP" "$python" bench/desktop/driver.py --app "$APP" --out "$OUT"
python3 bench/desktop_report.py "$OUT" bench/RESULTS.md
echo "wrote bench/RESULTS.md"
