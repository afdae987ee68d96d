#!/usr/bin/env bash
# Runs every cargo-fuzz target under fuzz/ for a fixed time each.
#
#   scripts/fuzz.sh [seconds]     (default 30 s per target)
#
# Installs cargo-fuzz when it is missing. Builds with `-s none` (libFuzzer's coverage
# instrumentation without a sanitizer), which works on the stable toolchain; falls back to nightly
# only when the stable build fails. Exits 0 with the reason printed when cargo-fuzz cannot be
# installed or no toolchain can build the targets; exits non-zero when the fuzz crate does not
# compile at all (that is our bug, not the machine's) or when a target finds a crash (the input is
# saved under fuzz/artifacts/<target>/).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [seconds per target, a positive integer]" >&2
    exit 2
fi

skip() {
    echo "fuzz: SKIPPED: $*"
    exit 0
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: cargo-fuzz missing, installing it (cargo install cargo-fuzz --locked)"
    cargo install cargo-fuzz --locked || skip "cargo-fuzz could not be installed (see the error above)"
fi
echo "fuzz: $(cargo fuzz --version)"

# A plain build of the fuzz crate, without libFuzzer's instrumentation: if this fails, the
# targets themselves are broken and the run must fail rather than be skipped.
cargo +stable check --manifest-path fuzz/Cargo.toml --bins

toolchain=""
for candidate in stable nightly; do
    if ! rustup run "$candidate" rustc --version >/dev/null 2>&1; then
        echo "fuzz: toolchain $candidate is not installed"
        continue
    fi
    if cargo "+$candidate" fuzz build -s none; then
        toolchain="$candidate"
        break
    fi
    echo "fuzz: cargo fuzz build -s none failed on $candidate"
done
[[ -n "$toolchain" ]] || skip "no installed toolchain could build the fuzz targets with cargo-fuzz (see the errors above)"
echo "fuzz: building and running on the $toolchain toolchain"

mapfile -t targets < <(cargo "+$toolchain" fuzz list)
[[ ${#targets[@]} -gt 0 ]] || { echo "fuzz: no fuzz targets found under fuzz/" >&2; exit 1; }

for target in "${targets[@]}"; do
    echo "fuzz: running $target for ${seconds}s"
    # libFuzzer exits non-zero on a crash, a panic, a leak or a timeout; `set -e` turns that
    # into this script's exit status after cargo-fuzz has printed the reproducer command.
    cargo "+$toolchain" fuzz run -s none "$target" -- \
        -max_total_time="$seconds" -print_final_stats=1
    echo "fuzz: $target: no crash in ${seconds}s"
done
echo "fuzz: all ${#targets[@]} target(s) passed"
