#!/usr/bin/env bash
# The crate, its tests, benches and examples compile off Unix: `cargo check` for Windows
# (x86_64-pc-windows-gnu), where there are no Unix sockets. Checking needs no linker, but some
# dev-dependencies build C code, hence the MinGW compiler. Installs the target and the compiler
# when missing; skips, with the reason printed, when either cannot be had on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

target="x86_64-pc-windows-gnu"
skip() {
    echo "cross-check: SKIPPED: $*"
    exit 0
}

if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target" || skip "rustup could not add the $target standard library"
fi
if ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
        { apt-get update -qq && apt-get install -y -qq gcc-mingw-w64-x86-64 >/dev/null; } ||
            skip "apt-get could not install gcc-mingw-w64-x86-64"
    else
        skip "x86_64-w64-mingw32-gcc is missing and apt-get is not usable as root here"
    fi
fi
CARGO_TARGET_DIR=target/cross cargo check --target "$target" --all-features \
    --lib --tests --benches --examples
echo "cross-check: library, tests, benches and examples compile for $target"
