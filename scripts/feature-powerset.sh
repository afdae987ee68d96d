#!/usr/bin/env bash
# Every combination of the crate's features (tokio, futures-io, codec) passes clippy with
# warnings denied and the library and integration tests.
#
# `default` is left out of the powerset because it is exactly `tokio`; cargo-hack also drops
# combinations a feature already implies (`codec` enables `tokio`), which leaves six: none,
# tokio, futures-io, codec, tokio+futures-io, codec+futures-io.
#
# Installs cargo-hack when it is missing. Doc tests are left to the main CI run (they run with
# --all-features and --no-default-features there); the stress tests run at a reduced size
# (STREAMVIEW_STRESS_BYTES, 16 MiB unless the caller set it) because the main run already moves
# the full gigabyte with every feature on.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

if ! cargo hack --version >/dev/null 2>&1; then
    echo "feature-powerset: cargo-hack missing, installing it (cargo install cargo-hack --locked)"
    cargo install cargo-hack --locked
fi
echo "feature-powerset: $(cargo hack --version)"

step "cargo hack --feature-powerset --exclude-features default clippy --all-targets -- -D warnings"
cargo hack --feature-powerset --exclude-features default clippy --all-targets -- -D warnings

# Tests: the combinations between the two ends. No features and all of them (codec with
# futures-io is all of them, codec implying tokio) are the main CI run's
# (`cargo test --no-default-features`, `cargo test --all-features`), so they are not run again.
for features in tokio futures-io codec tokio,futures-io; do
    step "cargo test --lib --tests --no-default-features --features $features"
    STREAMVIEW_STRESS_BYTES="${STREAMVIEW_STRESS_BYTES:-$((16 * 1024 * 1024))}" \
        cargo test --lib --tests --no-default-features --features "$features"
done
