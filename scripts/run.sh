#!/usr/bin/env bash
# Builds Natter (release: optimised server, size-optimised WASM) and serves it on the address in
# Leptos.toml (http://127.0.0.1:8080 by default) with the SQLite file data/natter.db. Installs any
# missing build tool first. Extra arguments go to the server, e.g. `scripts/run.sh --addr 0.0.0.0:8080`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# wasm-opt from the npm `binaryen` package: Debian's is too old and breaks hydration.
export PATH="$PWD/end2end/node_modules/.bin:$PATH"
printf '\033[1;34m==>\033[0m %s\n' "building Natter (release; the first build takes several minutes)" >&2
cargo leptos build --release
exec target/release/natter "$@"
