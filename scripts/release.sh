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
# Usage: scripts/release.sh [--install [DIR]]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
STATIC=(-C target-feature=+crt-static -C relocation-model=static)

for bin in procward procward-shim procwardd; do
  cargo rustc --release --locked -p procward --bin "$bin" -- "${STATIC[@]}"
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
