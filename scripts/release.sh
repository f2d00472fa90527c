#!/usr/bin/env bash
# scripts/release.sh: builds procward's three binaries for release, statically linked,
# into target/release (or $CARGO_TARGET_DIR/release); `--install [DIR]` also copies them
# into DIR (default ~/.cargo/bin).
#
# Why static: every CLI call, shim and job start execs one of these binaries. A static,
# non-PIE binary has no dynamic loader to run and no relocations to apply at start:
# measured on a 2-CPU VM, `procward queue add` went from 2.9 ms to 1.9 ms and a job's shim
# from 1.0 ms to 0.5 ms of CPU (bench/RESULTS.md). `cargo build --release` still gives the
# dynamic binaries; the flags cannot go in .cargo/config.toml, because with
# `+crt-static` there cargo would also apply them to proc-macro crates, which then fail
# to build. `cargo rustc` passes them to each binary's own final compile and link only.
#
# The daemon and the shim are also linked with their hot functions first and together
# (crates/cli/link-order/BIN.order, made by scripts/symbol-order.sh): the kernel maps code
# 64 KiB at a time around each function run, so an idle daemon with its start-up and idle
# code spread over 17 MB held 12.5 MB of RSS, and 5.9 MB with it packed (a shim: 1.5 MB,
# then 1.2 MB).
#
# Usage: scripts/release.sh [--install [DIR]]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
STATIC=(-C target-feature=+crt-static -C relocation-model=static)

# The link flags that put BIN's hot functions first, when it has an order file.
ordered() {
  local bin=$1 order="$ROOT/crates/cli/link-order/$1.order"
  [ -f "$order" ] || return 0
  # Named by its content: cargo relinks when the order changes (it does not watch files
  # named only in flags).
  local linked
  linked="$TARGET_DIR/release/$bin-$(sha256sum "$order" | cut -c1-12).order"
  mkdir -p "$TARGET_DIR/release"
  cp "$order" "$linked"
  printf '%s\n' -C "link-arg=-Wl,--symbol-ordering-file=$linked" \
    -C link-arg=-Wl,--no-warn-symbol-ordering \
    -C "link-arg=-Wl,-Map=$TARGET_DIR/release/$bin.map" -C link-arg=-Wl,--no-demangle
}

# An order names mangled symbols, which a Rust or dependency upgrade renames: say so when
# most of them no longer exist (the binary still works, only with more pages touched).
check_order() {
  local bin=$1 order="$ROOT/crates/cli/link-order/$1.order"
  [ -f "$order" ] || return 0
  awk -v bin="$bin" 'NR == FNR { if ($0 !~ /^#/ && NF) { want[$1] = 1; total++ } next }
     ($NF in want) && !($NF in found) { found[$NF] = 1; n++ }
     END { if (n < total * 0.8)
             printf "warning: only %d of the %d functions in crates/cli/link-order/%s.order exist; regenerate it with scripts/symbol-order.sh\n", n, total, bin > "/dev/stderr" }' \
    "$order" "$TARGET_DIR/release/$bin.map"
}

for bin in procward procward-shim procwardd; do
  mapfile -t extra < <(ordered "$bin")
  cargo rustc --release --locked -p procward --bin "$bin" -- "${STATIC[@]}" "${extra[@]}"
  check_order "$bin"
done

if [ "${1:-}" = "--install" ]; then
  dest="${2:-${CARGO_HOME:-$HOME/.cargo}/bin}"
  mkdir -p "$dest"
  for bin in procward procward-shim procwardd; do
    # Replace, never overwrite in place: a running daemon or shim keeps its old inode.
    install -m 0755 "$TARGET_DIR/release/$bin" "$dest/.$bin.new"
    mv -f "$dest/.$bin.new" "$dest/$bin"
  done
  echo "installed procward, procward-shim and procwardd into $dest"
fi
