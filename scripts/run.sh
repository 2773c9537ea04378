#!/usr/bin/env bash
# Builds Natter (release: optimised server, size-optimised WASM, precompressed and content-hashed
# static files) and serves it on the address in Leptos.toml (http://127.0.0.1:8080 by default) with
# the SQLite file data/natter.db. Installs any missing build tool first. Extra arguments go to the
# server, e.g. `scripts/run.sh --addr 0.0.0.0:8080`.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

scripts/setup.sh
# wasm-opt from the npm `binaryen` package that setup installed: Debian's is too old and breaks
# hydration, so a wasm-opt found anywhere else is an error, not a fallback.
export PATH="$PWD/end2end/node_modules/.bin:$PATH"
if [ "$(command -v wasm-opt || true)" != "$PWD/end2end/node_modules/.bin/wasm-opt" ]; then
    say "scripts/setup.sh did not install wasm-opt (npm binaryen in end2end/); a release build needs it" && exit 1
fi
say "building Natter (release; the first build takes several minutes)"
cargo leptos build --release --precompress
exec target/release/natter "$@"
