#!/usr/bin/env bash
# The published package: `cargo package` builds the packaged crate from its own files (so a
# source file missing from `include` fails here), then the file list is checked against what a
# user of the crate gets: the library sources, the examples, the manifest, README, CHANGELOG and
# LICENSE (plus the files cargo itself adds). Anything else (tests, benches, fuzz, scripts, CI)
# slipping into the package fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

# A clean clone has nothing uncommitted; --allow-dirty only lets a developer run this mid-change.
cargo package --allow-dirty

allowed='^(src/.+\.rs|examples/.+\.rs|Cargo\.toml|Cargo\.toml\.orig|Cargo\.lock|README\.md|CHANGELOG\.md|LICENSE|\.cargo_vcs_info\.json)$'
mapfile -t files < <(cargo package --list --allow-dirty)
unexpected=()
for file in "${files[@]}"; do
    [[ "$file" =~ $allowed ]] || unexpected+=("$file")
done
for required in Cargo.toml README.md CHANGELOG.md LICENSE src/lib.rs; do
    printf '%s\n' "${files[@]}" | grep -qx "$required" || { echo "package: $required is missing" >&2; exit 1; }
done
if ((${#unexpected[@]})); then
    echo "package: files that must not be published:" >&2
    printf '  %s\n' "${unexpected[@]}" >&2
    exit 1
fi
echo "package: ${#files[@]} files, all expected"
