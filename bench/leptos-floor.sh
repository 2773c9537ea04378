#!/usr/bin/env bash
# The floor under Natter's bundle: builds bench/leptos-floor (a minimal Leptos 0.8 app with the
# router, meta, one server function, a websocket and serde_json frames) with Natter's Cargo.lock,
# profile and cargo-leptos settings, and prints its WASM raw and as served (brotli, gzip).
# Needs what scripts/setup.sh installs. Uses its own target folder (target/leptos-floor).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/target/leptos-floor"
mkdir -p "$work"
# A copy, so the build can pin Natter's exact versions without touching the project's lock file.
rm -rf "$work/src" && cp -r "$root/bench/leptos-floor/." "$work/"
cp "$root/Cargo.lock" "$work/Cargo.lock"
export PATH="$root/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cd "$work"
CARGO_TARGET_DIR="$work/target" cargo leptos build --release --precompress >&2
find "$work" -path "*/pkg/*.wasm" -newer "$work/Cargo.lock" | while read -r file; do
    printf '%s: %s bytes raw, %s brotli, %s gzip\n' "$(basename "$file")" "$(stat -c %s "$file")" \
        "$(stat -c %s "$file.br")" "$(stat -c %s "$file.gz")"
done
