#!/usr/bin/env bash
# The library builds with its MSRV (`rust-version` in Cargo.toml), with no features, the default
# ones and all of them. Dependencies are resolved to versions that support that Rust (Cargo's
# MSRV-aware resolver, on the current toolchain), as a user on that Rust would pin them; the
# dev-dependencies and the tests, benches and examples are left out, since they have minimums of
# their own. Installs the toolchain when missing; skips, with the reason printed, when rustup
# cannot install it here.
set -euo pipefail
cd "$(dirname "$0")/.."

msrv="$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)"
[[ -n "$msrv" ]] || { echo "msrv: Cargo.toml has no rust-version" >&2; exit 1; }
if ! rustup run "$msrv" rustc --version >/dev/null 2>&1; then
    rustup toolchain install "$msrv" --profile minimal ||
        { echo "msrv: SKIPPED: rustup could not install Rust $msrv"; exit 0; }
fi
echo "msrv: $(rustup run "$msrv" rustc --version)"

crate=target/msrv-crate
rm -rf "$crate"
mkdir -p "$crate"
cp -r src "$crate/"
# The manifest without dev-dependencies and without bench, example and test targets.
python3 - Cargo.toml "$crate/Cargo.toml" <<'PY'
import sys
dropped = {"[dev-dependencies]", "[target.'cfg(not(loom))'.dev-dependencies]",
           "[[bench]]", "[[example]]", "[[test]]"}
keep, out = True, []
for line in open(sys.argv[1]):
    if line.startswith("["):
        keep = line.strip() not in dropped
    if keep:
        out.append(line)
open(sys.argv[2], "w").write("".join(out))
PY
cd "$crate"
CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo generate-lockfile
# Cargo of that age reads lock files up to version 3, which holds the same entries here.
sed -i 's/^version = 4$/version = 3/' Cargo.lock
for features in "--no-default-features" "" "--all-features"; do
    echo "msrv: cargo +$msrv check --lib $features"
    # shellcheck disable=SC2086
    cargo "+$msrv" check --lib $features
done
echo "msrv: the library builds with Rust $msrv"
