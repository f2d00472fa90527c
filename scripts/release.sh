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
# The client, `procward`, is built for musl instead when it can be (the Rust target
# x86_64-unknown-linux-musl, which this script adds with rustup, and `musl-gcc` from
# Debian's musl-tools for the crates with C parts): glibc's start-up asks the CPU for every
# cache level with `cpuid`, which on an Intel VM traps to the hypervisor dozens of times:
# a third of a CLI call's CPU on a 2-CPU Firecracker VM. musl asks nothing: `procward
# --version` took 0.5 ms of CPU instead of 0.75 ms there (bench/RESULTS.md, "Issue 11, 50
# starts"). Only the client: the daemon runs long (glibc's allocator serves it better) and
# shims are forked, never started afresh. PROCWARD_CLIENT_LIBC=gnu keeps the client on
# glibc; without the musl target or musl-gcc it stays there, with a note.
# PROCWARD_APT_MUSL=1 installs musl-tools with apt-get first when musl-gcc is missing (the
# benchmarks set it).
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

# The musl target of this host, when the client can be built for it (see above).
musl_target() {
  [ "${PROCWARD_CLIENT_LIBC:-musl}" = musl ] || return 1
  local host target
  host="$(rustc -vV | sed -n 's/^host: //p')"
  target="${host/%-gnu/-musl}"
  [ "$target" != "$host" ] || return 1
  if ! command -v musl-gcc >/dev/null && [ "${PROCWARD_APT_MUSL:-}" = 1 ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq musl-tools; } >&2 || true
  fi
  if ! command -v musl-gcc >/dev/null; then
    echo "release: the client stays on glibc: musl-gcc is missing (apt-get install musl-tools)" >&2
    return 1
  fi
  if ! rustup target list --installed 2>/dev/null | grep -qx "$target" &&
    ! rustup target add "$target" >/dev/null 2>&1; then
    echo "release: the client stays on glibc: cannot add the Rust target $target" >&2
    return 1
  fi
  echo "$target"
}

for bin in procward-shim procwardd; do
  mapfile -t extra < <(ordered "$bin")
  cargo rustc --release --locked -p procward --bin "$bin" -- "${STATIC[@]}" "${extra[@]}"
  check_order "$bin"
done

if musl="$(musl_target)"; then
  cc_var="CC_${musl//-/_}"
  env "$cc_var=musl-gcc" cargo rustc --release --locked -p procward --bin procward \
    --target "$musl" -- "${STATIC[@]}"
  # Where every script and the install below look for it; replaced, never overwritten in
  # place (a running client keeps its inode).
  install -m 0755 "$TARGET_DIR/$musl/release/procward" "$TARGET_DIR/release/.procward.new"
  mv -f "$TARGET_DIR/release/.procward.new" "$TARGET_DIR/release/procward"
  echo musl >"$TARGET_DIR/release/procward.libc" # for the benchmarks' reports
else
  cargo rustc --release --locked -p procward --bin procward -- "${STATIC[@]}"
  echo gnu >"$TARGET_DIR/release/procward.libc"
fi

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
