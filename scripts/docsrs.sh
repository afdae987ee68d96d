#!/usr/bin/env bash
# The docs as docs.rs builds them: nightly rustdoc with every feature and `--cfg docsrs`, so each
# item gated by a feature carries an "Available on crate feature ..." note. Fails on any rustdoc
# warning and when a gated item's page lacks the note. Skipped, with the reason printed, when no
# nightly toolchain is installed (docs.rs itself always uses nightly).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup run nightly rustdoc --version >/dev/null 2>&1; then
    echo "docsrs: SKIPPED: no nightly toolchain is installed (rustup toolchain install nightly)"
    exit 0
fi
echo "docsrs: $(rustup run nightly rustdoc --version)"
RUSTDOCFLAGS="--cfg docsrs -D warnings" CARGO_TARGET_DIR=target/docsrs \
    cargo +nightly doc --all-features --no-deps

doc=target/docsrs/doc/streamview
check() { # page, feature
    if ! grep -q "crate feature <code>$2</code>" "$doc/$1"; then
        echo "docsrs: $1 does not say it needs feature $2" >&2
        exit 1
    fi
}
while read -r page feature; do
    check "$page" "$feature"
done <<'PAGES'
fn.pipe.html tokio
struct.PipeReader.html tokio
struct.PipeWriter.html tokio
enum.TryWriteError.html tokio
struct.FrameWriter.html codec
struct.AsyncStream.html tokio
struct.AsyncStream.html codec
struct.AsyncStream.html futures-io
PAGES
echo "docsrs: every checked item names its feature"
