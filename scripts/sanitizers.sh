#!/usr/bin/env bash
# Memory-safety checks of the test suite:
#
#  1. AddressSanitizer (with LeakSanitizer) over the library and integration tests, built on
#     nightly with `-Zsanitizer=address` for the host target in its own target dir
#     (target/asan), so the normal builds are not invalidated. Skipped, with the reason printed,
#     when no nightly toolchain is installed.
#  2. valgrind memcheck over every test binary of the normal `cargo test --all-features` build,
#     failing on definite leaks and on any memory error. Skipped, with the reason printed, when
#     valgrind is not installed.
#
# Doc tests are left to the main CI run: they hold no unsafe code of their own.
#
# Sizes: the stress tests (the 1 GiB pipe stress, the 1 GiB memory test) read
# STREAMVIEW_STRESS_BYTES. This script sets it, unless the caller already did, to 64 MiB for the
# ASan run and 8 MiB under valgrind (about 50x slower), and PROPTEST_CASES to 32 under valgrind:
# the code paths are the same as at full size, which the main CI run covers uninstrumented.
set -euo pipefail
cd "$(dirname "$0")/.."

MIB=$((1024 * 1024))
host="x86_64-unknown-linux-gnu"

step() { printf '\n=== %s\n' "$*"; }

step "AddressSanitizer: cargo +nightly test --all-features --lib --tests (-Zsanitizer=address)"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "sanitizers: AddressSanitizer SKIPPED: no nightly toolchain is installed" \
        "(-Zsanitizer needs nightly; rustup toolchain install nightly)"
elif [[ "$(rustc -vV | sed -n 's/^host: //p')" != "$host" ]]; then
    echo "sanitizers: AddressSanitizer SKIPPED: host is not $host"
else
    # `--target` keeps the sanitizer flags off build scripts and proc macros, which run on the
    # host and are not instrumented.
    STREAMVIEW_STRESS_BYTES="${STREAMVIEW_STRESS_BYTES:-$((64 * MIB))}" \
        RUSTFLAGS="-Zsanitizer=address --cfg streamview_sanitize" \
        ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1" \
        cargo +nightly test --all-features --lib --tests \
        --target "$host" --target-dir target/asan
fi

step "valgrind: memcheck of every test binary (--leak-check=full --errors-for-leak-kinds=definite)"
if ! command -v valgrind >/dev/null 2>&1; then
    echo "sanitizers: valgrind SKIPPED: valgrind is not installed (apt-get install valgrind)"
    exit 0
fi
# The same binaries `cargo test --all-features` builds (no rebuild when CI just ran it).
mapfile -t binaries < <(
    cargo test --all-features --lib --tests --no-run --message-format=json |
        grep '"reason":"compiler-artifact"' |
        grep '"test":true' |
        grep -o '"executable":"[^"]*"' |
        cut -d'"' -f4
)
if [[ ${#binaries[@]} -eq 0 ]]; then
    echo "sanitizers: no test binaries found" >&2
    exit 1
fi
for binary in "${binaries[@]}"; do
    # The protocol stacks run over duplex() (hyper, rustls) are third-party code end to end and
    # take minutes under valgrind (the ASan build leaves them out too, see Cargo.toml); every
    # streamview path they use is covered by the other binaries here.
    if [[ "$(basename "$binary")" == duplex_stacks-* ]]; then
        echo "--- valgrind: skipping ${binary#"$PWD/"} (third-party protocol stacks; run under ASan)"
        continue
    fi
    echo "--- valgrind ${binary#"$PWD/"}"
    STREAMVIEW_STRESS_BYTES="${STREAMVIEW_STRESS_BYTES:-$((8 * MIB))}" \
        PROPTEST_CASES="${PROPTEST_CASES:-32}" \
        valgrind --quiet --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
        --error-exitcode=1 "$binary" --quiet
done
echo "sanitizers: valgrind found no memory error and no definite leak in ${#binaries[@]} test binaries"
